"""Streaming benchmark (issue #15): latency, router CPU, deliveries per 1,000 events, cost.

1. *Latency* (local mode): a `LocalService` as `export_e2e` starts it, a webhook receiver on
   127.0.0.1 (`http.server` in a thread), one webhook destination created over HTTP with the demo
   key, then `POST /v1/events` at a fixed pace; per event id: the time its POST was answered and
   the time the receiver got it. The pollers' invocations are timed too (wall and thread CPU).
2. *Router CPU*: the production handler (`activitylog.handlers.stream_router.handler`) on batches
   of stream records as the mapping sends them (the event items `dal.events.to_items` writes for
   documents `logic.ingest.prepare` produced, in Lambda's DynamoDB Streams record shape), with an
   in-memory destination store and `tests.fakes.FakeQueue`; and again with the production DAL
   (`DestinationTable`, `SqsDeliveryQueue`) on stub clients. Compared with `bench.ingest.floor`
   measured in the same rounds.
3. *Deliveries per 1,000 events*: the same handler with the production DAL on stub clients that
   count requests and size items with DynamoDB's rules; the messages it sent then go through the
   production deliverer handler (`activitylog.handlers.deliverer.handler`) in SQS batches, the
   webhook answering 204 at once.
4. *Cost per million events* from 2. and 3. (the "Streaming" section of docs/cost.md).
"""

from __future__ import annotations

import contextlib
import cProfile
import hashlib
import io
import json
import math
import os
import pstats
import random
import re
import statistics
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from activitylog.dal.events import to_items
from activitylog.logic.ingest import prepare
from activitylog.models.destinations import DestinationFilters, DestinationSettings, SigningSecret
from activitylog.models.destinations import StoredDestination as Stored
from activitylog.models.query import EventRecord
from activitylog.models.settings import TenantSettings
from botocore.exceptions import ClientError

from bench import cost, ingest, report
from bench.workload import raw_events
from tests.fakes import FakeQueue, FakeRollupStore

REGION = "us-east-1"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/ActivityLogEvents/stream/2026-12-01T00:00:00.000"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/Deliveries"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:Deliveries"
EVENTS_TABLE, CONTROL_TABLE = "bench-events", "bench-control"
ENV = {  # what the two handlers validate when they load (models/env.py), when not set already
    "CONTROL_TABLE": CONTROL_TABLE,
    "EVENTS_TABLE": EVENTS_TABLE,
    "DELIVERY_QUEUE_URL": QUEUE_URL,
    "ALERT_QUEUE_URL": QUEUE_URL.replace("Deliveries", "AlertWork"),
    "ROLLUP_QUEUE_URL": QUEUE_URL.replace("Deliveries", "RollupWork"),
    "SENDER_EMAIL": "noreply@example.com",
    "POWERTOOLS_METRICS_NAMESPACE": "ActivityLog",
}
SECRET = "whsec_" + "QmVuY2htYXJrIHNpZ25pbmcgc2VjcmV0IQ=="  # a dummy: signs the bench deliveries
TEN_PERCENT = {"q": "finance"}  # the workload's folder target named "Finance": every 10th event
CALL_MS = 10.0  # per AWS request in a function's billed duration (bench/cost.py uses the same)
RECEIVER_MS = 100.0  # assumed answer time of a tenant's webhook (billed deliverer time)
SQS_CHUNK = 64 * 1024  # SQS bills a request per 64 KiB of payload
RECEIVE_FIXED = 5 * 3 * 60 * 24 * 30.4375  # idle long polls a month: 5 pollers, 20 s receives
SQS_REQUEST = 0.40e-6  # $ per request (REFERENCE.md, Part 2)
READ_UNIT_BYTES = 4 * 1024
LEDGER_MONTHS = 30 / 30.4375  # ledger items expire after 30 days (dal/destinations.py)


@dataclass(frozen=True)
class Deployed:
    """What the template deploys (infra/constructs/streaming.py); read from the synthesized template
    when the latency run starts a stack, these defaults otherwise (a unit test compares them)."""

    router_batch: int = 500
    router_window_s: float = 1.0
    deliverer_batch: int = 5
    deliverer_concurrency: int = 20  # the SQS mapping's ScalingConfig.MaximumConcurrency
    router_mb: int = 1024
    deliverer_mb: int = 512


@dataclass(frozen=True)
class Config:
    events: int = 1_000  # latency: events sent
    per_request: int = 10  # events per POST /v1/events
    # One POST every this long (10 events/s): local ingestion answers a POST of 10 events in about
    # 0.5-0.8 s (moto, one process), so a faster schedule could not be kept and would measure a queue.
    interval_s: float = 1.0
    timeout_s: float = 120.0  # waiting for the last delivery
    rounds: int = 5  # CPU: best of this many (after one warm-up round)
    batches_per_sample: int = 2  # CPU: router batches per sample
    tenants: tuple[int, ...] = (1, 10, 100)
    destinations: tuple[int, ...] = (0, 1, 5)
    mixes: tuple[tuple[int, str], ...] = (
        (1, "all"),
        (10, "all"),
        (100, "all"),
        (1, "10%"),
        (10, "10%"),
        (100, "10%"),
    )
    latency: bool = True


# --- stream records as the mapping sends them -------------------------------------------------------


def tenant_name(n: int) -> str:
    return f"tenant-{n:03d}"


def tenant_order(count: int, tenants: int, seed: str) -> list[str]:
    """Which tenant each of `count` events belongs to: every tenant the same share, in a shuffled
    order (fixed by `seed`) that is independent of the workload's own periods (its every-10th event)."""
    names = [tenant_name(n % tenants) for n in range(count)]
    random.Random(seed).shuffle(names)  # noqa: S311 - an arrangement, not a secret
    return names


def accepted(count: int, tenants: int, now: datetime, tag: str = "e") -> list[EventRecord]:
    """`count` events as ingestion prepares them (ids assigned by the service, received at `now`),
    from `tenants` tenants (`tenant_order`)."""
    settings = TenantSettings()
    seen: dict[str, set[str]] = {}
    span = timedelta(minutes=1)
    records = []
    owners = tenant_order(count, tenants, f"{tag}/{tenants}")
    for i, (raw, tenant) in enumerate(
        zip(raw_events(count, now - span, span / max(count, 1), prefix=tag), owners, strict=True)
    ):
        del raw["id"]  # products usually let the service assign a ULID
        rejection, record = prepare(
            i, raw, tenant=tenant, now=now, settings=settings, seen=seen.setdefault(tenant, set())
        )
        assert rejection is None and record is not None, rejection
        records.append(record)
    return records


def stream_record(record: EventRecord, sequence: int) -> dict[str, Any]:
    """The INSERT of the event's item, as a Lambda DynamoDB Streams event carries it (NEW_IMAGE)."""
    item = to_items(record)[0]
    return {
        "eventID": hashlib.md5(str(sequence).encode(), usedforsecurity=False).hexdigest(),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": item["pk"]},
            "NewImage": item,
            "SequenceNumber": str(10**20 + sequence),
            "SizeBytes": cost.item_bytes(item),
            "StreamViewType": "NEW_IMAGE",
        },
        "eventSourceARN": STREAM_ARN,
    }


def stream_batch(records: Sequence[EventRecord], first: int = 0) -> dict[str, Any]:
    return {"Records": [stream_record(r, first + n) for n, r in enumerate(records)]}


def destination(n: int, created: datetime, filters: dict[str, Any] | None = None) -> Stored:
    settings = DestinationSettings(
        id=f"01JDEST{n:019d}",
        name=f"SIEM {n}",
        type="webhook",
        url=f"https://siem{n}.example.com/hook",
        filters=DestinationFilters.model_validate(filters or {}),
        created_at=created,
    )
    return Stored(settings=settings, secrets=[SigningSecret(secret=SECRET)])


# --- in-memory ports ------------------------------------------------------------------------------------


