"""Reports benchmark (issue 17): rollup write and read units per event, the router's and the worker's
messages, late-event recomputes, and the latency of a 90-day report from rollups vs from events.

Everything runs the production code on `bench.wire_dynamo.WireDynamo` (an in-memory DynamoDB behind a
real boto3 client: botocore serialises and parses every request; DynamoDB's billing and 1 MB pages;
a stated latency per request); nothing is asserted on time; ratios within one run.

1. *Units of an hour*: the production worker (`rollups.compute`, a `seal` of one sealed hour) over
   one hour of events stored as ingestion stores them (`ingest.prepare`, `dal.events.to_items`):
   the query path's reads (Query, BatchGetItem) and `RollupTable.put_hour`'s writes, for tenants of
   10k, 1M and 10M events a month, and the cost of a per-record counter in the router instead.
2. *Messages*: the production router part (`rollups.mark`) on a simulated stream (one container
   per stream shard), the worker sending seals back until they are due (a simulated clock and delay
   queue); a backfill of late events in time order vs in random order: recomputes per hour.
3. *Latency*: `reports.activity` / `reports.heatmap` over 90 days (2,160 stored hours of rollups,
   the newest unsealed hours as events), and over one day of events without rollups (measured),
   extrapolated to 90 days.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.dal.events import INDEX, DynamoEventStore, to_items
from activitylog.dal.rollups import RollupTable
from activitylog.logic import report_calendar as cal
from activitylog.logic import reports, rollups
from activitylog.logic.ingest import prepare
from activitylog.logic.query import Budget, Document, QueryPorts
from activitylog.logic.stream_router import StreamedEvent
from activitylog.models.auth import Principal, Scope
from activitylog.models.filters import EventFilter
from activitylog.models.query import EventRecord
from activitylog.models.reports import HourRollup, ReportParams, RollupWork, Tally
from activitylog.models.settings import LoggingSettings, TenantSettings
from activitylog.models.text import epoch_millis

from bench.wire_dynamo import Latency, WireDynamo, item_size, write_units

TENANT = "acme-corp"
EVENTS = "bench-events"
CONTROL = "bench-control"
HOURS_A_MONTH = 30.4375 * 24
RETENTION_DAYS = 365  # no hour of the 90 days is at the retention's edge (docs/reports.md, rule 4)
SETTINGS = TenantSettings(
    logging=LoggingSettings(report_metadata_keys=["query"], retention_days=RETENTION_DAYS)
)
READER = Principal(TENANT, "key-1", frozenset({Scope.EVENTS_READ}))
# Stated, not measured: a DynamoDB request from a Lambda function in its region.
AWS_LATENCY = Latency(base_ms=5.0, per_mb_ms=40.0)
GOAL = 0.2  # extra write units per event, steady state (issue 17)
WORKER_MB = 512  # assumed (the factory's default; the RollupWorker is not in infra/ yet)
NOW = datetime(2026, 12, 1, 12, 20, tzinfo=UTC)
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0"
NOUNS = ("user", "asset", "folder", "report", "settings", "api_key", "member", "share")
VERBS = ("created", "updated", "deleted", "viewed", "exported")


# --- the workload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cardinality:
    """The tenant's distinct values, each drawn uniformly (so nearly all of them appear in an hour of
    1,370 events: the large end of an hour's items)."""

    actors: int = 300
    actions: int = 40  # `search` and 39 others
    targets: int = 500  # assets; every 10th event with a target also has one of 40 folders
    ips: int = 300
    queries: int = 200  # `metadata.query` of the `search` events
    search_share: float = 0.25

    def scaled(self, factor: int) -> Cardinality:
        return Cardinality(
            self.actors * factor, self.actions, self.targets * factor, self.ips * factor,
            self.queries * factor, self.search_share,
        )  # fmt: skip

    def text(self) -> str:
        return (
            f"{self.actors:,} actors, {self.actions} actions, {self.targets:,} targets (+40 folders), "
            f"{self.ips:,} IPs, a reportable `query` metadata key with {self.queries:,} values on the "
            f"{self.search_share:.0%} of events that are `search`"
        )


ACTIONS = ["search", *[f"{n}.{v}" for n in NOUNS for v in VERBS]]


def raw_event(rng: random.Random, n: int, at: datetime, card: Cardinality) -> dict[str, Any]:
    actor = rng.randrange(card.actors)
    ip = rng.randrange(card.ips)
    search = rng.random() < card.search_share
    event: dict[str, Any] = {
        "id": f"evt-{n:09d}",
        "action": "search" if search else ACTIONS[1 + rng.randrange(card.actions - 1)],
        "occurred_at": at.isoformat(timespec="milliseconds"),
        "actor": {"id": f"user-{actor}", "name": f"Member {actor}", "email": f"member{actor}@example.com"},
        "context": {"ip": f"198.{51 + ip // 65536}.{ip // 256 % 256}.{ip % 256}", "user_agent": UA},
        "metadata": {"plan": "enterprise"},
    }
    if search:
        event["metadata"]["query"] = f"quarterly report {rng.randrange(card.queries)}"
    elif rng.random() >= 0.05:
        asset = rng.randrange(card.targets)
        event["targets"] = [{"type": "asset", "id": str(7000 + asset), "name": f"Document {asset}.pdf"}]
        if rng.random() < 0.1:
            event["targets"].append({"type": "folder", "id": str(rng.randrange(40)), "name": "Finance"})
    if rng.random() < 0.03:
        event["outcome"] = "failure"
    return event


