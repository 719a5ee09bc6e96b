"""Alerts benchmark (issue 16): evaluation CPU, DynamoDB units per matching event, firing latency, cost.

Everything is compared within one run (ratios), nothing is asserted on time.

1. *CPU per event per alert*: `alert_eval.matches` + `group_of` + `occurrence` (the router's part,
   on stream documents as the production parser reads them) and `alert_eval.step` (the evaluator's
   part) on a full state; `alert_live.select` per event per alert for 1 and 10 alerts, none or all
   matching; the production stream-router handler with 0 and 10 alerts (`bench.streaming`'s
   in-memory destination store, `tests.fakes.FakeQueue`); all against `bench.ingest.floor`, measured
   in the same rounds.
2. *DynamoDB units per matching event*: `alert_live.evaluate_work` with the production `AlertTable`
   on a stub client that bills each request as DynamoDB does (write: 1 unit per KB of the larger of
   the item before and after, twice in a transaction; consistent read: 1 unit per 4 KB), for events
   of one group one per message and 10/100 per message, for many groups, and count 3 / count 1,000.
3. *Firing latency* in local mode (`LocalService`): POST /v1/events answered to the firing listed by
   GET /v1/alerts/{id}/firings (polled).
4. *Cost per million events* with 10 alerts: the production router handler with the production
   `AlertTable` and `SqsDeliveryQueue` on counting stubs, then its messages through `evaluate_work`
   (the "Alerts" section of docs/cost.md).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.models.alerts import Alert, AlertWork, Matched
from botocore.exceptions import ClientError

from bench import cost, ingest, report, streaming
from bench.workload import ACTIONS, raw_events
from tests.fakes import FakeQueue

CONTROL_TABLE = streaming.CONTROL_TABLE
ALERT_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/AlertWork"
CONSOLE_URL = "https://console.example.com/console/"
EXTRA_ENV = {"ALERT_QUEUE_URL": ALERT_QUEUE_URL, "CONSOLE_URL": CONSOLE_URL}
TENANT = "tenant-000"
EVALUATOR_MB = 512  # infra/constructs/alerting.py: the factory's default
SES_EMAIL = 0.10e-3  # $ per email (REFERENCE.md)
STATE_DAYS_MONTHS = 35 / 30.4375
COST_MARKER = "alerts"
WIDTH = 100
FIRES = "count 1, PT0S: every event fires, 1 per message"
ONCE = "count 1, P7D: fires once, 1 per message"

NO_MATCH = {"actions": ["billing.refunded"]}  # no workload event has it
ALL_ACTIONS = {"actions": list(ACTIONS)}  # every workload event (a real check, not an empty filter)


def alert(
    n: int,
    filters: dict[str, Any] | None = None,
    *,
    count: int = 3,
    window: str = "PT10M",
    group_by: str | None = "actor",
    cooldown: str = "PT1H",
    created: datetime | None = None,
) -> Alert:
    at = (created or datetime(2026, 1, 1, tzinfo=UTC)).isoformat()
    return Alert.model_validate(
        {
            "id": f"01JBENCHALERT{n:013d}",
            "name": f"bench alert {n}",
            "filters": filters if filters is not None else ALL_ACTIONS,
            "threshold": {"count": count, "window": window},
            "group_by": group_by,
            "cooldown": cooldown,
            "created_at": at,
            "updated_at": at,
            "rule_since": at,
        }
    )


def mix_alerts(created: datetime) -> list[Alert]:
    """A plausible tenant's 10 alerts on the workload: failed logins per user (1/56 of the events),
    shares per user (1/8), the Finance folder per target (1/10, `q`), downloads count 1,000 for the
    tenant (1/8), six that match nothing here."""
    return [
        alert(0, {"actions": ["user.login"], "outcome": "failure"}, created=created),
        alert(1, {"actions": ["asset.shared"]}, count=5, created=created),
        alert(2, {"q": "finance"}, group_by="target", created=created),
        alert(3, {"actions": ["asset.downloaded"]}, count=1000, group_by=None, created=created),
        *(alert(4 + n, NO_MATCH, created=created) for n in range(6)),
    ]


def one_matching(created: datetime) -> list[Alert]:
    """10 alerts: one (count 3, PT10M, by actor) matching every event, nine matching none."""
    return [alert(0, created=created), *(alert(n, NO_MATCH, created=created) for n in range(1, 10))]


# --- a DynamoDB client that bills as DynamoDB does ------------------------------------------------------


def value_bytes(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    return cost.value_size(value)


def item_size(item: dict[str, Any] | None) -> int:
    """Attribute names + values: the size DynamoDB bills request units on (no 100 B overhead: that
    is counted for storage and indexes only)."""
    return sum(len(k.encode()) + value_bytes(v) for k, v in item.items()) if item else 0


def read_units(size: int) -> float:
    return float(max(1, math.ceil(size / streaming.READ_UNIT_BYTES)))  # consistent reads only here


_CLAUSE = re.compile(r"\b(SET|ADD|DELETE|REMOVE)\b")


def _fail(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "no"}}, operation)


def apply_update(
    before: dict[str, Any] | None,
    key: dict[str, Any],
    expression: str,
    values: dict[str, Any],
    names: dict[str, str],
) -> dict[str, Any]:
    """The item after an UpdateExpression of the forms dal/alerts.py writes (SET a = :x, ADD/DELETE
    a string set)."""
    after = {k: dict(v) for k, v in (before or key).items()}
    parts = _CLAUSE.split(expression)
    for verb, body in zip(parts[1::2], parts[2::2], strict=True):
        for clause in filter(None, (c.strip() for c in body.split(","))):
            if verb == "SET":
                name, value = (s.strip() for s in clause.split("="))
                after[names.get(name, name)] = values[value]
            elif verb == "REMOVE":
                after.pop(names.get(clause, clause), None)
            else:
                name, value = clause.split()
                name = names.get(name, name)
                current = set(after.get(name, {}).get("SS", []))
                change = set(values[value]["SS"])
                result = current | change if verb == "ADD" else current - change
                if result:
                    after[name] = {"SS": sorted(result)}
                else:
                    after.pop(name, None)
    return after


class BilledDynamo:
    """The control-table calls of dal/alerts.py on dicts: requests by (operation, item kind), and
    the write and read units DynamoDB would bill. Conditions: the version check and attribute_exists
    are enforced, the rest pass (one writer per item here)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self.write_units: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.read_units: defaultdict[tuple[str, str], float] = defaultdict(float)

    def clear(self) -> None:
        self.requests.clear()
        self.write_units.clear()
        self.read_units.clear()

    @staticmethod
    def kind(key: dict[str, Any]) -> str:
        return str(key["sk"]["S"]).split("#", 1)[0]

    @staticmethod
    def _id(key: dict[str, Any]) -> tuple[str, str]:
        return key["pk"]["S"], key["sk"]["S"]

    def state_items(self) -> list[dict[str, Any]]:
        return [i for (_, sk), i in self.items.items() if sk == "STATE"]

    def _updated(self, *, Key: dict[str, Any], **update: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        before = self.items.get(self._id(Key))
        values = update["ExpressionAttributeValues"]
        condition = update.get("ConditionExpression", "")
        if before is None and "attribute_exists(pk)" in condition:
            raise _fail("UpdateItem")
        if before is not None and "attribute_not_exists(pk)" in condition:
            raise _fail("UpdateItem")
        if "v = :v" in condition and (before is None or before["v"] != values[":v"]):
            raise _fail("UpdateItem")
        names = update.get("ExpressionAttributeNames") or {}
        return before, apply_update(before, Key, update["UpdateExpression"], values, names)

    def get_item(
        self, *, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False, **kw: Any
    ) -> Any:
        item = self.items.get(self._id(Key))
        units = read_units(item_size(item))
        kind = ("GetItem", self.kind(Key))
        self.requests[kind] += 1
        self.read_units[kind] += units if ConsistentRead else units / 2
        return {"Item": item} if item else {}

    def query(self, *, TableName: str, ExpressionAttributeValues: dict[str, Any], **kw: Any) -> Any:
        """`pk = :pk AND begins_with(sk, :p)` (list_alerts), billed on the items' summed size."""
        pk, prefix = ExpressionAttributeValues[":pk"]["S"], ExpressionAttributeValues[":p"]["S"]
        found = [i for (p, sk), i in sorted(self.items.items()) if p == pk and sk.startswith(prefix)]
        kind = ("Query", prefix.rstrip("#"))
        self.requests[kind] += 1
        units = read_units(sum(item_size(i) for i in found))
        self.read_units[kind] += units if kw.get("ConsistentRead") else units / 2
        return {"Items": found}

    def put_item(self, *, TableName: str, Item: dict[str, Any], **kw: Any) -> Any:
        before = self.items.get(self._id(Item))
        kind = ("PutItem", self.kind(Item))
        self.requests[kind] += 1
        self.write_units[kind] += cost.write_units(max(item_size(before), item_size(Item)))
        self.items[self._id(Item)] = Item
        return {}

    def update_item(self, *, TableName: str, Key: dict[str, Any], **update: Any) -> Any:
        kind = ("UpdateItem", self.kind(Key))
        self.requests[kind] += 1
        before, after = self._updated(Key=Key, **update)
        self.write_units[kind] += cost.write_units(max(item_size(before), item_size(after)))
        self.items[self._id(Key)] = after
        return {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> Any:
        """All or nothing; each item billed 2 units per KB (a transactional write)."""
        self.requests[("TransactWriteItems", "STATE+FIR")] += 1
        writes: list[tuple[tuple[str, str], dict[str, Any], str, int]] = []
        for operation in TransactItems:
            if "Update" in operation:
                update = {k: v for k, v in operation["Update"].items() if k != "TableName"}
                try:
                    before, after = self._updated(**update)
                except ClientError:
                    reasons = [{"Code": "ConditionalCheckFailed"}]
                    raise ClientError(
                        {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons},
                        "TransactWriteItems",
                    ) from None
                key = update["Key"]
            else:
                after = operation["Put"]["Item"]
                key = after
                before = self.items.get(self._id(key))
            size = max(item_size(before), item_size(after))
            writes.append((self._id(key), after, self.kind(key), 2 * cost.write_units(size)))
        for ident, after, kind, units in writes:
            self.items[ident] = after
            self.write_units[("TransactWriteItems", kind)] += units
        return {}


class CountingSqs:
    """SendMessageBatch as SQS bills it (a request per 64 KiB of the batch's payload)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.requests = 0.0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        payload = sum(len(e["MessageBody"].encode()) for e in Entries)
        self.requests += max(1, math.ceil(payload / streaming.SQS_CHUNK))
        self.bodies += [e["MessageBody"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


class ListedAlerts:
    """The router's one AlertStore call, in memory."""

    def __init__(self, alerts: Sequence[Alert]) -> None:
        self.alerts = list(alerts)

    def list_alerts(self, tenant: str) -> list[Alert]:
        return self.alerts


@contextlib.contextmanager
def wired(**adapters: object) -> Iterator[None]:
    """bench.streaming.wired with the two variables the alert parts read."""
    before = {name: os.environ.get(name) for name in EXTRA_ENV}
    for name, value in EXTRA_ENV.items():
        os.environ.setdefault(name, value)
    try:
        with streaming.wired(**adapters):
            yield
    finally:
        for name, old in before.items():
            if old is None:
                os.environ.pop(name, None)


def streamed(records: Sequence[Any]) -> list[Any]:
    """StreamedEvents as the production router parses its stream records."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    with wired():
        from activitylog.handlers.stream_router import parse

    return [parse(DynamoDBRecord(r)) for r in streaming.stream_batch(records)["Records"]]


# --- 1. CPU ------------------------------------------------------------------------------------------


def _best(samples: dict[str, float], name: str, value: float) -> None:
    samples[name] = min(samples.get(name, math.inf), value)


def full_state_steps(count: int, gap_ms: int, group_by: str | None, n: int) -> tuple[Any, list[Any], Any]:
    """(rule, occurrences, state) with the state already full: `n` further in-order events timed."""
    from activitylog.logic import alert_eval

    rule = alert_eval.rule_of(alert(0, count=count, group_by=group_by))
    start = 1_790_000_000_000
    total = rule.capacity * 2 + n
    occurrences = [alert_eval.Occurrence(f"01J{i:023d}", start + i * gap_ms) for i in range(total)]
    state = rule.empty()
    for occurrence in occurrences[: total - n]:
        state = alert_eval.step(rule, state, occurrence).state
    return rule, occurrences[total - n :], state


def time_steps(rule: Any, occurrences: Sequence[Any], state: Any) -> float:
    from activitylog.logic import alert_eval

    started = time.process_time()
    for occurrence in occurrences:
        state = alert_eval.step(rule, state, occurrence).state
    return (time.process_time() - started) / len(occurrences)


def cpu(now: datetime, rounds: int, batch: int) -> dict[str, float]:
    """Seconds per event (per event per alert for `select`), best of `rounds` after a warm-up."""
    from activitylog.logic import alert_eval, alert_live
    from activitylog.models.text import epoch_millis

    created = now - timedelta(days=1)
    records = streaming.accepted(batch, 1, now, "al")
    events = streamed(records)
    documents = [e.data for e in events]
    now_ms = epoch_millis(now)
    a3 = alert(0, created=created)
    floor_bodies = ingest.bodies(100, 1_000, "floor")
    steps = {
        "step count 3 (full state)": full_state_steps(3, 10_000, "actor", 2_000),
        "step count 1000 (full state)": full_state_steps(1000, 500, None, 300),
    }
    stream_batch = streaming.stream_batch(records)
    context = streaming._Context("StreamRouter", streaming.Deployed().router_mb)
    routers = {
        "router, 0 alerts": [],
        "router, 10 alerts (1 matches all)": one_matching(created),
        "router, 10 alerts (mix)": mix_alerts(created),
    }
    selects = {
        (1, "none"): [alert(0, NO_MATCH, created=created)],
        (1, "all"): [a3],
        (10, "none"): [alert(n, NO_MATCH, created=created) for n in range(10)],
        (10, "all"): [alert(n, created=created) for n in range(10)],
    }
    best: dict[str, float] = {}
    for round_ in range(rounds + 1):
        samples: dict[str, float] = {}
        samples["ingest floor"] = ingest.cpu_per_event(ingest.floor, floor_bodies, 1_000)
        started = time.process_time()
        for document in documents:
            if alert_eval.matches(a3, document, now_ms):
                alert_eval.group_of(a3, document)
                alert_eval.occurrence(document)
        samples["matches + group_of + occurrence"] = (time.process_time() - started) / len(documents)
        started = time.process_time()
        for document in documents:
            alert_eval.matches(selects[(1, "none")][0], document, now_ms)
        samples["matches (no match)"] = (time.process_time() - started) / len(documents)
        for name, (rule, occurrences, state) in steps.items():
            samples[name] = time_steps(rule, occurrences, state)
        started = time.process_time()
        alert_eval.evaluate(a3, documents, now_ms=now_ms)
        samples["evaluate count 3 by actor (workload, 300 users)"] = (time.process_time() - started) / len(
            documents
        )
        for (n, which), chosen in selects.items():
            ports = alert_live.SelectPorts(alerts=ListedAlerts(chosen), queue=FakeQueue())  # type: ignore[arg-type]  # its one call
            started = time.process_time()
            alert_live.select(TENANT, events, now=now, ports=ports)
            samples[f"select {n} alert{'s' if n > 1 else ''}, {which} matching"] = (
                time.process_time() - started
            ) / (len(events) * n)
        for name, chosen in routers.items():
            with wired(
                destinations=streaming.LeanDestinationStore(),
                delivery_queue=FakeQueue(),
                alerts=ListedAlerts(chosen),
                alert_queue=FakeQueue(),
            ):
                run = streaming.router_handler()
                started = time.process_time()
                assert run(stream_batch, context) == {"batchItemFailures": []}
                samples[name] = (time.process_time() - started) / len(events)
        if round_:
            for name, value in samples.items():
                _best(best, name, value)
    return best


# --- 2. DynamoDB units per matching event ----------------------------------------------------------------


@dataclass
class Units:
    name: str
    events: int  # measured (after the warm-up)
    messages: int
    firings: int
    requests: dict[str, float]  # per event
    write_units: float  # per event
    read_units: float  # per event
    state_bytes: int  # the largest state item at the end
    cpu_s: float = 0.0  # evaluator CPU per event (parse + evaluate_work, stub sizing included)


@dataclass
class Counting:
    records: int = 0
    mails: int = 0

    def record(self, tenant: str, alert: Alert, firing: Any) -> None:
        self.records += 1

    def mail(self, tenant: str, to: list[str], subject: str, text: str, html: str) -> bool:
        self.mails += 1
        return True


def evaluator_ports(dynamo: BilledDynamo, counting: Counting) -> Any:
    from activitylog.dal.alerts import AlertTable
    from activitylog.logic.alert_live import EvaluatorPorts

    return EvaluatorPorts(
        alerts=AlertTable(CONTROL_TABLE, dynamo),
        events=None,  # type: ignore[arg-type]  # read for an email only: no recipients here
        destinations=streaming.LeanDestinationStore(),  # type: ignore[arg-type]  # no destinations here
        deliveries=FakeQueue(),
        mail=counting.mail,
        record=counting.record,
        console_url=CONSOLE_URL,
    )


def bodies_of(a: Alert, matched: Sequence[Matched], per_message: int) -> list[str]:
    return [
        AlertWork(tenant=TENANT, alert=a, events=list(matched[i : i + per_message])).model_dump_json()
        for i in range(0, len(matched), per_message)
    ]


def run_bodies(
    bodies: Sequence[str], dynamo: BilledDynamo, now: datetime, counting: Counting
) -> tuple[int, float]:
    """(firings, CPU s) of evaluating the messages as the evaluator's handler does (parse, evaluate)."""
    from activitylog.logic.alert_live import evaluate_work

    ports = evaluator_ports(dynamo, counting)
    fired = 0
    started = time.process_time()
    for body in bodies:
        fired += len(evaluate_work(AlertWork.model_validate_json(body), now=now, ports=ports))
    return fired, time.process_time() - started


def units_case(
    name: str,
    a: Alert,
    *,
    groups: int,
    per_message: int,
    gap_ms: int,
    warm: int,
    measured: int,
    now: datetime,
) -> Units:
    """`warm` then `measured` events of `groups` groups (round robin, `gap_ms` apart in occurred time,
    in order), `per_message` to a message; units and requests of the measured ones."""
    from activitylog.models.text import epoch_millis

    start = epoch_millis(now) - (warm + measured) * gap_ms
    matched = [
        Matched(
            None if a.group_by is None else f"user-{i % groups}",
            start + i * gap_ms,
            f"01J{i:023d}",
        )
        for i in range(warm + measured)
    ]
    from activitylog.dal.alerts import AlertTable

    dynamo, counting = BilledDynamo(), Counting()
    AlertTable(CONTROL_TABLE, dynamo).put_alert(TENANT, a)  # mark_fired updates it
    run_bodies(bodies_of(a, matched[:warm], per_message), dynamo, now, counting)
    dynamo.clear()
    bodies = bodies_of(a, matched[warm:], per_message)
    fired, cpu_s = run_bodies(bodies, dynamo, now, counting)
    return Units(
        name=name,
        events=measured,
        messages=len(bodies),
        firings=fired,
        requests={f"{op} {kind}": n / measured for (op, kind), n in sorted(dynamo.requests.items())},
        write_units=sum(dynamo.write_units.values()) / measured,
        read_units=sum(dynamo.read_units.values()) / measured,
        state_bytes=max(item_size(i) for i in dynamo.state_items()),
        cpu_s=cpu_s / measured,
    )


# (name, alert, groups, events per message, warm-up events, measured events); count 3: a group's event
# every 10 s (full after 102); count 1,000: every 0.5 s (1,200 in a window of PT10M: count is reached)
CASES: tuple[tuple[str, Alert, int, int, int, int], ...] = (
    ("count 3, 1 group, 1 event per message", alert(0), 1, 1, 200, 300),
    ("count 3, 1 group, 10 per message", alert(0), 1, 10, 200, 1_000),
    ("count 3, 1 group, 100 per message", alert(0), 1, 100, 200, 2_000),
    ("count 3, 100 groups, 100 per message (1 per group)", alert(0), 100, 100, 20_000, 2_000),
    ("count 3, 300 groups, 500 per message (quiet groups: no warm-up)", alert(0), 300, 500, 0, 2_000),
    ("count 1000, 1 group, 1 per message", alert(1, count=1000, group_by=None), 1, 1, 1_200, 200),
    ("count 1000, 1 group, 10 per message", alert(1, count=1000, group_by=None), 1, 10, 1_200, 1_000),
    ("count 1000, 1 group, 100 per message", alert(1, count=1000, group_by=None), 1, 100, 1_200, 2_000),
    (FIRES, alert(2, count=1, group_by=None, cooldown="PT0S"), 1, 1, 200, 300),
    (ONCE, alert(3, count=1, group_by=None, cooldown="P7D"), 1, 1, 200, 300),
)


def units(now: datetime) -> list[Units]:
    return [
        units_case(
            name,
            a,
            groups=groups,
            per_message=per_message,
            gap_ms=500 if a.threshold.count == 1000 else 10_000,
            warm=warm,
            measured=measured,
            now=now,
        )
        for name, a, groups, per_message, warm, measured in CASES
    ]


# --- 4. the router and evaluator together, for the cost ---------------------------------------------------


@dataclass
class Pipeline:
    name: str
    events: int
    invocations: int  # router batches
    router_cpu_s: float  # extra per invocation (alerts - none)
    router_requests: float  # DynamoDB + SQS per invocation, for the alerts
    router_read_units: float  # per invocation
    sqs_sends: float  # SendMessageBatch requests (64 KiB chunks) per invocation
    messages: int
    message_bytes: list[int]
    matched: int  # (event, alert) pairs evaluated
    groups: int  # (message, group) pairs: each a read and a write at least
    evaluator_cpu_s: float  # total
    requests: dict[str, float]  # evaluator, total
    write_units: float
    read_units: float
    firings: int
    state_bytes: int  # all state items at the end
    firing_bytes: int  # all firing items


def pipeline(name: str, alerts: list[Alert], now: datetime, batches: int, batch: int) -> Pipeline:
    from activitylog.dal.alerts import AlertTable
    from activitylog.dal.delivery_queue import SqsDeliveryQueue

    dynamo, sqs = BilledDynamo(), CountingSqs()
    table = AlertTable(CONTROL_TABLE, dynamo)
    for a in alerts:
        table.put_alert(TENANT, a)
    dynamo.clear()
    records = streaming.accepted(batch * batches, 1, now, f"p{name[:3]}")
    context = streaming._Context("StreamRouter", streaming.Deployed().router_mb)
    timings = {}
    for label, chosen in (("none", False), ("alerts", True)):
        with wired(
            destinations=streaming.LeanDestinationStore(),
            delivery_queue=FakeQueue(),
            alerts=table if chosen else ListedAlerts([]),
            alert_queue=SqsDeliveryQueue(ALERT_QUEUE_URL, sqs) if chosen else FakeQueue(),
        ):
            run = streaming.router_handler()
            run(streaming.stream_batch(records[:batch]), context)  # warm
            if chosen:
                dynamo.clear()
                sqs.bodies.clear()
                sqs.requests = 0
            started = time.process_time()
            for b in range(batches):
                part = records[b * batch : (b + 1) * batch]
                assert run(streaming.stream_batch(part, b * batch), context) == {"batchItemFailures": []}
            timings[label] = (time.process_time() - started) / batches
    router_requests = sum(dynamo.requests.values()) / batches + sqs.requests / batches
    router_read_units = sum(dynamo.read_units.values()) / batches
    dynamo.clear()
    bodies = list(sqs.bodies)
    works = [AlertWork.model_validate_json(b) for b in bodies]
    fired, cpu_s = run_bodies(bodies, dynamo, now, Counting())
    firing_items = [i for (_, sk), i in dynamo.items.items() if sk.startswith("FIR#")]
    return Pipeline(
        name=name,
        events=len(records),
        invocations=batches,
        router_cpu_s=max(0.0, timings["alerts"] - timings["none"]),
        router_requests=router_requests,
        router_read_units=router_read_units,
        sqs_sends=sqs.requests / batches,
        messages=len(bodies),
        message_bytes=[len(b.encode()) for b in bodies],
        matched=sum(len(w.events) for w in works),
        groups=sum(len({e.group for e in w.events}) for w in works),
        evaluator_cpu_s=cpu_s,
        requests={f"{op} {kind}": float(n) for (op, kind), n in sorted(dynamo.requests.items())},
        write_units=sum(dynamo.write_units.values()),
        read_units=sum(dynamo.read_units.values()),
        firings=fired,
        state_bytes=sum(item_size(i) + cost.OVERHEAD for i in dynamo.state_items()),
        firing_bytes=sum(item_size(i) + cost.OVERHEAD for i in firing_items),
    )


@dataclass
class AlertCost:
    pipeline: Pipeline
    lines: dict[str, float] = field(default_factory=dict)  # $ per million events
    router_ms: float = 0.0  # extra billed per router invocation
    evaluator_ms: float = 0.0  # billed per message (one per invocation)

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def alert_cost(p: Pipeline, call_ms: float = streaming.CALL_MS) -> AlertCost:
    """$ per million events accepted: full router batches of one tenant; one message per evaluator
    invocation (conservative: Lambda hands up to 10 when the queue has a backlog)."""
    from activitylog.logic.alert_live import GROUP_THREADS

    scale = 1e6 / p.events
    c = AlertCost(p)
    invocations = p.invocations * scale
    messages = p.messages * scale
    router_calls = p.router_requests  # one tenant: its Query and its send, in a row
    c.router_ms = p.router_cpu_s * 1e3 + router_calls * call_ms
    per_message_calls = sum(p.requests.values()) / max(1, p.messages)
    groups_per_message = p.groups / max(1, p.messages)
    wall_calls = (
        per_message_calls / max(1.0, groups_per_message) * math.ceil(groups_per_message / GROUP_THREADS)
    )
    c.evaluator_ms = math.ceil(p.evaluator_cpu_s / max(1, p.messages) * 1e3 + wall_calls * call_ms)
    gb_s = cost.LAMBDA_GB_S
    router_mb = streaming.Deployed().router_mb
    c.lines["Lambda GB-s: router (alerts' CPU and calls)"] = (
        invocations * c.router_ms / 1e3 * router_mb / 1024 * gb_s
    )
    c.lines["Lambda requests: evaluator"] = messages * cost.LAMBDA_REQUEST
    c.lines["Lambda GB-s: evaluator"] = messages * c.evaluator_ms / 1e3 * EVALUATOR_MB / 1024 * gb_s
    chunks = sum(max(1, math.ceil(b / streaming.SQS_CHUNK)) for b in p.message_bytes) * scale
    sqs = invocations * p.sqs_sends + 2 * chunks  # + ReceiveMessage and DeleteMessage per message
    c.lines["SQS requests (AlertWork send, receive, delete)"] = sqs * streaming.SQS_REQUEST
    c.lines["DynamoDB reads (router's alert list, states)"] = (
        invocations * p.router_read_units + p.read_units * scale
    ) * cost.READ_UNIT
    c.lines["DynamoDB writes (states, firings)"] = p.write_units * scale * cost.WRITE_UNIT
    return c


# --- 3. firing latency in local mode ------------------------------------------------------------------


@dataclass
class Latency:
    startup_s: float
    sent: int
    latencies: list[float]  # s, POST answered to the firing listed
    post_ms: list[float]
    polls: int
    poll_ms: list[float]
    unmatched: int  # firings seen whose trigger was not sent by us


def measure_latency(firings: int, per_request: int, interval_s: float, timeout_s: float) -> Latency:
    import requests
    from activitylog_ops.local.service import LocalService

    stack = LocalService(port=0, env_file=None, auto_fire=False)
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    seen: dict[str, float] = {}
    poll_ms: list[float] = []
    unmatched: set[str] = set()
    try:
        url, key = stack.env["ACTIVITYLOG_API_URL"], stack.env["ACTIVITYLOG_API_KEY"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        body: dict[str, Any] = {
            "name": "bench latency",
            "filters": {"actions": ["bench.trigger"]},
            "threshold": {"count": 1, "window": "PT1M"},
            "group_by": None,
            "cooldown": "PT0S",
        }
        answer = session.post(f"{url}/v1/alerts", json=body, timeout=30)
        assert answer.status_code == 201, answer.text
        alert_id = answer.json()["id"]
        stop = threading.Event()
        poller = requests.Session()
        poller.headers["Authorization"] = f"Bearer {key}"

        def poll() -> None:
            while not stop.is_set():
                sent = time.perf_counter()
                page = poller.get(f"{url}/v1/alerts/{alert_id}/firings", params={"limit": 50}, timeout=30)
                at = time.perf_counter()
                poll_ms.append((at - sent) * 1e3)
                if page.status_code == 200:
                    for f in page.json()["firings"]:
                        trigger = f["event_ids"][-1]
                        seen.setdefault(trigger, at)
                time.sleep(0.05)

        thread = threading.Thread(target=poll, name="bench-firings", daemon=True)
        thread.start()
        now = datetime.now(UTC)
        accepted_at: dict[str, float] = {}
        post_ms: list[float] = []
        first = time.perf_counter()
        for n in range(firings):
            delay = first + n * interval_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            chunk = raw_events(per_request - 1, now, timedelta(milliseconds=1), prefix=f"lat{n:04d}")
            trigger: dict[str, Any] = {
                "id": f"trig-{n:05d}",
                "action": "bench.trigger",
                "actor": {"id": f"user-{n % 7}"},
            }
            chunk.append(trigger)
            sent = time.perf_counter()
            answer = session.post(f"{url}/v1/events", json={"events": chunk}, timeout=30)
            at = time.perf_counter()
            assert answer.status_code == 200 and answer.json()["accepted"] == len(chunk), answer.text
            post_ms.append((at - sent) * 1e3)
            accepted_at[trigger["id"]] = at
        deadline = time.perf_counter() + timeout_s
        while len(set(seen) & set(accepted_at)) < len(accepted_at) and time.perf_counter() < deadline:
            time.sleep(0.05)
        stop.set()
        thread.join(timeout=30)
        unmatched = set(seen) - set(accepted_at)
        with contextlib.suppress(TimeoutError):
            stack.drain_streaming(timeout=30)
    finally:
        stack.stop()
    return Latency(
        startup_s=startup,
        sent=len(accepted_at),
        latencies=[seen[i] - at for i, at in accepted_at.items() if i in seen],
        post_ms=post_ms,
        polls=len(poll_ms),
        poll_ms=poll_ms,
        unmatched=len(unmatched),
    )


# --- the report -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    rounds: int = 5
    batch: int = 500  # the router's batch (infra: streaming.Deployed)
    pipeline_batches: int = 4
    latency: bool = True
    firings: int = 150
    per_request: int = 5  # events per POST (one of them the trigger)
    interval_s: float = 0.6
    timeout_s: float = 60.0


@dataclass
class Results:
    config: Config
    stamp: str
    cpu: dict[str, float]
    units: list[Units]
    costs: list[AlertCost]
    latency: Latency | None


def measure(config: Config) -> Results:
    now = datetime.now(UTC)
    stamp = report.stamp()
    cpu_s = cpu(now, config.rounds, config.batch)
    unit_rows = units(now)
    created = now - timedelta(days=1)
    costs = [
        alert_cost(pipeline(name, chosen, now, config.pipeline_batches, config.batch))
        for name, chosen in (
            ("1 of 10 matches all", one_matching(created)),
            ("mix of 10", mix_alerts(created)),
        )
    ]
    latency = (
        measure_latency(config.firings, config.per_request, config.interval_s, config.timeout_s)
        if config.latency
        else None
    )
    return Results(config, stamp, cpu_s, unit_rows, costs, latency)


def para(*parts: str) -> list[str]:
    return textwrap.wrap("".join(parts), WIDTH)


def bullet(*parts: str) -> list[str]:
    return textwrap.wrap("".join(parts), WIDTH, initial_indent="- ", subsequent_indent="  ")


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _money(x: float) -> str:
    return f"${x:,.4f}"


def render_cpu(r: Results) -> list[str]:
    c = r.cpu
    floor = c["ingest floor"]
    lines = [
        "### CPU per event",
        "",
        *para(
            f"Best of {r.config.rounds} rounds after a warm-up, `time.process_time`; the ingest floor "
            "(`bench.ingest.floor`: parse, validate and serialise an event, nothing else) measured in the "
            "same rounds. *Per event per alert* for `select`. The documents are the workload's, as "
            "ingestion prepares them and the production stream parser reads them; the alert (count 3, "
            "PT10M, by actor) filters on the 8 actions of the workload, so every event matches.",
        ),
        "",
        "| what | CPU per event | x ingest floor |",
        "|---|---:|---:|",
    ]
    for name, value in c.items():
        lines.append(row(name, _us(value), "1.00" if name == "ingest floor" else f"{value / floor:.2f}"))
    base = c["router, 0 alerts"]
    lines += [
        "",
        *para(
            "The router rows are the production stream-router handler on a batch of ",
            f"{r.config.batch} records of one tenant (no destination; alerts listed from memory, work ",
            "sent to an in-memory queue): the 10 alerts add ",
            f"{_us(c['router, 10 alerts (1 matches all)'] - base)} per event when one matches every event ",
            f"({(c['router, 10 alerts (1 matches all)'] - base) / floor:.2f}x the floor) and ",
            f"{_us(c['router, 10 alerts (mix)'] - base)} for the mix ",
            f"({(c['router, 10 alerts (mix)'] - base) / floor:.2f}x). `step` on a full count-1,000 state is ",
            f"{c['step count 1000 (full state)'] / c['step count 3 (full state)']:.0f}x a count-3 step: it ",
            "copies the tuple of 1,099 remembered events.",
        ),
    ]
    return lines


def render_units(r: Results) -> list[str]:
    lines = [
        "### DynamoDB units per matching event (evaluator)",
        "",
        *para(
            "`alert_live.evaluate_work` on `AlertWork` messages (parsed as the handler parses them), the "
            "production `AlertTable` on a stub client that bills as DynamoDB does: a write is 1 unit per "
            "KB of the larger of the item before and after, and 2 in a `TransactWriteItems`; a "
            "consistent read 1 unit per 4 KB. Events of a group in order, after a warm-up that fills the "
            "state (count 3: one event every 10 s, cooldown PT1H; count 1,000: every 0.5 s, group_by "
            "null). The firing's follow-ups are counted as calls, not units: its event, email and "
            "deliveries (see the cost section).",
        ),
        "",
        "| case | messages | firings | WCU / event | RCU / event | requests / event | state item | "
        "evaluator CPU / event |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for u in r.units:
        requests = ", ".join(f"{k} {v:.3g}" for k, v in u.requests.items())
        lines.append(
            row(
                u.name, u.messages, u.firings, f"{u.write_units:.2f}", f"{u.read_units:.2f}", requests,
                f"{u.state_bytes:,} B", _us(u.cpu_s),
            )
        )  # fmt: skip
    by = {u.name: u for u in r.units}
    fires, once = by[FIRES], by[ONCE]
    extra = (fires.write_units - once.write_units) * fires.events / max(1, fires.firings - once.firings)
    lines += [
        "",
        *para(
            f"A firing adds {extra:.1f} write units (the two count-1 rows: the state's update becomes ",
            "transactional, 2x, the firing's item is put in the same transaction, 2x, its pending key is ",
            "deleted again by an UpdateItem billed on the whole state, and `mark_fired` updates the alert ",
            "item), besides its follow-ups (its event, email, deliveries).",
        ),
    ]
    return lines


def render_latency(r: Results) -> list[str]:
    lat = r.latency
    if lat is None:
        return ["### Firing latency (local mode)", "", "Not run (`Config.latency` off)."]
    ms = sorted(v * 1e3 for v in lat.latencies)
    polls = sorted(lat.poll_ms)
    lines = [
        "### Firing latency (local mode)",
        "",
        *para(
            f"`LocalService` (started in {lat.startup_s:.1f} s): one alert (count 1, PT0S, on the action ",
            f"`bench.trigger`), then {lat.sent} POST /v1/events of {r.config.per_request} events each ",
            f"(one trigger, the rest workload events), one every {r.config.interval_s:g} s; a thread polls ",
            "GET /v1/alerts/{id}/firings (limit 50) every 50 ms after each answer. Latency: the POST ",
            "answered to the first poll answer listing the trigger's firing. The path: the events table's ",
            "stream poller, the production router (`select`), the AlertWork queue's poller, the evaluator. ",
            "Local mode is moto in one process (each POST and each poll contends with the pollers), so ",
            "the absolute times are local mode's, not Lambda's.",
        ),
        "",
        "| firings listed | p50 | p99 | max | POST p50 | poll p50 | polls |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        row(
            f"{len(ms)} of {lat.sent}",
            f"{streaming.percentile(ms, 50):,.0f} ms",
            f"{streaming.percentile(ms, 99):,.0f} ms",
            f"{ms[-1]:,.0f} ms" if ms else "-",
            f"{streaming.percentile(sorted(lat.post_ms), 50):,.0f} ms",
            f"{streaming.percentile(polls, 50):,.0f} ms",
            lat.polls,
        ),
    ]
    if lat.unmatched:
        lines += ["", f"{lat.unmatched} firings listed were not of a trigger sent (unexpected)."]
    return lines


def render_cost_summary(r: Results) -> list[str]:
    lines = [
        "### Cost per million events (10 alerts)",
        "",
        'Details and assumptions: docs/cost.md, "Alerts".',
        "",
        row("", *(c.pipeline.name for c in r.costs)),
        "|---|" + "---:|" * len(r.costs),
        row("$ per million events", *(f"**{_money(c.total)}**" for c in r.costs)),
        row(
            "firings per million events",
            *(f"{c.pipeline.firings * 1e6 / c.pipeline.events:,.0f}" for c in r.costs),
        ),
    ]
    return lines


def render(r: Results) -> str:
    lines = [
        "## Alerts",
        "",
        r.stamp,
        "",
        *para(
            "`python -m bench alerts` (bench/alerts.py). What alerts add to the stream: the router's ",
            "matching (`alert_live.select`), the evaluator's state reads and conditional writes ",
            "(`alert_live.evaluate_work`, `dal/alerts.py`), the time to a listed firing, and the bill. ",
            "Ratios within this run; no goal was set for alerts.",
        ),
        "",
        *render_cpu(r),
        "",
        *render_units(r),
        "",
        *render_latency(r),
        "",
        *render_cost_summary(r),
    ]
    return "\n".join(lines)


def cost_section(r: Results) -> str:
    when = r.stamp.removeprefix("Measured ").rstrip(".")
    costs = r.costs
    lines = [
        "",
        "## Alerts",
        "",
        *para(
            f"Measured by `python -m bench alerts` ({when}; details in benchmarks.md). What alerts add per ",
            "million events accepted, one tenant with 10 enabled alerts: *1 of 10 matches all*: one alert ",
            "(count 3, PT10M, by actor) matches every event, nine none; *mix of 10*: failed logins per ",
            "user (count 3), shares per user (count 5), the Finance folder per target (count 3), downloads ",
            "for the tenant (count 1,000, group_by null), six matching nothing. The production router ",
            f"handler on full batches of {r.config.batch} stream records, with the production `AlertTable` ",
            "and `SqsDeliveryQueue` on counting stubs, then its messages through `evaluate_work`.",
        ),
        "",
        row("$ per million events", *(c.pipeline.name for c in costs)),
        "|---|" + "---:|" * len(costs),
    ]
    for name in costs[0].lines:
        lines.append(row(name, *(_money(c.lines[name]) for c in costs)))
    lines.append(row("**total**", *(f"**{_money(c.total)}**" for c in costs)))

    def per_million(value: Callable[[Pipeline], float], fmt: str = "{:,.0f}") -> list[str]:
        return [fmt.format(value(c.pipeline) * 1e6 / c.pipeline.events) for c in costs]

    lines += [
        row("(event, alert) pairs evaluated per million events", *per_million(lambda p: p.matched)),
        row("AlertWork messages per million events", *per_million(lambda p: p.messages)),
        row("(message, group) state round trips per million events", *per_million(lambda p: p.groups)),
        row("write units per million events", *per_million(lambda p: p.write_units)),
        row("read units per million events", *per_million(lambda p: p.read_units + p.router_read_units * p.invocations)),  # noqa: E501
        row("firings per million events (this workload)", *per_million(lambda p: p.firings)),
        row("router extra billed ms per invocation", *(f"{c.router_ms:,.1f}" for c in costs)),
        row("evaluator billed ms per message", *(f"{c.evaluator_ms:,.0f}" for c in costs)),
    ]  # fmt: skip
    by = {u.name: u for u in r.units}
    full3, full1000 = by[CASES[0][0]].state_bytes, by[CASES[5][0]].state_bytes
    fired = [c for c in costs if c.pipeline.firings]
    firing_bytes = fired[0].pipeline.firing_bytes / fired[0].pipeline.firings if fired else 0.0
    lines += [
        "",
        "Per million firings, on top (modelled from the code, not measured here):",
        "",
        *bullet(
            f"**Email**: ${SES_EMAIL * 1e6:,.0f} (SES, ${SES_EMAIL * 1e3:.2f} per 1,000; one email per ",
            "firing whatever the number of recipients, up to 50) + the tenant's mail counter (an ",
            "UpdateItem, 1 write unit) and the firing's events read by id for the email (a BatchGetItem, ",
            "eventually consistent: 0.5 read unit per event up to 4 KB, up to 100 events).",
        ),
        *bullet(
            "**The `activitylog.alert.fired` event**: one more stored event, billed as any ingested event ",
            "(the main table above), and the action catalogue's write.",
        ),
        *bullet(
            "**The evaluator's follow-ups**: the alert's `last_fired_at` (an UpdateItem of the alert item, ",
            "about 1 write unit), a delivery per destination (as streaming's deliveries, above).",
        ),
        *bullet(
            f"**Firing items**: about {firing_bytes:,.0f} B each (measured, 100 B overhead included), kept ",
            f"400 days: ${firing_bytes * 1e6 / cost.GB * cost.STORAGE_STANDARD * 400 / 30.4375:,.2f} per ",
            "million firings over their life.",
        ),
        "",
        "Assumptions:",
        "",
        *bullet(
            "**Router**: its extra CPU for the alerts (measured: the handler with the 10 alerts minus "
            "without), + ",
            f"{streaming.CALL_MS:.0f} ms per AWS request it adds (the consistent Query of the tenant's ",
            "alerts and the SendMessageBatch), at its 1,024 MB. No extra Lambda request: the router runs ",
            "anyway for the stream.",
        ),
        *bullet(
            "**Evaluator**: one message per invocation (conservative: Lambda hands up to 10), billed its ",
            f"CPU measured + {streaming.CALL_MS:.0f} ms per DynamoDB request on the critical path (a ",
            "group's requests in a row, 8 groups at once), 512 MB, arm64 prices. The powertools batch ",
            "wrapper and boto3's serialisation are not in the CPU measured.",
        ),
        *bullet(
            "**SQS**: per message its share of the router's SendMessageBatch, one ReceiveMessage and one ",
            "DeleteMessage per 64 KiB chunk, $0.40 per million requests; the AlertWork poller's idle long ",
            "polls are a fixed monthly amount, as for the deliveries queue.",
        ),
        *bullet(
            "**DynamoDB**: sizes as billed (names + values), on demand (REFERENCE.md). One tenant per ",
            "batch: with T tenants in a batch the router reads T alert lists (1 read unit each up to 4 KB).",
        ),
        *bullet(
            "**State storage**: one item per (alert, rule, group), a few hundred bytes for a quiet group ",
            f"up to {full3:,} B (count 3) or {full1000:,} B (count 1,000) full (measured, ULID event ids), ",
            "kept 35 days after its last write: 1,000 full count-3 groups cost about ",
            f"${full3 * 1e3 / cost.GB * cost.STORAGE_STANDARD:.4f} a month. Not per event, not in the table.",
        ),
    ]
    return "\n".join(lines)


def write_cost_section(r: Results) -> None:
    report.write_section(COST_MARKER, cost_section(r), path=report.ROOT / "docs" / "cost.md")


def keep_cost_section(previous: str) -> None:
    """Put the alerts section of docs/cost.md back after the cost model rewrote the file."""
    start, end = f"<!-- bench:{COST_MARKER}:start -->", f"<!-- bench:{COST_MARKER}:end -->"
    if start in previous and end in previous:
        text = previous.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")
        report.write_section(COST_MARKER, text, path=report.ROOT / "docs" / "cost.md")


def run(config: Config | None = None) -> str:
    results = measure(config or Config())
    write_cost_section(results)
    return render(results)