class NoAlerts:
    """The router's read of a tenant's alerts, answering none (the streaming figures leave alerts out)."""

    def list_alerts(self, tenant: str) -> list[Any]:
        return []


class LeanDestinationStore:
    """The router's two store calls, in memory, without copies: tests/fakes.py's
    FakeDestinationStore deep-copies every destination it lists and every delivery it stores
    (pydantic `model_copy(deep=True)`), which costs more than routing (measured: `fake_overhead`)."""

    def __init__(self) -> None:
        self.by_tenant: dict[str, list[Stored]] = {}
        self.deliveries: list[tuple[str, str, Any, list[str]]] = []

    def put_destination(self, tenant: str, stored: Stored) -> None:
        self.by_tenant.setdefault(tenant, []).append(stored)

    def list_destinations(self, tenant: str) -> list[Stored]:
        return self.by_tenant.get(tenant, [])

    def put_delivery(
        self,
        tenant: str,
        destination_id: str,
        record: Any,
        event_ids: list[str],
        *,
        now: Any,
        open_marker: bool,
    ) -> None:
        self.deliveries.append((tenant, destination_id, record, event_ids))

    def delete_delivery(self, tenant: str, destination_id: str, record: Any) -> None:
        raise AssertionError("the bench's queue takes every message")


def _size(item: dict[str, Any] | None) -> int:
    """An item's size as DynamoDB bills it (names + values), with the 100 B overhead bench/cost.py
    also counts in write units (conservative)."""
    return cost.item_bytes(item) + cost.OVERHEAD if item else 0


def _kind(table: str, key: dict[str, Any]) -> str:
    """What an item is: the control table's by its sort key's prefix (DEST, DLV, OPEN), else "event"."""
    if table != CONTROL_TABLE:
        return "event"
    return key["sk"]["S"].split("#", 1)[0]


_SET = re.compile(r"(#?\w+) = (?:if_not_exists\((#?\w+), (:\w+)\)|(:\w+))")


class StubDynamo:
    """A DynamoDB client on dicts, for the calls dal/destinations.py and dal/events.py make here;
    counts requests by (operation, item kind) and, when `sizing`, the request units DynamoDB would
    bill (off while CPU is measured: sizing is the stub's work, not the function's)."""

    def __init__(self, sizing: bool = True) -> None:
        self.tables: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (table, pk) -> sk -> item
        self.requests: Counter[tuple[str, str]] = Counter()
        self.write_units: Counter[tuple[str, str]] = Counter()
        self.read_units: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.sizing = sizing

    def items(self, table: str) -> Iterator[dict[str, Any]]:
        for (name, _), partition in self.tables.items():
            if name == table:
                yield from partition.values()

    def put(self, table: str, item: dict[str, Any]) -> None:
        """Store an item without counting it (seeding)."""
        self.tables.setdefault((table, item["pk"]["S"]), {})[item.get("sk", {}).get("S", "")] = item

    def _partition(self, table: str, key: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault((table, key["pk"]["S"]), {})

    @staticmethod
    def _sk(key: dict[str, Any]) -> str:
        return str(key.get("sk", {}).get("S", ""))

    def _write(self, op: str, table: str, key: dict[str, Any], before: Any, after: Any) -> None:
        kind = (op, _kind(table, key))
        self.requests[kind] += 1
        if self.sizing:
            self.write_units[kind] += cost.write_units(max(_size(before), _size(after)))

    def _read(self, op: str, kind: str, size: Callable[[], int], consistent: bool) -> None:
        self.requests[(op, kind)] += 1
        if self.sizing:
            self.read_units[(op, kind)] += _read_units(size(), consistent)

    def put_item(self, *, TableName: str, Item: dict[str, Any], **kw: Any) -> dict[str, Any]:
        partition, sk = self._partition(TableName, Item), self._sk(Item)
        self._write("PutItem", TableName, Item, partition.get(sk), Item)
        partition[sk] = Item
        return {}

    def get_item(
        self,
        *,
        TableName: str,
        Key: dict[str, Any],
        ConsistentRead: bool = False,
        **kw: Any,
    ) -> Any:
        item = self._partition(TableName, Key).get(self._sk(Key))
        self._read("GetItem", _kind(TableName, Key), lambda: _size(item), ConsistentRead)
        return {"Item": item} if item else {}

    def query(
        self,
        *,
        TableName: str,
        ExpressionAttributeValues: dict[str, Any],
        ConsistentRead: bool = False,
        Limit: int | None = None,
        **kw: Any,
    ) -> Any:
        """`pk = :pk AND begins_with(sk, :p)` (list_destinations)."""
        pk, prefix = ExpressionAttributeValues[":pk"]["S"], ExpressionAttributeValues[":p"]["S"]
        partition = self.tables.get((TableName, pk), {})
        found = [partition[sk] for sk in sorted(partition) if sk.startswith(prefix)][:Limit]
        # a Query is billed on the sum of the items' sizes, rounded up to 4 KB, once
        self._read("Query", prefix.rstrip("#"), lambda: sum(_size(i) for i in found), ConsistentRead)
        return {"Items": found}

    def update_item(
        self,
        *,
        TableName: str,
        Key: dict[str, Any],
        UpdateExpression: str,
        ExpressionAttributeValues: dict[str, Any],
        ExpressionAttributeNames: dict[str, str] | None = None,
        ConditionExpression: str = "",
        ReturnValues: str = "NONE",
    ) -> Any:
        partition, sk = self._partition(TableName, Key), self._sk(Key)
        before = partition.get(sk)
        if before is None and "attribute_exists" in ConditionExpression:
            self.requests[("UpdateItem", _kind(TableName, Key))] += 1
            error = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "no item"}}
            raise ClientError(error, "UpdateItem")
        names = ExpressionAttributeNames or {}
        after = dict(before or Key)
        sets, _, removes = UpdateExpression.removeprefix("SET ").partition(" REMOVE ")
        for name, kept, kept_value, value in _SET.findall(sets):
            attribute = names.get(name, name)
            if kept:
                after.setdefault(attribute, ExpressionAttributeValues[kept_value])
            else:
                after[attribute] = ExpressionAttributeValues[value]
        for name in filter(None, (n.strip() for n in removes.split(","))):
            after.pop(names.get(name, name), None)
        self._write("UpdateItem", TableName, Key, before, after)
        partition[sk] = after
        return {"Attributes": after} if ReturnValues == "ALL_NEW" else {}

    def delete_item(self, *, TableName: str, Key: dict[str, Any], **kw: Any) -> Any:
        before = self._partition(TableName, Key).pop(self._sk(Key), None)
        self._write("DeleteItem", TableName, Key, before, None)
        return {"Attributes": before} if before and kw.get("ReturnValues") == "ALL_OLD" else {}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> Any:
        responses: dict[str, list[dict[str, Any]]] = {}
        for table, request in RequestItems.items():
            kind = ("BatchGetItem", _kind(table, request["Keys"][0]))
            self.requests[kind] += 1
            consistent = request.get("ConsistentRead", False)
            for key in request["Keys"]:
                item = self._partition(table, key).get(self._sk(key))
                if item is not None:
                    if self.sizing:  # each item of a BatchGetItem is rounded up to 4 KB on its own
                        self.read_units[kind] += _read_units(_size(item), consistent)
                    responses.setdefault(table, []).append(item)
        return {"Responses": responses, "UnprocessedKeys": {}}


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