def hour_records(
    hour: datetime,
    count: int,
    card: Cardinality,
    *,
    seed: int,
    first: int = 0,
    late_by: timedelta | None = None,
) -> list[EventRecord]:
    """`count` events occurred in `hour` (evenly), each received 2 s later (or `late_by` later)."""
    rng = random.Random(seed)  # noqa: S311 - a workload, not a secret
    out = []
    for i in range(count):
        at = hour + cal.HOUR * (i + rng.random()) / count
        received = at + (late_by or timedelta(seconds=2))
        rejection, record = prepare(
            i, raw_event(rng, first + i, at, card), tenant=TENANT, now=received, settings=SETTINGS, seen=set()
        )
        assert record is not None, rejection
        out.append(record)
    return out


def dynamo(latency: Latency | None = None) -> WireDynamo:
    """The events table (its four GSIs projecting `exp`, as infra/constructs/tables.py) and the
    control table."""
    w = WireDynamo(latency)
    w.create(EVENTS, "pk", None, **{ix: w.index(attr, "ts", ("exp",)) for ix, attr in set(INDEX.values())})
    w.create(CONTROL, "pk", "sk")
    return w


def store_records(w: WireDynamo, records: Iterable[EventRecord]) -> None:
    """As `DynamoEventStore.put_events` writes them (ingestion is not what is measured here)."""
    table = w.tables[EVENTS]
    for record in records:
        for item in to_items(record):
            table.put(item)


def query_ports(w: WireDynamo) -> QueryPorts:
    return QueryPorts(events=DynamoEventStore(EVENTS, w.client), known_actions=lambda: set(ACTIONS))


class DelayQueue:
    """An SQS queue on a simulated clock: messages come out at their delay; sends are counted."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sent = 0
        self._heap: list[tuple[float, int, str]] = []

    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> set[int]:
        for body in bodies:
            self.sent += 1
            heapq.heappush(self._heap, (self.now + min(delay_seconds, 900), self.sent, body))
        return set()

    def due(self, until: float) -> Iterable[tuple[float, str]]:
        while self._heap and self._heap[0][0] <= until:
            at, _, body = heapq.heappop(self._heap)
            yield at, body

    def __len__(self) -> int:
        return len(self._heap)


class CountingRollups:
    """The production RollupTable, counting the hours it is asked to store."""

    def __init__(self, inner: RollupTable) -> None:
        self.inner = inner
        self.puts: Counter[datetime] = Counter()

    def put_hour(self, tenant: str, fp: str, rollup: HourRollup, *, expires: int) -> bool:
        self.puts[rollup.hour] += 1
        return self.inner.put_hour(tenant, fp, rollup, expires=expires)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def rollup_ports(w: WireDynamo, queue: Any, store: Any = None) -> rollups.RollupPorts:
    return rollups.RollupPorts(
        store=store or RollupTable(CONTROL, w.client),
        queue=queue,
        query=lambda tenant: query_ports(w),
        settings=lambda tenant: SETTINGS,
    )


# --- 1. the units of an hour ------------------------------------------------------------------------


@dataclass
class HourCost:
    name: str
    events: int
    card: Cardinality
    items: dict[str, int]  # kind (n, action, ...) -> item size written
    put_units: float  # put_hour's write units
    seal_units: float  # the seal's bookkeeping (RUSEALED UpdateItem)
    reads: dict[str, float]  # operation -> read units
    requests: dict[str, int]
    wall_s: float  # the compute, under AWS_LATENCY
    cpu_s: float
    distinct: dict[str, int]
    again: dict[str, float]  # a second container's seal of the same hour: units and requests
    floor: dict[int, float] = field(default_factory=dict)  # router counter: events per batch -> WCU/event

    @property
    def read_units(self) -> float:
        return sum(self.reads.values())


def hour_cost(name: str, per_month: int, card: Cardinality, latency: Latency, seed: int = 1) -> HourCost:
    w = dynamo(latency)
    hour = cal.floor_hour(NOW) - timedelta(hours=3)
    count = max(1, round(per_month / HOURS_A_MONTH))
    records = hour_records(hour, count, card, seed=seed)
    store_records(w, records)
    table = RollupTable(CONTROL, w.client)
    table.set_sealed_through(TENANT, hour - cal.HOUR)  # steady state: the previous hour was sealed
    ports = rollup_ports(w, DelayQueue())
    w.clear()
    now = rollups.sealable_at(hour) + timedelta(minutes=1)
    work = RollupWork(tenant=TENANT, kind="seal", hours=[hour])
    started, cpu = time.perf_counter(), time.process_time()
    rollups.compute(work, now=now, ports=ports)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    items = {kind: size for kind, size, ok in w.put_sizes if ok and kind != rollups_sealed()}
    put_units = sum(write_units(size) for kind, size, ok in w.put_sizes if ok and kind != rollups_sealed())
    seal_units = w.write_units["UpdateItem"]
    reads, requests = dict(w.read_units), dict(w.requests)
    w.clear()
    rollups.compute(work, now=now + timedelta(minutes=20), ports=ports)  # another container's seal
    again = {"write units": sum(w.write_units.values()), "read units": sum(w.read_units.values())}
    again |= {f"{op} requests": float(n) for op, n in w.requests.items()}
    docs = [json.loads(r.document) for r in records]
    distinct = {d: len({k for doc in docs for k, _ in rollups.groups(doc, d)}) for d in dims()}
    result = HourCost(
        name, count, card, items, put_units, seal_units, reads, requests, wall, cpu, distinct, again
    )
    result.floor = {k: router_counter_units(docs, k) for k in (1, 10, 100)}
    return result


def rollups_sealed() -> str:
    from activitylog.dal.rollups import SEALED_SK

    return SEALED_SK


def dims() -> tuple[str, ...]:
    return rollups.dimensions_for(SETTINGS)


def map_size(counts: dict[str, int]) -> int:
    """A DynamoDB map attribute of counts: 3 B + per entry its name, its number and 1 B."""
    return 3 + sum(len(k.encode()) + math.ceil(len(str(n)) / 2) + 1 + 1 for k, n in counts.items())


def router_counter_units(docs: Sequence[dict[str, Any]], per_batch: int) -> float:
    """The write units per event of the alternative: the router adds each batch's events to one
    counter item per (tenant, hour, dimension) (an UpdateItem ADD into a map, billed on the whole
    item) and to the totals item. A floor: no record of what was counted (exactly-once), no labels,
    no quarters; the key attributes as the rollups' (about 60 B)."""
    key_bytes = 60
    counts: dict[str, dict[str, int]] = {d: {} for d in dims()}
    units = 0.0
    for start in range(0, len(docs), per_batch):
        batch = docs[start : start + per_batch]
        units += write_units(key_bytes + 10)  # the totals item: n ADD
        for dimension in dims():
            before = map_size(counts[dimension])
            touched = False
            for doc in batch:
                for key, _ in rollups.groups(doc, dimension):
                    counts[dimension][key] = counts[dimension].get(key, 0) + 1
                    touched = True
            if touched:
                units += write_units(key_bytes + max(before, map_size(counts[dimension])))
    return units / len(docs)