class StubSqs:
    """The SQS calls of dal/delivery_queue.py: what was sent, and billed requests (64 KiB chunks)."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.requests: Counter[str] = Counter()

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> Any:
        payload = sum(len(e["MessageBody"].encode()) for e in Entries)
        self.requests["SendMessageBatch"] += max(1, math.ceil(payload / SQS_CHUNK))
        self.bodies += [e["MessageBody"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def change_message_visibility(self, **kw: Any) -> Any:
        self.requests["ChangeMessageVisibility"] += 1
        return {}


@dataclass
class Answer:
    delivered: bool = True
    http_status: int | None = 204
    error: str | None = None
    duration_ms: int = 0


@dataclass
class InstantWebhooks:
    """Every POST answered 204 at once (what the receiver's time costs is modelled: RECEIVER_MS)."""

    posts: int = 0
    body_bytes: int = 0

    def check(self, url: str) -> object:
        return url

    def post(self, url: str, body: bytes, headers: Any) -> Answer:
        self.posts += 1
        self.body_bytes += len(body)
        return Answer()


class _Context:
    def __init__(self, name: str, memory: int) -> None:
        self.function_name = name
        self.memory_limit_in_mb = memory
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.aws_request_id = "bench"
        self.function_version = "$LATEST"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@contextlib.contextmanager
def wired(**adapters: object) -> Iterator[None]:
    """The handlers on a container of their own whose adapters are `adapters`; the process's
    container and environment are put back afterwards."""
    from activitylog.handlers import wiring

    before = {name: os.environ.get(name) for name in ENV}
    for name, value in ENV.items():
        os.environ.setdefault(name, value)
    # The router also reads each tenant's alerts (alert_live.select): a tenant without alerts here,
    # so these figures are the destinations' path; bench/alerts.py measures the alerts' part.
    # It announces each (tenant, hour) to the rollup worker once per container (logic/rollups.py):
    # a message per hour, not per event; bench/reports.py measures rollups.
    adapters = {
        "alerts": NoAlerts(),
        "alert_queue": FakeQueue(),
        "rollup_queue": FakeQueue(),
        "rollups": FakeRollupStore(),  # late marks only (this workload has no late events)
        **adapters,
    }
    previous = wiring.use(wiring.Container(environ=dict(os.environ)).override(**adapters))
    try:
        yield
    finally:
        wiring.use(previous)
        for name, old in before.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def router_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from activitylog.handlers import stream_router  # validates its environment when it first loads

    return stream_router.handler


def deliverer_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from activitylog.handlers import deliverer

    return deliverer.handler


# --- 2. router CPU per event --------------------------------------------------------------------------


@dataclass
class CpuRow:
    tenants: int
    destinations: int
    lean: float  # s per event, in-memory store
    dal: float  # s per event, production DAL on stub clients
    deliveries: int  # per batch


def _seed(store: Any, tenants: int, destinations: int, created: datetime, filters: Any = None) -> None:
    for t in range(tenants):
        for d in range(destinations):
            store.put_destination(tenant_name(t), destination(d, created, filters))


def _dal(
    tenants: int, destinations: int, created: datetime, filters: Any = None, *, sizing: bool = True
) -> tuple[Any, Any, StubDynamo, StubSqs]:
    """The production DestinationTable and SqsDeliveryQueue on stub clients, destinations stored."""
    from activitylog.dal.delivery_queue import SqsDeliveryQueue
    from activitylog.dal.destinations import DestinationTable

    dynamo, sqs = StubDynamo(sizing=sizing), StubSqs()
    store = DestinationTable(CONTROL_TABLE, dynamo)
    _seed(store, tenants, destinations, created, filters)
    dynamo.requests.clear()
    dynamo.write_units.clear()
    return store, SqsDeliveryQueue(QUEUE_URL, sqs), dynamo, sqs


def router_cpu(config: Config, now: datetime, deployed: Deployed = Deployed()) -> tuple[float, list[CpuRow]]:
    """(floor s per event, the rows): best of `config.rounds` after a warm-up round; each round
    measures the floor, then every configuration, so drift hits them alike."""
    handler = router_handler
    created = now - timedelta(days=1)
    per_sample = config.batches_per_sample * deployed.router_batch
    batches = {
        t: [
            stream_batch(accepted(deployed.router_batch, t, now, f"c{t}b{b}"), b * deployed.router_batch)
            for b in range(config.batches_per_sample)
        ]
        for t in config.tenants
    }
    floor_bodies = ingest.bodies(100, 1_000, "floor")
    best_floor = math.inf
    lean: dict[tuple[int, int], float] = {}
    dal: dict[tuple[int, int], float] = {}
    deliveries: dict[tuple[int, int], int] = {}
    context = _Context("StreamRouter", deployed.router_mb)
    for round_ in range(config.rounds + 1):
        floor = ingest.cpu_per_event(ingest.floor, floor_bodies, 1_000)
        for t in config.tenants:
            for d in config.destinations:
                store, queue = LeanDestinationStore(), FakeQueue()
                _seed(store, t, d, created)
                with wired(destinations=store, delivery_queue=queue):
                    run = handler()
                    started = time.process_time()
                    for batch in batches[t]:
                        assert run(batch, context) == {"batchItemFailures": []}
                    sample = (time.process_time() - started) / per_sample
                deliveries[(t, d)] = len(queue.sent) // config.batches_per_sample
                table, sqs_queue, _, _ = _dal(t, d, created, sizing=False)
                with wired(destinations=table, delivery_queue=sqs_queue):
                    run = handler()
                    started = time.process_time()
                    for batch in batches[t]:
                        assert run(batch, context) == {"batchItemFailures": []}
                    sample_dal = (time.process_time() - started) / per_sample
                if round_:
                    lean[(t, d)] = min(lean.get((t, d), math.inf), sample)
                    dal[(t, d)] = min(dal.get((t, d), math.inf), sample_dal)
        if round_:
            best_floor = min(best_floor, floor)
    rows = [
        CpuRow(t, d, lean[(t, d)], dal[(t, d)], deliveries[(t, d)])
        for t in config.tenants
        for d in config.destinations
    ]
    return best_floor, rows


def fake_overhead(now: datetime, tenants: int = 100, destinations: int = 5) -> tuple[float, float]:
    """(s per event with tests/fakes.py's FakeDestinationStore, with the lean store): what the
    fake's deep copies would add to the router's CPU."""
    from tests.fakes import FakeDestinationStore

    batch = stream_batch(accepted(500, tenants, now, "fo"))
    out = []
    for store in (FakeDestinationStore(), LeanDestinationStore()):
        _seed(store, tenants, destinations, now - timedelta(days=1))
        with wired(destinations=store, delivery_queue=FakeQueue()):
            run = router_handler()
            run(batch, _Context("StreamRouter", 1024))
            started = time.process_time()
            run(batch, _Context("StreamRouter", 1024))
            out.append((time.process_time() - started) / 500)
    return out[0], out[1]


PROFILED = (
    "handlers/stream_router.py:parse",
    "batch/base.py:process",
    "logic/stream_router.py:route",
    "logic/stream_router.py:received_at",
    "query_plan.py:matches_document",
    "logic/stream_router.py:cut",
    "logic/stream_router.py:create_deliveries",
    "dal/destinations.py:list_destinations",
    "dal/destinations.py:put_delivery",
    "dal/delivery_queue.py:send",
)


def router_profile(now: datetime, tenants: int = 100, destinations: int = 5) -> dict[str, float]:
    """Cumulative share of the handler's CPU (production DAL on stubs) of named functions."""
    batch = stream_batch(accepted(500, tenants, now, "pr"))
    table, queue, _, _ = _dal(tenants, destinations, now - timedelta(days=1), sizing=False)
    with wired(destinations=table, delivery_queue=queue):
        run = router_handler()
        run(batch, _Context("StreamRouter", 1024))
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(3):
            run(batch, _Context("StreamRouter", 1024))
        profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    whole = sum(v[2] for v in raw.values()) or 1.0
    shares = {}
    for wanted in PROFILED:
        found = [v[3] for func, v in raw.items() if ingest._name(func).endswith(wanted)]
        shares[wanted] = 100 * max(found, default=0.0) / whole
    return shares


# --- 3. deliveries per 1,000 events, and what each costs -----------------------------------------------


@dataclass
class Mix:
    tenants: int
    selection: str  # "all" or "10%"
    events: int  # stream records routed
    selected: int  # (event, destination) pairs routed
    deliveries: int
    router_requests: dict[str, float]  # per batch: "Query", "PutItem DLV", ...
    router_write_units: float  # per batch
    router_read_units: float
    sqs_send_requests: float  # per batch
    router_cpu_s: float  # per batch (production DAL on stubs)
    deliverer_requests: dict[str, float]  # per delivery
    deliverer_write_units: float  # per delivery
    deliverer_read_units: float  # per delivery
    deliverer_cpu_s: float  # per delivery
    ledger_bytes: float  # per delivery: ledger item + open marker, stored
    posts: int
    batches: int

    @property
    def per_thousand(self) -> float:
        return 1_000 * self.deliveries / self.events

    @property
    def events_per_delivery(self) -> float:
        return self.selected / self.deliveries if self.deliveries else 0.0


def _sqs_records(bodies: Sequence[str]) -> list[dict[str, Any]]:
    return [
        {
            "messageId": f"m{n}",
            "receiptHandle": f"h{n}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": QUEUE_ARN,
            "awsRegion": REGION,
        }
        for n, body in enumerate(bodies)
    ]


def _per(counter: Mapping[tuple[str, str], float], n: float) -> dict[str, float]:
    return {f"{op} {kind}": count / n for (op, kind), count in sorted(counter.items())}


def measure_mix(
    tenants: int, selection: str, now: datetime, deployed: Deployed = Deployed(), batches: int = 4
) -> Mix:
    """Batches of `deployed.router_batch` records from `tenants` tenants, one destination each
    (`selection`: all events, or the 10 % filter), through the production router and deliverer."""
    from activitylog.dal.events import DynamoEventStore

    filters = TEN_PERCENT if selection == "10%" else None
    store, queue, dynamo, sqs = _dal(tenants, 1, now - timedelta(days=1), filters)
    size = deployed.router_batch
    records = accepted(size * batches, tenants, now, f"m{tenants}{selection[:2]}")
    for record in records:  # the events table, for the deliverer's reads by id
        item = to_items(record)[0]
        dynamo.put(EVENTS_TABLE, item)
    events_store = DynamoEventStore(EVENTS_TABLE, dynamo)
    webhooks = InstantWebhooks()
    context = _Context("StreamRouter", deployed.router_mb)
    with wired(destinations=store, delivery_queue=queue, events=events_store, webhooks=webhooks):
        run = router_handler()
        started = time.process_time()
        for b in range(batches):
            event = stream_batch(records[b * size : (b + 1) * size], b * size)
            assert run(event, context) == {"batchItemFailures": []}
        router_cpu_s = (time.process_time() - started) / batches
        router_requests = _per(dynamo.requests, batches)
        router_wu = sum(dynamo.write_units.values()) / batches
        router_ru = sum(dynamo.read_units.values()) / batches
        ledger = [i for i in dynamo.items(CONTROL_TABLE) if i["sk"]["S"].startswith("DLV#")]
        ledger_bytes = sum(_size(i) for i in ledger)  # the open markers go at delivery: not kept
        selected = sum(len(json.loads(i["ids"]["S"])) for i in ledger)
        sends = sqs.requests["SendMessageBatch"] / batches
        bodies = list(sqs.bodies)
        dynamo.requests.clear()
        dynamo.write_units.clear()
        dynamo.read_units.clear()
        deliver = deliverer_handler()
        deliverer_context = _Context("Deliverer", deployed.deliverer_mb)
        messages = _sqs_records(bodies)
        started = time.process_time()
        for first in range(0, len(messages), deployed.deliverer_batch):
            answer = deliver(
                {"Records": messages[first : first + deployed.deliverer_batch]}, deliverer_context
            )
            assert answer == {"batchItemFailures": []}, answer
        n = max(1, len(bodies))
        deliverer_cpu_s = (time.process_time() - started) / n
    return Mix(
        tenants=tenants,
        selection=selection,
        events=len(records),
        selected=selected,
        deliveries=len(bodies),
        router_requests=router_requests,
        router_write_units=router_wu,
        router_read_units=router_ru,
        sqs_send_requests=sends,
        router_cpu_s=router_cpu_s,
        deliverer_requests=_per(dynamo.requests, n),
        deliverer_write_units=sum(dynamo.write_units.values()) / n,
        deliverer_read_units=sum(dynamo.read_units.values()) / n,
        deliverer_cpu_s=deliverer_cpu_s,
        ledger_bytes=ledger_bytes / n,
        posts=webhooks.posts,
        batches=batches,
    )


# --- 4. cost per million events -----------------------------------------------------------------------


@dataclass
class StreamCost:
    mix: Mix
    lines: dict[str, float] = field(default_factory=dict)  # $ per million events
    router_ms: float = 0.0  # billed per invocation
    deliverer_ms: float = 0.0  # billed per delivery (one message per invocation)

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def router_calls(mix: Mix) -> float:
    """AWS requests one router invocation makes (DynamoDB and SQS)."""
    return sum(mix.router_requests.values()) + mix.sqs_send_requests


def router_wall_calls(mix: Mix) -> float:
    """The requests on an invocation's critical path: a tenant's are sequential, and the router
    routes ROUTE_THREADS tenants at once (logic/stream_router.py), so with T tenants of equal
    traffic a batch waits for ceil(T / ROUTE_THREADS) tenants' requests in a row."""
    from activitylog.logic.stream_router import ROUTE_THREADS

    tenants = max(1, mix.tenants)
    return router_calls(mix) / tenants * math.ceil(tenants / ROUTE_THREADS)


def deliverer_calls(mix: Mix) -> float:
    """AWS requests per delivery (DynamoDB), the webhook POST aside."""
    return sum(mix.deliverer_requests.values())


def streaming_cost(
    mix: Mix, deployed: Deployed = Deployed(), call_ms: float = CALL_MS, receiver_ms: float = RECEIVER_MS
) -> StreamCost:
    """$ per million events accepted, for full router batches and one message per deliverer
    invocation (the conservative end: a backlog gives up to `deliverer_batch` per invocation)."""
    m = 1e6
    invocations = m / deployed.router_batch
    deliveries = m * mix.deliveries / mix.events
    c = StreamCost(mix)
    c.router_ms = math.ceil(mix.router_cpu_s * 1e3 + router_wall_calls(mix) * call_ms)
    c.deliverer_ms = math.ceil(mix.deliverer_cpu_s * 1e3 + deliverer_calls(mix) * call_ms + receiver_ms)
    gb_s = cost.LAMBDA_GB_S
    c.lines["DynamoDB Streams reads (GetRecords by the Lambda mapping)"] = 0.0
    c.lines["Lambda requests: router"] = invocations * cost.LAMBDA_REQUEST
    c.lines["Lambda GB-s: router"] = invocations * c.router_ms / 1e3 * deployed.router_mb / 1024 * gb_s
    c.lines["Lambda requests: deliverer"] = deliveries * cost.LAMBDA_REQUEST
    c.lines["Lambda GB-s: deliverer"] = (
        deliveries * c.deliverer_ms / 1e3 * deployed.deliverer_mb / 1024 * gb_s
    )
    sqs_requests = invocations * mix.sqs_send_requests + deliveries * 2  # + ReceiveMessage + DeleteMessage
    c.lines["SQS requests (send, receive, delete)"] = sqs_requests * SQS_REQUEST
    writes = invocations * mix.router_write_units + deliveries * mix.deliverer_write_units
    reads = invocations * mix.router_read_units + deliveries * mix.deliverer_read_units
    c.lines["control table writes (ledger, marker, state)"] = writes * cost.WRITE_UNIT
    c.lines["reads (destinations, ledger, events by id)"] = reads * cost.READ_UNIT
    c.lines["control table storage (ledger, 30 days)"] = (
        deliveries * mix.ledger_bytes / cost.GB * cost.STORAGE_STANDARD * LEDGER_MONTHS
    )
    return c


# --- 1. latency in local mode -------------------------------------------------------------------------


@dataclass
class Invocation:
    kind: str  # "router" or "deliverer"
    started: float  # perf_counter
    seconds: float
    cpu: float  # the poller thread's CPU time during the call (the function, boto3; not moto)
    records: list[dict[str, Any]]


class Receiver:
    """A webhook receiver on 127.0.0.1: the time each event id first arrived, and repeats."""

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.repeats = 0
        self.posts = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                at = time.perf_counter()
                ids = [e["id"] for e in json.loads(body)["data"]["events"]]
                with receiver._lock:
                    receiver.posts += 1
                    for event_id in ids:
                        if event_id in receiver.received:
                            receiver.repeats += 1
                        else:
                            receiver.received[event_id] = at
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="bench-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _timed(poller: Any, kind: str, log: list[Invocation]) -> None:
    original = poller.invoke

    def invoke(function: str, event: Any) -> Any:
        cpu, started = time.thread_time(), time.perf_counter()
        try:
            return original(function, event)
        finally:
            seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
            log.append(Invocation(kind, started, seconds, cpu, list(event.get("Records", []))))

    poller.invoke = invoke


def deployed_of(stack: Any) -> Deployed:
    """The streaming settings of the synthesized template the stack deployed."""
    router = next(p.mapping for p in stack.streams if "Router" in p.mapping.function)
    queue = next(q.mapping for q in stack.queues if "Deliverer" in q.mapping.function)
    memory = {f.name: f.memory_mb for f in stack.deployment.functions()}
    concurrency = Deployed.deliverer_concurrency
    for name, logical_id, resource in stack.deployment.of_type("AWS::Lambda::EventSourceMapping"):
        if logical_id == queue.logical_id:
            props = stack.deployment.resolve(name, resource["Properties"])
            concurrency = int((props.get("ScalingConfig") or {}).get("MaximumConcurrency", concurrency))
    return Deployed(
        router_batch=router.batch_size,
        router_window_s=router.window_seconds,
        deliverer_batch=queue.batch_size,
        deliverer_concurrency=concurrency,
        router_mb=memory[router.function],
        deliverer_mb=memory[queue.function],
    )


@dataclass
class Latency:
    startup_s: float
    sent: int
    send_s: float  # from the first POST to the last answer
    post_ms: list[float]  # answer time of each POST /v1/events
    late: int  # POSTs sent more than 50 ms after their time on the schedule (the previous one was slow)
    latencies: dict[str, float]  # event id -> seconds, acceptance to receipt
    stages: dict[str, list[float]]  # per event: to the router, in the router, router to receipt
    invocations: list[Invocation]
    repeats: int
    posts: int
    deployed: Deployed
    drained: bool


def measure_latency(config: Config) -> Latency:
    import requests
    from activitylog_ops.local.service import LocalService

    stack = LocalService(port=0, env_file=None, auto_fire=False)
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    log: list[Invocation] = []
    try:
        deployed = deployed_of(stack)
        for poller in stack.streams:
            _timed(poller, "router", log)
        for queue_poller in stack.queues:
            if "Deliverer" in queue_poller.mapping.function:
                _timed(queue_poller, "deliverer", log)
        url, key = stack.env["ACTIVITYLOG_API_URL"], stack.env["ACTIVITYLOG_API_KEY"]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        with Receiver() as receiver:
            answer = session.post(
                f"{url}/v1/destinations",
                json={"name": "bench", "type": "webhook", "url": receiver.url},
                timeout=30,
            )
            assert answer.status_code == 201, answer.text
            now = datetime.now(UTC)
            events = raw_events(
                config.events, now - timedelta(minutes=1), timedelta(milliseconds=10), prefix="lat"
            )
            accepted_at: dict[str, float] = {}
            post_ms = []
            late = 0
            first = time.perf_counter()
            for n, start in enumerate(range(0, len(events), config.per_request)):
                delay = first + n * config.interval_s - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                late += delay < -0.05
                chunk = events[start : start + config.per_request]
                sent = time.perf_counter()
                answer = session.post(f"{url}/v1/events", json={"events": chunk}, timeout=30)
                at = time.perf_counter()
                assert answer.status_code == 200 and answer.json()["accepted"] == len(chunk), answer.text
                post_ms.append((at - sent) * 1e3)
                accepted_at.update((e["id"], at) for e in chunk)
            send_s = time.perf_counter() - first
            deadline = time.perf_counter() + config.timeout_s
            while len(receiver.received) < len(accepted_at) and time.perf_counter() < deadline:
                time.sleep(0.05)
            drained = True
            try:
                stack.drain_streaming(timeout=30)
            except TimeoutError:
                drained = False
            received = dict(receiver.received)
            repeats, posts = receiver.repeats, receiver.posts
    finally:
        stack.stop()
    latencies = {i: received[i] - at for i, at in accepted_at.items() if i in received}
    return Latency(
        startup_s=startup,
        sent=len(accepted_at),
        send_s=send_s,
        post_ms=post_ms,
        late=late,
        latencies=latencies,
        stages=stages(log, accepted_at, received),
        invocations=log,
        repeats=repeats,
        posts=posts,
        deployed=deployed,
        drained=drained,
    )


def stages(
    log: Sequence[Invocation], accepted_at: dict[str, float], received: dict[str, float]
) -> dict[str, list[float]]:
    """Per delivered event: acceptance to the router's invocation, the invocation, its end to receipt."""
    routed: dict[str, tuple[float, float]] = {}
    for call in log:
        if call.kind != "router":
            continue
        for record in call.records:
            event_id = json.loads(record["dynamodb"]["NewImage"]["d"]["S"])["id"]
            routed.setdefault(event_id, (call.started, call.started + call.seconds))
    out: dict[str, list[float]] = {"to the router": [], "router": [], "router to receipt": []}
    for event_id, at in accepted_at.items():
        if event_id not in routed or event_id not in received:
            continue
        begin, end = routed[event_id]
        out["to the router"].append(begin - at)
        out["router"].append(end - begin)
        out["router to receipt"].append(received[event_id] - end)
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of `values`."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


# --- the run and the report -----------------------------------------------------------------------------


@dataclass
class Results:
    config: Config
    latency: Latency | None
    floor: float
    cpu: list[CpuRow]
    fake: tuple[float, float]
    profile: dict[str, float]
    mixes: list[Mix]
    costs: list[StreamCost]
    deployed: Deployed


def measure(config: Config) -> Results:
    latency = None
    if config.latency:
        print(f"streaming: local stack, {config.events:,} events to a webhook ...", flush=True)
        latency = measure_latency(config)
    deployed = latency.deployed if latency else Deployed()
    now = datetime.now(UTC) - timedelta(seconds=5)
    print("streaming: router CPU per event, deliveries per mix ...", flush=True)
    floor, cpu = router_cpu(config, now, deployed)
    fake = fake_overhead(now)
    profile = router_profile(now)
    mixes = [measure_mix(t, s, now, deployed) for t, s in config.mixes]
    costs = [streaming_cost(m, deployed) for m in mixes]
    return Results(config, latency, floor, cpu, fake, profile, mixes, costs, deployed)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f}"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f}"