# --- 2. messages: the router's seals, the worker's waits, late events ----------------------------------


@dataclass
class Flow:
    name: str
    hours: int  # hours of events announced
    router_sends: int  # messages the router sent
    worker_sends: int  # messages the worker sent back to wait
    deliveries: int  # messages the worker received (one invocation each, conservatively)
    computes: Counter[datetime]  # put_hour calls per hour
    read_units: float
    write_units: float

    @property
    def recomputes(self) -> float:
        return sum(self.computes.values()) / max(1, len(self.computes))


def simulate(
    name: str,
    arrivals: Sequence[tuple[float, datetime, datetime]],  # (seconds from start, occurred, received)
    *,
    containers: int,
    start: datetime,
    seed: int = 7,
) -> Flow:
    """The production `mark` (one memory per container, each 1 s window's records of the container as
    one batch) and `compute` on a simulated clock; an events table without events (the counts do not
    decide what is sent or computed, only the times do)."""
    w = dynamo()
    queue = DelayQueue()
    store = CountingRollups(RollupTable(CONTROL, w.client))
    ports = rollup_ports(w, queue, store)
    memories: list[dict[Any, None]] = [{} for _ in range(containers)]
    rng = random.Random(seed)  # noqa: S311 - a workload, not a secret
    router_sends = deliveries = 0
    windows: dict[int, list[list[StreamedEvent]]] = defaultdict(lambda: [[] for _ in range(containers)])
    for n, (offset, occurred, received) in enumerate(arrivals):
        data = {"occurred_at": occurred.isoformat(), "received_at": received.isoformat()}
        windows[int(offset)][rng.randrange(containers)].append(StreamedEvent(str(n), TENANT, "", data))

    def run_worker(until: float) -> None:
        nonlocal deliveries
        for at, body in queue.due(until):
            queue.now = at
            deliveries += 1
            rollups.compute(
                RollupWork.model_validate_json(body), now=start + timedelta(seconds=at), ports=ports
            )

    for second in sorted(windows):
        run_worker(second)
        queue.now = float(second)
        for c, batch in enumerate(windows[second]):
            if batch:
                before = queue.sent
                rollups.mark(TENANT, batch, now=start + timedelta(seconds=second),
                             ports=rollups.MarkPorts(queue, store, memories[c]))  # fmt: skip
                router_sends += queue.sent - before
    while len(queue):
        run_worker(math.inf)
    worker_sends = queue.sent - router_sends
    hours = len({cal.floor_hour(o) for _, o, _ in arrivals})
    return Flow(
        name, hours, router_sends, worker_sends, deliveries, store.puts,
        sum(w.read_units.values()), sum(w.write_units.values()),
    )  # fmt: skip


def steady_flow(per_hour: int, hours: int, containers: int) -> Flow:
    start = cal.floor_hour(NOW) - timedelta(days=2)
    arrivals = []
    for i in range(per_hour * hours):
        offset = i * 3600 / per_hour
        at = start + timedelta(seconds=offset)
        arrivals.append((offset, at, at))
    return simulate(f"steady, {containers} router container(s)", arrivals, containers=containers, start=start)


def backfill_flow(per_hour: int, days: int, rate: float, order: str, seed: int = 3) -> Flow:
    """`days` of past events (`per_hour` an hour) imported at `rate` events a second, oldest first
    (`time`) or shuffled (`random`), starting a day after the last of them."""
    first = cal.floor_hour(NOW) - timedelta(days=days + 1)
    occurred = [first + timedelta(seconds=i * 3600 / per_hour) for i in range(per_hour * 24 * days)]
    if order == "random":
        random.Random(seed).shuffle(occurred)  # noqa: S311 - a workload, not a secret
    start = first + timedelta(days=days + 1)
    arrivals = [(i / rate, at, start + timedelta(seconds=i / rate)) for i, at in enumerate(occurred)]
    name = f"backfill of {days} day(s) at {rate:,.0f} events/s, {order} order"
    return simulate(name, arrivals, containers=1, start=start)


# --- 3. latency -------------------------------------------------------------------------------------


@dataclass
class Timed:
    name: str
    wall_s: float  # median of the runs
    cpu_s: float
    total: int
    complete: bool
    requests: dict[str, int]
    read_units: float
    answer_mb: float
    documents: int  # event documents read (BatchGetItem keys)


CASES: list[tuple[str, str, ReportParams]] = [
    ("no filter, interval day", "activity", ReportParams(interval="day")),
    ("group_by actor", "activity", ReportParams(group_by="actor")),
    ("group_by target, tz Asia/Kolkata", "activity", ReportParams(group_by="target", tz="Asia/Kolkata")),
    ("group_by metadata.query", "activity", ReportParams(group_by="metadata.query")),
    ("heatmap (UTC)", "heatmap", ReportParams()),
]


def timed(name: str, w: WireDynamo, ask: Callable[[], Any], runs: int, documents: Callable[[], int]) -> Timed:
    walls, cpus = [], []
    answer: Any = None
    for _ in range(runs):
        w.clear()
        before = documents()
        started, cpu = time.perf_counter(), time.process_time()
        answer = ask()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        docs = documents() - before
    return Timed(
        name, statistics.median(walls), statistics.median(cpus), answer.total, answer.complete,
        dict(w.requests), sum(w.read_units.values()), w.answer_bytes / 2**20, docs,
    )  # fmt: skip


def report_ports(w: WireDynamo, seconds: float = reports.REPORT_SECONDS) -> reports.ReportPorts:
    return reports.ReportPorts(
        query=query_ports(w), rollups=RollupTable(CONTROL, w.client), queue=DelayQueue(),
        settings=SETTINGS, budget=Budget(seconds=seconds),
    )  # fmt: skip


def ask(
    kind: str, params: ReportParams, filters: EventFilter, ports: reports.ReportPorts
) -> Callable[[], Any]:
    use = reports.activity if kind == "activity" else reports.heatmap
    return lambda: use(READER, filters, params, now=NOW, ports=ports)


def documents_read(w: WireDynamo) -> Callable[[], int]:
    return lambda: w.keys_read


@dataclass
class FromRollups:
    hours: int
    distinct_sources: int
    stored_items: int
    stored_bytes: int
    events_total: int
    rows: list[Timed]


def from_rollups(
    days: int, per_hour: int, card: Cardinality, sources: int, runs: int, latency: Latency
) -> FromRollups:
    """`days` of sealed hours stored by the production `put_hour` (`sources` distinct hours of events
    counted by `rollups.tally_hour`, repeated with their expiries shifted), the newest unsealed hours
    as events in the events table; then each case through `reports.activity` / `heatmap`."""
    w = dynamo()  # stored without latency; the reports are timed with it
    table = RollupTable(CONTROL, w.client)
    end_hour = cal.floor_hour(NOW)
    start = end_hour - timedelta(days=days)
    unsealed = [h for h in cal.hours_of(start, NOW + cal.HOUR) if rollups.sealable_at(h) > NOW]
    tallies: list[tuple[datetime, Tally]] = []
    for s in range(sources):
        hour = start + cal.HOUR * s
        records = hour_records(hour, per_hour, card, seed=100 + s, first=s * per_hour)
        docs = (Document(r.document, json.loads(r.document)) for r in records)
        tallies.append((hour, rollups.tally_hour(docs, hour, dims())))
    expected = 0
    for n, hour in enumerate(cal.hours_of(start, unsealed[0])):
        source_hour, tally = tallies[n % sources]
        shift = int((hour - source_hour).total_seconds())
        copy = replace(
            tally, min_expiry=(tally.min_expiry or 0) + shift, max_expiry=(tally.max_expiry or 0) + shift
        )
        rollup = HourRollup(hour, epoch_millis(rollups.sealable_at(hour)), copy, frozenset({"query"}))
        table.put_hour(TENANT, "", rollup, expires=(copy.max_expiry or 0) + 86_400)
        expected += copy.total
    for n, hour in enumerate(unsealed):
        records = hour_records(hour, per_hour, card, seed=900 + n, first=10**8 + n * per_hour)
        store_records(
            w, (r for r in records if datetime.fromisoformat(json.loads(r.document)["received_at"]) <= NOW)
        )
    items = [i for (pk, _), i in w.tables[CONTROL].items.items() if "#RU#" in pk]

    filters = EventFilter(from_=start, to=NOW)
    ports = report_ports(w)
    w.latency = latency
    rows = [
        timed(name, w, ask(kind, params, filters, ports), runs, documents_read(w))
        for name, kind, params in CASES
    ]
    return FromRollups(
        hours=len(list(cal.hours_of(start, unsealed[0]))), distinct_sources=sources, stored_items=len(items),
        stored_bytes=sum(item_size(i) + 100 for i in items), events_total=expected, rows=rows,
    )  # fmt: skip


@dataclass
class FromEvents:
    hours: int
    events: int
    full: Timed  # every hour counted (the budget lifted)
    budgeted: Timed  # the request's 8 s budget
    asked: int  # rollup-work messages the budgeted answer sent (its background work)


def from_events(hours: int, per_hour: int, card: Cardinality, latency: Latency, runs: int) -> FromEvents:
    """`hours` of events and no rollups: every piece is counted through the query path."""
    w = dynamo()
    end = cal.floor_hour(NOW) - timedelta(hours=3)
    start = end - cal.HOUR * hours
    for n, hour in enumerate(cal.hours_of(start, end)):
        store_records(w, hour_records(hour, per_hour, card, seed=500 + n, first=n * per_hour))
    w.latency = latency
    filters = EventFilter(from_=start, to=end)
    params = ReportParams(interval="day")
    full = timed("from events, budget lifted", w, ask("activity", params, filters, report_ports(w, 3600.0)), runs,  # noqa: E501
                 documents_read(w))  # fmt: skip
    budget_ports = report_ports(w)
    budgeted = timed(
        "from events, 8 s budget", w, ask("activity", params, filters, budget_ports), 1, documents_read(w)
    )
    assert isinstance(budget_ports.queue, DelayQueue)
    return FromEvents(hours, hours * per_hour, full, budgeted, budget_ports.queue.sent)