def _money(x: float) -> str:
    return f"${x:,.3f}" if x >= 0.001 or x == 0 else f"${x:,.5f}"


WIDTH = 100  # of the prose lines written


def para(*parts: str) -> list[str]:
    """One paragraph (the parts joined), wrapped."""
    return textwrap.wrap("".join(parts), WIDTH, break_on_hyphens=False)


def bullet(*parts: str) -> list[str]:
    """One list item (the parts joined), wrapped and indented under its dash."""
    text = "".join(parts)
    return textwrap.wrap(text, WIDTH, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False)


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render_latency(lat: Latency, config: Config, own_cpu: float | None = None) -> list[str]:
    """`own_cpu`: the router handler's own CPU per record (section 2), to compare with its thread CPU."""
    values = list(lat.latencies.values())
    lost = lat.sent - len(values)
    routers = [c for c in lat.invocations if c.kind == "router"]
    deliverers = [c for c in lat.invocations if c.kind == "deliverer"]
    d = lat.deployed
    rate = config.per_request / config.interval_s
    lines = [
        "### 1. Delivery latency, acceptance to the receiver (local mode)",
        "",
        *para(
            f"`LocalService` (start-up with CDK synthesis: {lat.startup_s:.0f} s); one webhook destination ",
            "created with `POST /v1/destinations` (the demo key), its URL a receiver on 127.0.0.1 ",
            "(`http.server` in a thread, answering 204). ",
            f"{lat.sent:,} events sent with `POST /v1/events`, {config.per_request} per request, one "
            "request ",
            f"every {config.interval_s:g} s ({rate:,.0f} events/s) on a fixed schedule, one request at a "
            "time: ",
            "a steady stream, not a burst. The pace is what local ingestion sustains: a POST of ",
            f"{config.per_request} events took {statistics.median(lat.post_ms):,.0f} ms median ",
            f"({max(lat.post_ms):,.0f} ms at most; {lat.late} of {len(lat.post_ms)} requests went out late, ",
            f"after a slow one); all were sent in {lat.send_s:.0f} s. An event's latency: the receiver's ",
            "arrival time of its id minus the time its POST was answered (one clock, one process).",
        ),
        "",
        "| events | delivered | p50 | p90 | p99 | max | repeats at the receiver |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        row(
            f"{lat.sent:,}",
            f"{len(values):,}",
            *(f"{_ms(percentile(values, p))} ms" for p in (50, 90, 99, 100)),
            lat.repeats,
        ),
        "",
        *para(
            "Where the time goes, per event: *to the router*, from acceptance to the start of the router ",
            "invocation that carried it (the stream poll, the batching window, moto's stream read); "
            "*router*, ",
            "that invocation; *router to receipt*, from its end to the receiver (the SQS poll, the ",
            "deliverer's reads, signing, the POST).",
        ),
        "",
        "| stage | p50 | p99 |",
        "|---|---:|---:|",
    ]
    for name, stage in lat.stages.items():
        lines.append(row(name, f"{_ms(percentile(stage, 50))} ms", f"{_ms(percentile(stage, 99))} ms"))
    lines += [
        "",
        "| local invocations | count | records per invocation (mean) | wall ms p50 / max | thread CPU ms "
        "p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, calls in (("StreamRouter", routers), ("Deliverer", deliverers)):
        walls = [c.seconds for c in calls]
        lines.append(
            row(
                name,
                len(calls),
                f"{statistics.mean([len(c.records) for c in calls] or [0]):,.1f}",
                f"{_ms(percentile(walls, 50))} / {_ms(max(walls, default=0.0))}",
                _ms(percentile([c.cpu for c in calls], 50)),
            )
        )
    arrived = "Every event arrived" if not lost else f"**{lost} events did not arrive**"
    quiet = "" if lat.drained else " (the pipeline was not quiet 30 s after the last one)"
    lines += [
        "",
        *para(
            f"{arrived}{quiet}, in {lat.posts} webhook POSTs. *thread CPU*: the poller thread's CPU time ",
            "during the invocation: the function and its boto3 clients, not moto's server threads.",
            boto3_share(routers, own_cpu),
        ),
        "",
        "What local mode adds or lacks compared with AWS:",
        "",
        *bullet(
            "The stream poller (`activitylog_ops.local.streams`) reads every 0.1 s and, when it finds fewer ",
            f"than {d.router_batch} records, waits the mapping's {d.router_window_s:g} s batching window "
            "and ",
            "reads again: the window is most of *to the router*. Lambda's poller also waits up to the "
            "window ",
            "(polling a shard about 4 times a second); AWS adds the stream's own propagation (usually well ",
            "under a second) and none of moto's time.",
        ),
        *bullet(
            "The SQS poller long-polls (1 s `WaitTimeSeconds`; moto answers as soon as a message arrives), ",
            f"one batch of up to {d.deliverer_batch} at a time; on AWS up to {d.deliverer_concurrency} ",
            "deliverers run at once, Lambda's pollers long-poll too.",
        ),
        *bullet(
            "No Lambda cold starts: every function is imported once in this process; on AWS a new container ",
            "adds its init (about 0.3-1 s, REFERENCE.md) to the first events it handles. No network: the ",
            "receiver is on loopback and the AWS APIs are moto in this process; on AWS each DynamoDB or SQS ",
            "call is a few ms away and the tenant's endpoint an internet round trip (and a TLS handshake).",
        ),
        *bullet(
            "One process: the gateway, moto, the pollers, the functions and the receiver share one GIL and ",
            "this machine's cores, so local wall times include waiting for moto and for each other.",
        ),
    ]
    return lines


def boto3_share(routers: Sequence[Invocation], own_cpu: float | None) -> str:
    """A sentence: how much of the router's local thread CPU its own code explains (the rest: boto3)."""
    if own_cpu is None or not routers:
        return ""
    cpu = percentile([c.cpu for c in routers], 50)
    records = statistics.median([len(c.records) for c in routers])
    own = own_cpu * records
    return (
        f" Of a router invocation's {_ms(cpu)} ms (p50, {records:g} records), its handler's own work is "
        "about "
        f"{own * 1e3:,.1f} ms (section 2: {_us(own_cpu)} µs per record, one tenant, one destination): the "
        "rest "
        "is its boto3 clients building, signing and parsing its requests (a Query, two PutItems and a "
        "SendMessageBatch for one delivery), CPU that a Lambda is billed for too."
    )


def render_cpu(results: Results) -> list[str]:
    floor = results.floor
    with_fake, lean = results.fake
    lines = [
        "### 2. Router CPU per event vs the ingest floor",
        "",
        *para(
            "The production handler (`handlers/stream_router.py`, Powertools' batch utility included) on ",
            f"batches of {results.deployed.router_batch} stream records (the event items of documents ",
            "`logic.ingest.prepare` produced, in Lambda's DynamoDB Streams record shape, tenants "
            "interleaved), ",
            "destinations without filters (every event goes to each). `time.process_time`, best of ",
            f"{results.config.rounds} rounds after a warm-up round, {results.config.batches_per_sample} ",
            "batches per sample; each round first measures the ingest floor (`bench.ingest.floor`, batches "
            "of ",
            f"100: {_us(floor)} µs per event in this run). *lean*: an in-memory destination store and ",
            "`tests.fakes.FakeQueue`, so only the router's own CPU counts; *DAL*: the production ",
            "`DestinationTable` and `SqsDeliveryQueue` on stub clients (adds parsing each destination item "
            "and ",
            "building ledger items and messages). Neither includes botocore's request building or HTTP.",
        ),
        "",
        "| tenants per batch | destinations per tenant | deliveries per batch | lean µs/event | lean / floor "
        "| DAL µs/event | DAL / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results.cpu:
        lines.append(
            row(
                r.tenants,
                r.destinations,
                r.deliveries,
                _us(r.lean),
                f"{r.lean / floor:.2f}x",
                _us(r.dal),
                f"{r.dal / floor:.2f}x",
            )
        )
    lines += [
        "",
        *para(
            "`tests/fakes.py`'s `FakeDestinationStore` is not used here: it deep-copies every destination "
            "it ",
            "lists and every delivery it stores, which costs more than routing: with it, 100 tenants x 5 ",
            f"destinations cost {_us(with_fake)} µs per event instead of {_us(lean)} µs.",
        ),
        "",
        "Where the DAL run's CPU goes at 100 tenants x 5 destinations (cProfile, cumulative share):",
        "",
        "| function | cumulative % |",
        "|---|---:|",
    ]
    lines += [row(f"`{name}`", f"{share:.0f}%") for name, share in results.profile.items()]
    return lines


def _requests_text(requests: Mapping[str, float], digits: int = 1) -> str:
    return ", ".join(f"{name} {count:,.{digits}f}" for name, count in requests.items())


def render_mixes(results: Results) -> list[str]:
    d = results.deployed
    lines = [
        "### 3. Deliveries per 1,000 events",
        "",
        *para(
            f"Batches of {d.router_batch} stream records (full batches: a shard with at least ",
            f"{d.router_batch} new events per {d.router_window_s:g} s window), the tenants' events ",
            "interleaved in a shuffled order, each tenant with one webhook destination; *10%*: its filter "
            "is ",
            f"`{json.dumps(TEN_PERCENT)}`, which selects the workload's events with the folder target ",
            "*Finance* (every 10th). Counted from the production router (handler, logic, "
            "`DestinationTable`, ",
            "`SqsDeliveryQueue`) on stub clients, over ",
            f"{results.mixes[0].batches} batches; its messages then went through the production deliverer ",
            f"handler in SQS batches of {d.deliverer_batch}, every webhook POST answered 204.",
        ),
        "",
        "| tenants per batch | selected | deliveries (= SQS messages) per 1,000 events | events per delivery "
        "| SendMessageBatch per 1,000 | ledger writes per 1,000 (item + marker) | router requests per batch "
        "|",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for m in results.mixes:
        per_k = 1_000 / m.events * m.batches
        ledger = (m.router_requests.get("PutItem DLV", 0) + m.router_requests.get("PutItem OPEN", 0)) * per_k
        requests = {**m.router_requests, "SendMessageBatch": m.sqs_send_requests}
        lines.append(
            row(
                m.tenants,
                f"{m.selection} ({m.selected / m.events:.0%})",
                f"{m.per_thousand:,.1f}",
                f"{m.events_per_delivery:,.1f}",
                f"{m.sqs_send_requests * per_k:,.1f}",
                f"{ledger:,.1f}",
                _requests_text(requests, 0),
            )
        )
    first = results.mixes[0]
    lines += [
        "",
        *para(
            "Per delivery the deliverer makes these DynamoDB requests (the same in every mix): ",
            _requests_text(first.deliverer_requests),
            "; and one webhook POST. Its SQS message costs a ReceiveMessage and a DeleteMessage (or a share ",
            "of them: Lambda's poller), a ChangeMessageVisibility only when an attempt fails. *DLV*: ledger ",
            "item, *OPEN*: open marker, *DEST*: destination, *event*: the events table.",
        ),
    ]
    return lines


def render_cost_summary(results: Results) -> list[str]:
    lines = [
        "### 4. Cost per million events",
        "",
        *para(
            "The model and its assumptions: [cost.md, Streaming](cost.md#streaming). Per million events ",
            "accepted, each tenant with one webhook destination:",
        ),
        "",
        "| tenants per batch | selected | deliveries per million | $ per million events |",
        "|---:|---|---:|---:|",
    ]
    for c in results.costs:
        m = c.mix
        lines.append(row(m.tenants, m.selection, f"{1e6 * m.deliveries / m.events:,.0f}", _money(c.total)))
    return lines


def cpu_finding(results: Results) -> list[str]:
    """The router's CPU in a sentence: per record, per delivery, against the floor."""
    rows = {(r.tenants, r.destinations): r for r in results.cpu}
    many = (max(results.config.tenants), max(results.config.destinations))
    none = rows.get((many[0], 0))
    one = rows.get((many[0], 1))
    busiest = rows.get(many)
    if none is None or one is None or busiest is None or not busiest.deliveries:
        return []
    batch = results.deployed.router_batch
    lean = (busiest.lean - none.lean) * batch / busiest.deliveries
    dal = (busiest.dal - none.dal) * batch / busiest.deliveries
    return bullet(
        f"**The router's CPU is small**: about {_us(min(r.lean for r in results.cpu))} µs per record ",
        "(Powertools' batch utility, `json.loads` of the document) and, per delivery, about ",
        f"{lean * 1e6:,.0f} µs of the router's own code or {dal * 1e6:,.0f} µs with the DAL (which parses ",
        "every destination item of every tenant in every batch, `list_destinations`, and serialises the ",
        f"ledger items, `put_delivery`: the profile above). That is {one.dal / results.floor:.2f}x the ",
        f"ingest floor per event at {many[0]} tenants with one destination each, ",
        f"{busiest.dal / results.floor:.2f}x at {many[1]} destinations each ({busiest.deliveries} "
        "deliveries ",
        "per batch); a batch's time goes to its round trips (next point).",
    )


def render_findings(results: Results) -> list[str]:
    d = results.deployed
    worst = max(results.mixes, key=router_calls)
    seconds = router_wall_calls(worst) * CALL_MS / 1e3 + worst.router_cpu_s
    per_batch = worst.events / worst.batches
    one = next((m for m in results.mixes if m.tenants == 1 and m.selection == "all"), results.mixes[0])
    one_cost = next(c for c in results.costs if c.mix is one)
    worst_cost = next(c for c in results.costs if c.mix is worst)
    ledger_units = cost.write_units(round(one.ledger_bytes))
    per_delivery_units = one.router_write_units * one.batches / one.deliveries + one.deliverer_write_units
    deliveries_per_s = d.deliverer_concurrency / (worst_cost.deliverer_ms / 1e3)
    slow_per_s = d.deliverer_concurrency / ((worst_cost.deliverer_ms - RECEIVER_MS + 1_000) / 1e3)
    per_event = worst.deliveries / worst.events
    return [
        "### What this shows",
        "",
        *cpu_finding(results),
        *bullet(
            "**The router's AWS calls are sequential within a tenant, 16 tenants at a time**: per batch one "
            "consistent Query per tenant, then per ",
            "delivery a PutItem of the ledger item and a PutItem of its open marker, and a SendMessageBatch ",
            f"per tenant's destination. At {worst.tenants} tenants per batch (one destination each) that is ",
            f"{router_calls(worst):,.0f} requests per batch of {per_batch:,.0f}, about {seconds:,.1f} s at ",
            "the critical path's ",
            f"{CALL_MS:.0f} ms each, while its CPU is {worst.router_cpu_s * 1e3:,.0f} ms: one shard's "
            "router ",
            f"keeps up with about {per_batch / seconds:,.0f} events/s of such traffic (the mapping reads a ",
            "shard one batch at a time; no `ParallelizationFactor` is set). Writing ledger items and "
            "markers ",
            "with BatchWriteItem (25 a call), sharing SendMessageBatch calls across a batch's deliveries "
            "(10 a ",
            "call) would cut the requests to tens; a parallelization factor above 1 would multiply a "
            "shard's throughput (issue #19).",
        ),
        *bullet(
            f"**A ledger item carries its events' ids**: {one.ledger_bytes:,.0f} B for a delivery of ",
            f"{one.events_per_delivery:,.0f} events, so its PutItem costs {ledger_units} write units and "
            "the ",
            f"deliverer's UpdateItem of `doc` and `st` another {ledger_units} (an update is billed on the "
            "whole ",
            f"item): {2 * ledger_units} of the {per_delivery_units:,.0f} write units of such a delivery. ",
            "Keeping the ids in an item of their own (written once, read by the deliverer) would bill the ",
            f"status update at one unit instead of {ledger_units}.",
        ),
        *bullet(
            "**Deliveries, not events, drive the cost**: a tenant's events of one router batch share ",
            f"deliveries of up to 100, so many small tenants per batch ({worst.tenants}: ",
            f"{_money(worst_cost.total)} per million events, against {_money(one_cost.total)} for one "
            "tenant) ",
            "or a quiet stream (a batch holds what one window gathers) mean many small deliveries, each "
            "with ",
            "its fixed Lambda, SQS and ledger costs.",
        ),
        *bullet(
            f"**The deliverer's ceiling**: at most {d.deliverer_concurrency} deliverers at once, each "
            "handling ",
            f"its batch's messages one after the other: about {deliveries_per_s:,.0f} deliveries/s with ",
            f"endpoints answering in {RECEIVER_MS:.0f} ms ({slow_per_s:,.0f}/s if they take 1 s). At ",
            f"{worst.tenants} tenants per batch ({per_event:.2f} deliveries per event) that is about ",
            f"{deliveries_per_s / per_event:,.0f} events/s ({slow_per_s / per_event:,.0f} with 1 s "
            "endpoints) ",
            "before the queue grows; slow endpoints take that concurrency from fast ones.",
        ),
    ]


def render(results: Results) -> str:
    d = results.deployed
    source = " (read from the synthesized template)" if results.latency else ""
    lines = [
        "## Streaming (issue #15): latency, router CPU, deliveries, cost",
        "",
        report.stamp(),
        "",
        *para(
            'No goal is set for these numbers (issue #15, "Numbers"); each is measured on the code path ',
            "production runs, and where it is not the text says so. Template settings used",
            f"{source}: router batches of {d.router_batch}, a {d.router_window_s:g} s batching window, ",
            f"{d.router_mb} MB; deliverer batches of {d.deliverer_batch}, at most {d.deliverer_concurrency} ",
            f"at once, {d.deliverer_mb} MB.",
        ),
        "",
    ]
    if results.latency is not None:
        own = next((r.lean for r in results.cpu if (r.tenants, r.destinations) == (1, 1)), None)
        lines += [*render_latency(results.latency, results.config, own), ""]
    lines += [*render_cpu(results), ""]
    lines += [*render_mixes(results), ""]
    lines += [*render_cost_summary(results), ""]
    lines += render_findings(results)
    return "\n".join(lines)


COST_MARKER = "streaming"


def _label(c: StreamCost) -> str:
    return f"{c.mix.tenants} tenant{'s' if c.mix.tenants > 1 else ''}, {c.mix.selection}"


def cost_section(results: Results) -> str:
    d = results.deployed
    costs = results.costs
    when = report.stamp().removeprefix("Measured ").rstrip(".")
    lines = [
        "",
        "## Streaming",
        "",
        *para(
            f"Measured by `python -m bench streaming` ({when}; details in benchmarks.md). What streaming ",
            "destinations add per million events accepted, each tenant with one webhook destination, for ",
            f"batch mixes of the router: tenants per batch of {d.router_batch} stream records; *10%*: a ",
            "filter selecting every 10th event. Request counts and item sizes are the production router's ",
            "and deliverer's (their handlers with the real DAL on counting stub clients, "
            "bench/streaming.py); ",
            "prices as above (REFERENCE.md).",
        ),
        "",
        row("$ per million events", *(_label(c) for c in costs)),
        "|---|" + "---:|" * len(costs),
    ]
    for name in costs[0].lines:
        lines.append(row(name, *(_money(c.lines[name]) for c in costs)))
    lines.append(row("**total**", *(f"**{_money(c.total)}**" for c in costs)))
    units = [
        c.mix.router_write_units * c.mix.batches / max(1, c.mix.deliveries) + c.mix.deliverer_write_units
        for c in costs
    ]
    lines += [
        row(
            "deliveries per million events", *(f"{1e6 * c.mix.deliveries / c.mix.events:,.0f}" for c in costs)
        ),
        row("events per delivery", *(f"{c.mix.events_per_delivery:,.1f}" for c in costs)),
        row("router billed ms per invocation", *(f"{c.router_ms:,.0f}" for c in costs)),
        row("deliverer billed ms per delivery", *(f"{c.deliverer_ms:,.0f}" for c in costs)),
        row("control-table write units per delivery", *(f"{u:,.1f}" for u in units)),
        "",
        "Assumptions:",
        "",
        *bullet(
            "**DynamoDB Streams reads: $0.** The GetRecords calls of a Lambda event-source mapping are free ",
            '(REFERENCE.md, Part 2: "stream reads by Lambda event-source mappings are free"); only another ',
            "kind of reader (the Streams API called directly, KCL) would pay streams read request units, "
            "and ",
            "the service has none. The mapping's filter drops the items without a document (further target ",
            "items, TTL deletions) before any invocation: no Lambda request for them.",
        ),
        *bullet(
            f"**Router**: full batches of {d.router_batch} records (a shard with at least {d.router_batch} ",
            f"events per {d.router_window_s:g} s window; a quieter stream has smaller batches: more ",
            "invocations, each cheaper, and fewer events per delivery). Billed duration: its CPU measured "
            "for ",
            f"the mix (x86 here, arm64 deployed) + {CALL_MS:.0f} ms per AWS request on the critical ",
            "path (a tenant's are sequential, 16 tenants are routed at once; ",
            f"bench/cost.py assumes the same per DynamoDB call), {d.router_mb} MB, ",
            f"${cost.LAMBDA_GB_S:.10f}/GB-s (arm64) and ${cost.LAMBDA_REQUEST * 1e6:.2f} per million "
            "requests.",
        ),
        *bullet(
            "**Deliverer**: one message per invocation (the conservative end: with a backlog Lambda hands "
            "up ",
            f"to {d.deliverer_batch}); billed duration: its CPU measured per delivery + {CALL_MS:.0f} ms "
            "per ",
            f"DynamoDB request + the tenant's webhook answering in {RECEIVER_MS:.0f} ms (assumed; the ",
            f"deliverer waits for it: a slow endpoint costs up to 15 s of {d.deliverer_mb} MB per attempt).",
        ),
        *bullet(
            "**SQS**: per delivery one message: its share of a SendMessageBatch (up to 10 of one tenant's ",
            "destination per router batch, measured), one ReceiveMessage and one DeleteMessage (Lambda's ",
            f"poller; conservative, as above), ${SQS_REQUEST * 1e6:.2f} per million requests; a ",
            "ChangeMessageVisibility only for a failed attempt. Lambda's SQS pollers also long-poll an idle ",
            f"queue: about {RECEIVE_FIXED / 1e6:.2f} M ReceiveMessage a month (5 pollers, 20 s each, an ",
            f"estimate), ${RECEIVE_FIXED * SQS_REQUEST:.2f} a month whatever the traffic: not per event, "
            "not ",
            "in the table.",
        ),
        *bullet(
            "**Control table, on demand**: the router's consistent Query of the tenant's destinations (one ",
            "per tenant per batch), the ledger item and open marker PutItems; the deliverer's consistent ",
            "GetItems of the delivery and the destination, the BatchGetItem of the events (eventually ",
            "consistent: half a unit per event up to 4 KB), the ledger UpdateItem (billed on the whole "
            "item, ",
            "ids included), the marker's DeleteItem and the destination's UpdateItem (`last_delivered_at`). ",
            "Sizes as DynamoDB bills them, the 100 B overhead counted in write units as above. Ledger items ",
            "are kept 30 days (TTL); a marker only until its delivery is done.",
        ),
        *bullet(
            "Not counted: failed attempts (each adds an invocation, a receive, a ChangeMessageVisibility, "
            "the ",
            "ledger update and the destination's `failing` update), replays (reads through the query path, ",
            "as exports), S3 and EventBridge destinations (the PUT or PutEvents is billed to the tenant's ",
            "account; STS is free), the alarms, CloudWatch Logs, data transfer to the tenants' endpoints, ",
            "the free tiers.",
        ),
    ]
    return "\n".join(lines)


def write_cost_section(results: Results) -> None:
    report.write_section(COST_MARKER, cost_section(results), path=report.ROOT / "docs" / "cost.md")


def keep_cost_section(previous: str) -> None:
    """Put the streaming section of docs/cost.md back after the cost model rewrote the file."""
    start, end = f"<!-- bench:{COST_MARKER}:start -->", f"<!-- bench:{COST_MARKER}:end -->"
    if start in previous and end in previous:
        # the section as written: write_section puts one newline after the start marker
        text = previous.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")
        report.write_section(COST_MARKER, text, path=report.ROOT / "docs" / "cost.md")


def run(config: Config | None = None) -> str:
    results = measure(config or Config())
    write_cost_section(results)
    return render(results)