# --- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    rates: tuple[tuple[str, int, int], ...] = (  # (name, events a month, cardinality factor)
        ("10k/month", 10_000, 1),
        ("1M/month", 1_000_000, 1),
        ("10M/month", 10_000_000, 1),
        ("10M/month, 10x values", 10_000_000, 10),
    )
    card: Cardinality = Cardinality()
    steady_hours: int = 4
    containers: tuple[int, ...] = (1, 4)
    backfill_days: int = 1
    backfill_per_hour: int = 1_370
    backfill_rates: tuple[float, ...] = (25.0, 250.0)
    report_days: int = 90
    per_hour: int = 1_370  # 1M events a month
    sources: int = 24  # distinct hours of events behind the stored rollups
    runs: int = 3
    event_hours: int = 24
    latency: Latency = AWS_LATENCY
    worker_concurrency: int = 10  # assumed: the RollupWorker's SQS mapping (not in infra/ yet)


@dataclass
class Results:
    config: Config
    stamp: str
    load: tuple[float, float, float]
    hours: list[HourCost]
    steady: list[Flow]
    backfills: list[Flow]
    rollups: FromRollups
    events: FromEvents


def measure(config: Config) -> Results:
    import os

    from bench import report

    stamp = report.stamp()
    hours = [
        hour_cost(name, per_month, config.card.scaled(factor), config.latency)
        for name, per_month, factor in config.rates
    ]
    steady = [steady_flow(config.per_hour, config.steady_hours, c) for c in config.containers]
    backfills = [
        backfill_flow(config.backfill_per_hour, config.backfill_days, rate, order)
        for rate in config.backfill_rates
        for order in ("time", "random")
    ]
    stored = from_rollups(
        config.report_days, config.per_hour, config.card, config.sources, config.runs, config.latency
    )
    events = from_events(
        config.event_hours, config.per_hour, config.card, config.latency, max(1, config.runs - 2)
    )
    load = os.getloadavg()
    return Results(config, stamp, load, hours, steady, backfills, stored, events)


def main_hour(r: Results) -> HourCost:
    return next((h for h in r.hours if h.name == "1M/month"), r.hours[0])


@dataclass(frozen=True)
class Extrapolated:
    """90 days of the 1M/month tenant from events, from the one-day measurement (linear in events)."""

    events: int
    wall_s: float
    cpu_s: float
    read_units: float
    requests: int
    counted_in_budget: int
    worker_s: float  # the background work: every hour computed, at the assumed concurrency


def extrapolate(r: Results) -> Extrapolated:
    e = r.events
    scale = r.config.report_days * 24 * r.config.per_hour / e.events
    h = main_hour(r)
    hours = r.config.report_days * 24
    return Extrapolated(
        events=round(e.events * scale), wall_s=e.full.wall_s * scale, cpu_s=e.full.cpu_s * scale,
        read_units=e.full.read_units * scale, requests=round(sum(e.full.requests.values()) * scale),
        counted_in_budget=e.budgeted.total, worker_s=hours * h.wall_s / r.config.worker_concurrency,
    )  # fmt: skip


# --- prices ----------------------------------------------------------------------------------------


def per_million(r: Results, h: HourCost | None = None) -> dict[str, float]:
    """$ per million events of the steady state, for the tenant of `h` (1M/month by default)."""
    from bench import cost, streaming

    h = h or main_hour(r)
    hours = 1e6 / h.events  # hours that hold a million events
    one = next(f for f in r.steady if f.name.startswith("steady, 1 "))
    messages = (one.router_sends + one.worker_sends) / one.hours  # per hour, one router container
    sqs = messages * 3  # send, receive, delete (each message its own: conservative)
    kept_months = (SETTINGS_DEFAULT_RETENTION + 1) / 30.4375
    stored = sum(size + 100 for size in h.items.values())
    return {
        "rollup writes (put_hour)": h.put_units * hours * cost.WRITE_UNIT,
        "seal bookkeeping (UpdateItem RUSEALED)": h.seal_units * hours * cost.WRITE_UNIT,
        "the hour's events read again (query path)": h.read_units * hours * cost.READ_UNIT,
        "SQS (seals and their waits, 1 container)": sqs * hours * streaming.SQS_REQUEST,
        "Lambda: RollupWorker requests": one.deliveries / one.hours * hours * cost.LAMBDA_REQUEST,
        "Lambda: RollupWorker GB-s": h.wall_s * WORKER_MB / 1024 * hours * cost.LAMBDA_GB_S,
        "rollup storage (kept retention + 1 day)": stored
        * hours
        / cost.GB
        * cost.STORAGE_STANDARD
        * kept_months,
    }


SETTINGS_DEFAULT_RETENTION = LoggingSettings().retention_days


# --- rendering -------------------------------------------------------------------------------------

WIDTH = 100


def para(*parts: str) -> list[str]:
    import textwrap

    return textwrap.wrap("".join(parts), WIDTH)


def bullet(*parts: str) -> list[str]:
    import textwrap

    return textwrap.wrap("".join(parts), WIDTH, initial_indent="- ", subsequent_indent="  ")


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _s(seconds: float) -> str:
    return f"{seconds:,.2f} s" if seconds < 100 else f"{seconds:,.0f} s ({seconds / 60:,.0f} min)"


def render_units(r: Results) -> list[str]:
    h1 = main_hour(r)
    kinds = ["n", *dims()]
    lines = [
        "### 1. Units of an hour (steady state)",
        "",
        *para(
            "The production worker (`rollups.compute`, the `seal` of one sealed hour, the previous hour ",
            "sealed) over one hour of events as ingestion stores them: the hour read through the query path ",
            "(`iter_documents`: Queries of the time index, 100 entries each; BatchGetItem of the documents, ",
            "eventually consistent) and stored by `RollupTable.put_hour` (dal/rollups.py): one PutItem per ",
            "dimension and the totals, each conditional. Workload: ",
            f"{r.config.card.text()}; 3% failures; each value drawn uniformly (the 10x row: ten times as many ",  # noqa: E501
            "actors, targets, IPs and terms). Settings: `report_metadata_keys: [\"query\"]`.",
        ),
        "",
        row("tenant", *(h.name for h in r.hours)),
        "|---|" + "---:|" * len(r.hours),
        row("events in the hour", *(f"{h.events:,}" for h in r.hours)),
        *(
            row(f"distinct {d}", *(f"{h.distinct.get(d, 0):,}" for h in r.hours))
            for d in dims()
        ),
        *(
            row(f"item `{k}` (B, compressed)", *(f"{h.items.get(k, 0):,}" for h in r.hours))
            for k in kinds
        ),
        row("**put_hour write units**", *(f"**{h.put_units:,.0f}**" for h in r.hours)),
        row("**write units per event**", *(f"**{h.put_units / h.events:.4f}**" for h in r.hours)),
        row("+ the seal's RUSEALED update per event", *(f"{h.seal_units / h.events:.4f}" for h in r.hours)),
        row("read units: Query (index + rollup totals)", *(f"{h.reads.get('Query', 0):,.1f}" for h in r.hours)),  # noqa: E501
        row("read units: BatchGetItem (documents)", *(f"{h.reads.get('BatchGetItem', 0):,.1f}" for h in r.hours)),  # noqa: E501
        row("read units: GetItem (RUSEALED, consistent)", *(f"{h.reads.get('GetItem', 0):,.1f}" for h in r.hours)),  # noqa: E501
        row("**read units per event**", *(f"**{h.read_units / h.events:.3f}**" for h in r.hours)),
        row("requests (Query / BatchGetItem / PutItem)", *(
            f"{h.requests.get('Query', 0)} / {h.requests.get('BatchGetItem', 0)} / {h.requests.get('PutItem', 0)}"  # noqa: E501
            for h in r.hours
        )),
        row("compute wall / CPU (stub latency)", *(f"{h.wall_s:.2f} / {h.cpu_s:.2f} s" for h in r.hours)),
        row("a second container's seal: write / read units", *(
            f"{h.again['write units']:.0f} / {h.again['read units']:.1f}" for h in r.hours
        )),
        row("router counter instead, 1 event per batch: WCU/event", *(f"{h.floor[1]:.2f}" for h in r.hours)),
        row("router counter, 10 per batch", *(f"{h.floor[10]:.2f}" for h in r.hours)),
        row("router counter, 100 per batch", *(f"{h.floor[100]:.3f}" for h in r.hours)),
    ]  # fmt: skip
    worst = max(h.put_units / h.events for h in r.hours)
    small = [h for h in r.hours if (h.put_units + h.seal_units) / h.events >= GOAL]
    met = (h1.put_units + h1.seal_units) / h1.events < GOAL
    verdict = "**met**" if met else "**not met**"
    lines += [
        "",
        (
            f"Goal < {GOAL} extra write units per event (steady state, 1M events a month): {verdict} "
            f"({(h1.put_units + h1.seal_units) / h1.events:.4f})."
        ),
        "",
        *para(
            f"That is {h1.put_units:.0f} units for the hour's {len(h1.items)} items + ",
            f"{h1.seal_units:.0f} for ",
            "RUSEALED, over its events. An hour costs the size of its items, not its events: the units per ",
            "event fall with the rate. ",
            *(
                [
                    "Not met for small tenants: ",
                    ", ".join(f"{h.name}: {(h.put_units + h.seal_units) / h.events:.2f}" for h in small),
                    " (at least one unit per item and hour; an hour without events still stores its totals ",
                    "item, 1 unit, when a later seal fills it back). In money this is small: ",
                    f"{small[0].put_units + small[0].seal_units:.0f} units an hour is "
                    f"${(small[0].put_units + small[0].seal_units) * HOURS_A_MONTH * 0.625e-6:.4f} a month. ",
                ]
                if small
                else []
            ),
            f"Worst of these rows: {worst:.3f}.",
        ),
        "",
        *para(
            "The design computes an hour from its stored events rather than counting per stream record ",
            "(docs/reports.md says why: exactly-once counts under redelivery), so it trades reads for ",
            f"writes: {h1.read_units / h1.events:.2f} read units per event (the documents again, 0.5 unit ",
            "each up to 4 KB; the index Queries are a few %), $",
            f"{h1.read_units / h1.events * 0.125:.3f} per million events, against $",
            f"{(h1.put_units + h1.seal_units) / h1.events * 0.625:.4f} for its writes. The stream router's ",
            "floor for the alternative, a counter item per (hour, dimension) updated per batch (billed on ",
            "the whole item; no exactly-once record, no labels: a floor), is the last three rows: for this ",
            "tenant (0.4 events a second: a batch holds about one of its events) ",
            f"{h1.floor[1]:.1f} write units per event, ${h1.floor[1] * 0.625:.2f} per million; it only ",
            "meets the goal with about 100 of a tenant's events per batch.",
        ),
    ]
    return lines


def render_flows(r: Results) -> list[str]:
    h1 = main_hour(r)
    lines = [
        "### 2. Messages, and late events",
        "",
        *para(
            "The production `rollups.mark` (the router's part; one memory per container, each 1 s window of ",
            "a container's records one batch, records spread over the containers at random) and ",
            "`rollups.compute` (the worker) on a simulated clock and delay queue, on the production ",
            "`RollupTable` over the stub; the events table is empty here (what is sent and computed ",
            "depends on the times only; the units of a compute are section 1's).",
        ),
        "",
        row("flow", "hours", "router messages / hour", "worker send-backs / hour", "deliveries / hour",
            "computes per hour", "late messages"),
        "|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for f in r.steady:
        lines.append(row(
            f.name, f.hours, f"{f.router_sends / f.hours:.1f}", f"{f.worker_sends / f.hours:.1f}",
            f"{f.deliveries / f.hours:.1f}", f"{f.recomputes:.2f}", "-",
        ))  # fmt: skip
    for f in r.backfills:
        lines.append(row(
            f.name, f.hours, "-", f"{f.worker_sends / f.hours:.1f}", f"{f.deliveries / f.hours:.1f}",
            f"**{f.recomputes:.2f}** (max {max(f.computes.values())})", f"{f.router_sends:,}",
        ))  # fmt: skip
    rand = [f for f in r.backfills if "random" in f.name]
    slow = rand[0] if rand else None
    lines += [
        "",
        *para(
            "Steady state: one `seal` per (tenant, hour) per router container, which the worker sends back ",
            "every 15 minutes (SQS's longest delay) until the hour is sealable (2 h 05 min after it ",
            "starts): about 9 messages and 9 worker invocations per hour and container, each hour computed ",
            "once (the other containers' seals find it stored: ",
            f"{h1.again['read units']:.1f} read units and {h1.again['write units']:.0f} write unit each, the ",  # noqa: E501
            "RUSEALED update whose condition fails is billed too).",
        ),
        "",
        *para(
            "Late events (a backfill): `mark` sends a `late` message per router batch (per 1 s window and ",
            "container), 15 minutes later; the worker computes the batch's hours again unless a computation ",
            "that started after the batch's newest event is stored. In time order an hour's late events ",
            "arrive within a few minutes and it is computed once; in random order every hour keeps receiving ",  # noqa: E501
            "late events for the whole backfill and is computed again about every 10 minutes (15 min delay ",
            "minus the 5 min index lag): about 1 + duration / 10 min times",
            (
                f" ({slow.recomputes:.1f} for {slow.name}: each compute reads the hour's events again, "
                f"{h1.read_units:,.0f} read units for an hour of the 1M/month tenant)."
                if slow
                else "."
            ),
            " Each late message also costs a worker invocation and a Query of the totals over its hours' ",
            "range, even when it computes nothing.",
        ),
    ]
    return lines


def _ms(t: Timed) -> str:
    return f"{t.wall_s:,.2f} s"


def render_latency(r: Results) -> list[str]:
    s, e, x = r.rollups, r.events, extrapolate(r)
    lines = [
        "### 3. A 90-day report of the 1M/month tenant",
        "",
        *para(
            f"**From rollups (simulated at that size, measured):** {s.hours:,} sealed hours stored by the ",
            f"production `put_hour` ({s.stored_items:,} items, {s.stored_bytes / 1e6:,.1f} MB with the 100 B ",  # noqa: E501
            f"overhead; {s.distinct_sources} distinct hours of {r.config.per_hour:,} events counted by ",
            "`rollups.tally_hour`, repeated over the 90 days with their expiries shifted), and the newest ",
            "unsealed hours (2 h 20 min, not yet computable) as events in the events table. The stub serves ",
            "Query pages of at most 1 MB and answers each request after the stated latency of "
            f"{r.config.latency.base_ms:.0f} ms + {r.config.latency.per_mb_ms:.0f} ms per MB of the answer ",
            "(an assumption for a Lambda function in DynamoDB's region, not a measurement). ",
            f"`reports.activity` / `heatmap` from `floor(now) - 90 days` to now, median of {r.config.runs}; ",
            "wall time on this machine (its other load included), and the process's CPU time (all threads: ",
            "botocore's parsing, zlib, JSON, the merge).",
        ),
        "",
        row("report (90 days)", "wall", "CPU", "Queries", "BatchGetItem", "read units", "answers (MB)",
            "documents read", "total", "complete"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]  # fmt: skip
    for t in s.rows:
        lines.append(row(
            t.name, _ms(t), f"{t.cpu_s:.2f} s", t.requests.get("Query", 0), t.requests.get("BatchGetItem", 0),
            f"{t.read_units:,.0f}", f"{t.answer_mb:.1f}", f"{t.documents:,}", f"{t.total:,}", t.complete,
        ))  # fmt: skip
    lines += [
        "",
        *para(
            f"**From events (measured on one day, extrapolated to 90 days):** {e.events:,} events of ",
            f"{e.hours} hours in the stub's events table, no rollups: every piece is counted through the ",
            "query path. Measured, the budget lifted: ",
            f"{_ms(e.full)} wall, {e.full.cpu_s:.2f} s CPU, {e.full.documents / e.full.wall_s:,.0f} documents ",  # noqa: E501
            f"a second, {e.full.read_units:,.0f} read units ({e.full.read_units / e.events:.3f} per event), ",
            f"{sum(e.full.requests.values()):,} requests. With the request's 8 s budget: {_ms(e.budgeted)}, ",
            f"{e.budgeted.total:,} of the {e.events:,} events counted (newest hours first), `complete: ",
            f"{str(e.budgeted.complete).lower()}`, {e.asked} rollup-work message(s) sent.",
        ),
        "",
        *para(
            f"Extrapolated to 90 days ({x.events:,} events; reads are linear in the events: one Query of ",
            "100 index entries and one BatchGetItem of 100 documents per 100 events, in a row): about ",
            f"**{_s(x.wall_s)}** of reading at this rate ({_s(x.cpu_s)} CPU), {x.read_units:,.0f} read units ",  # noqa: E501
            f"(${x.read_units * 0.125e-6:.2f} per report), {x.requests:,} requests. The API cannot wait for ",
            "that: it answers after its 8 s with `complete: false`, `retry_after_seconds: 10`, about ",
            f"{x.counted_in_budget:,} events counted ({x.counted_in_budget / x.events:.1%} of the range, the ",  # noqa: E501
            "newest), and asks the worker (once per filter and 10 minutes) to compute the hours it read from ",  # noqa: E501
            f"events: {r.config.report_days * 24:,} hours in {math.ceil(r.config.report_days * 24 / 24)} ",
            "messages, each hour a compute of section 1 (",
            f"{main_hour(r).wall_s:.2f} s here): about {_s(x.worker_s)} at {r.config.worker_concurrency} ",
            "concurrent workers (assumed) before the same request is answered from rollups.",
        ),
    ]
    return lines


def render(r: Results) -> str:
    load = ", ".join(f"{v:.1f}" for v in r.load)
    lines = [
        "## Reports (issue 17): rollup units, messages, 90-day latency",
        "",
        r.stamp,
        f"Load average at the end of the run: {load} (the machine was shared: wall times include waiting).",
        "",
        *para(
            "`python -m bench reports` (bench/reports.py, bench/wire_dynamo.py). Every number runs the ",
            "production code (`logic/rollups.py`, `logic/reports.py`, `dal/rollups.py`, `dal/events.py`) on ",
            "a real boto3 client whose HTTP exchange is replaced by an in-memory DynamoDB that bills as ",
            "DynamoDB does (writes: 1 unit per started KB of the larger of the item before and after, ",
            "failed conditional writes too; reads: 0.5 unit per started 4 KB, eventually consistent, per ",
            "BatchGetItem item and per Query page's summed items; 1 MB pages). *Measured*: units, requests, ",
            "sizes, messages, computes, CPU and wall times under the stated latency. *Extrapolated*: the ",
            "90-day report from events (from one day). Not measured: DynamoDB's own latency (stated), ",
            "Lambda's CPU (this machine's).",
        ),
        "",
        *render_units(r),
        "",
        *render_flows(r),
        "",
        *render_latency(r),
    ]
    return "\n".join(lines)


COST_MARKER = "reports"


def cost_section(r: Results) -> str:
    h1 = main_hour(r)
    when = r.stamp.removeprefix("Measured ").rstrip(".")
    lines = [
        "",
        "## Reports",
        "",
        *para(
            f"Measured by `python -m bench reports` ({when}; details in benchmarks.md). What hourly rollups ",
            "add per million events accepted, steady state (no late events), a tenant with reportable ",
            "`query`, for the rates measured; prices as above (REFERENCE.md).",
        ),
        "",
        row("$ per million events", *(h.name for h in r.hours)),
        "|---|" + "---:|" * len(r.hours),
    ]
    tables = [per_million(r, h) for h in r.hours]
    for name in tables[0]:
        lines.append(row(name, *(f"${t[name]:,.4f}" for t in tables)))
    lines.append(row("**total**", *(f"**${sum(t.values()):,.4f}**" for t in tables)))
    x = extrapolate(r)
    reads = [t.read_units for t in r.rollups.rows]
    lines += [
        "",
        "Per report, not per event (the 1M/month tenant, 90 days):",
        "",
        *bullet(
            f"From rollups: {min(reads):,.0f}-{max(reads):,.0f} read units (${min(reads) * 0.125e-6:.5f}-",
            f"${max(reads) * 0.125e-6:.5f}), the totals alone the least, `group_by target` the most.",
        ),
        *bullet(
            f"From events (extrapolated): {x.read_units:,.0f} read units, ${x.read_units * 0.125e-6:.2f}, ",
            "and then the worker computes the 2,160 hours (the same units again, once).",
        ),
        "",
        "Assumptions:",
        "",
        *bullet(
            "**Worker**: one message per invocation (conservative), billed the compute's wall time under ",
            f"the stub's stated latency ({h1.wall_s:.2f} s for an hour of {h1.events:,} events), ",
            f"{WORKER_MB} MB (assumed: the RollupWorker is not in infra/ yet), arm64 prices.",
        ),
        *bullet(
            "**SQS**: one router container (with N stream shards each hour is announced N times: N times the ",  # noqa: E501
            "messages; the hour is still computed once); per message a send, a receive and a delete.",
        ),
        *bullet(
            "**Late events** are not in the table: each recompute of an hour costs its row again (section 2 ",
            "of benchmarks.md: once per hour for a backfill in time order, about every 10 minutes of the ",
            "backfill in random order), and each router batch with late events a message and an invocation.",
        ),
        *bullet(
            f"**Storage**: the hour's items with the 100 B overhead, kept the retention ({SETTINGS_DEFAULT_RETENTION} ",  # noqa: E501
            "days by default) + 1 day (TTL), Standard class.",
        ),
    ]
    return "\n".join(lines)


def write_cost_section(r: Results) -> None:
    from bench import report

    report.write_section(COST_MARKER, cost_section(r), path=report.ROOT / "docs" / "cost.md")


def keep_cost_section(previous: str) -> None:
    """Put the reports section of docs/cost.md back after the cost model rewrote the file."""
    from bench import report

    start, end = f"<!-- bench:{COST_MARKER}:start -->", f"<!-- bench:{COST_MARKER}:end -->"
    if start in previous and end in previous:
        text = previous.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")
        report.write_section(COST_MARKER, text, path=report.ROOT / "docs" / "cost.md")


def run(config: Config | None = None) -> str:
    results = measure(config or Config())
    write_cost_section(results)
    return render(results)
