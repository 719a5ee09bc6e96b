"""Cost model: AWS cost per million events ingested and kept 90 days (PITR on, every filter indexed).

Sizes are measured, not assumed: a realistic event mix (`bench/workload.py`) goes through the real
`logic.ingest.prepare` and `dal.events.to_items`, and each item and index entry is sized with
DynamoDB's rules (attribute names + values; numbers ~1 byte per two significant digits + 1; +100 B
per item and per index entry). We count the 100 B in the write-unit size as well as in storage
(conservative; docs/data-model.md does the same). Runnable alone: `python -m bench.cost` writes
docs/cost.md and prints it; `make bench` also puts its summary into docs/benchmarks.md.
"""

from __future__ import annotations

import math
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.dal.events import INDEX, WRITE_THREADS, EventRecord, to_items
from activitylog.logic.ingest import prepare
from activitylog.models.settings import TenantSettings

from bench import report
from bench.workload import raw_events

PRICES_DATE = "2026-11"  # ../shared/REFERENCE.md, AWS list prices us-east-1, on demand
WRITE_UNIT = 0.625e-6  # $ per write request unit
READ_UNIT = 0.125e-6  # $ per read request unit
STORAGE_STANDARD = 0.25  # $ per GB-month
STORAGE_IA = 0.10
IA_REQUEST_FACTOR = 1.25  # Standard-IA requests ~25% dearer
PITR = 0.20  # $ per GB-month of the base table
APIGW_REST = 3.50e-6  # $ per request
LAMBDA_REQUEST = 0.20e-6
LAMBDA_GB_S = 0.0000133334  # arm64
# Provisioned capacity is not in REFERENCE.md: AWS's us-east-1 list price, to be re-checked before quoting.
PROVISIONED_WCU_HOUR = 0.00065
PROVISIONED_RCU_HOUR = 0.00013
PROVISIONED_UTILISATION = 0.5  # auto scaling keeps about this share of the provisioned capacity in use
GOAL = 3.50
GB = 1e9  # DynamoDB bills storage per GB (10^9 bytes)
OVERHEAD = 100
KB = 1024
MONTHS_KEPT = 90 / 30.4375
TENANT = "acme-corp"
INDEX_ATTRS = {attr: index for index, attr in INDEX.values()}


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw)
    raise ValueError(f"unsized DynamoDB type {kind}")


def item_bytes(item: dict[str, Any]) -> int:
    """Attribute names + values, without the 100 B overhead."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Layout:
    """What one event costs in the events table, averaged over the mix."""

    items: float  # base-table items per event (event item + extra target items)
    item_bytes: float  # per event, base table, names + values + overhead
    item_writes: float  # write units of the base items per event
    entries: dict[str, float]  # index -> entries per event
    entry_bytes: dict[str, float]  # index -> bytes per event in that index (with overhead)
    document_bytes: float  # the JSON document `d` alone, per event
    over_1kb: float  # share of event items whose size passes one write unit
    min_event_item: int
    max_event_item: int

    @property
    def index_writes(self) -> float:
        return sum(self.entries.values())  # every index entry is far below 1 KB (checked in measure)

    @property
    def stored_bytes(self) -> float:
        return self.item_bytes + sum(self.entry_bytes.values())


def records_of(count: int) -> list[EventRecord]:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    settings = TenantSettings()
    records = []
    seen: set[str] = set()
    # Events as products send them, within the hour before their acceptance: none is late (a
    # backfilled event has one more item, the late-arrival item: docs/streaming.md).
    span = timedelta(minutes=50)
    for i, raw in enumerate(raw_events(count, now - span, span / max(count, 1))):
        raw["id"] = None  # products usually let the service assign a ULID (26 characters)
        del raw["id"]
        rejection, record = prepare(i, raw, tenant=TENANT, now=now, settings=settings, seen=seen)
        assert rejection is None and record is not None, rejection
        records.append(record)
    return records


def measure_layout(
    records: list[EventRecord], document: Callable[[str], dict[str, Any]] | None = None
) -> Layout:
    """Size what `to_items` writes; `document` may replace the `d` attribute (to try compression)."""
    n = len(records)
    items = item_sum = writes = doc_sum = over = 0
    sizes: list[int] = []
    entries: dict[str, float] = dict.fromkeys(INDEX_ATTRS.values(), 0.0)
    entry_bytes: dict[str, float] = dict.fromkeys(INDEX_ATTRS.values(), 0.0)
    for record in records:
        written = to_items(record)
        # An event with extra target items is one TransactWriteItems (first write wins, all or
        # nothing): transactional writes cost twice the write units of their base-table items (the
        # index entries they cause are standard writes). An event without is one conditional PutItem.
        transactional = 2 if len(written) > 1 else 1
        for k, item in enumerate(written):
            if document is not None and "d" in item:
                item = {**{a: v for a, v in item.items() if a != "d"}, **document(item["d"]["S"])}
            size = item_bytes(item) + OVERHEAD
            items += 1
            item_sum += size
            writes += transactional * write_units(size)
            if k == 0:
                doc_sum += sum(value_size(v) + len(a) for a, v in item.items() if a in ("d", "z"))
                over += size > KB
                sizes.append(size)
            key = {"pk": item["pk"], "ts": item["ts"], "exp": item["exp"]}
            for attr, index in INDEX_ATTRS.items():
                if attr in item:
                    entry = item_bytes({**key, attr: item[attr]}) + OVERHEAD
                    assert entry <= KB, "an index entry passed one write unit"
                    entries[index] += 1
                    entry_bytes[index] += entry
    return Layout(
        items=items / n,
        item_bytes=item_sum / n,
        item_writes=writes / n,
        entries={i: c / n for i, c in entries.items()},
        entry_bytes={i: b / n for i, b in entry_bytes.items()},
        document_bytes=doc_sum / n,
        over_1kb=over / n,
        min_event_item=min(sizes),
        max_event_item=max(sizes),
    )


@dataclass(frozen=True)
class Scenario:
    name: str
    layout: Layout
    batch: int = 100
    idempotency_read: bool = True  # one strongly consistent read unit per event (BatchGetItem)
    counter: bool = True  # one usage-counter UpdateItem per batch
    storage_price: float = STORAGE_STANDARD
    request_factor: float = 1.0
    pitr: bool = True
    lambda_seconds: float = 0.1  # billed duration per request
    lambda_gb: float = 1.0
    drop_indexes: tuple[str, ...] = ()
    note: str = ""


@dataclass
class Breakdown:
    lines: dict[str, float] = field(default_factory=dict)  # $ per million events
    writes: float = 0.0
    reads: float = 0.0
    stored_bytes: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def cost(s: Scenario) -> Breakdown:
    layout = s.layout
    entries = {i: c for i, c in layout.entries.items() if i not in s.drop_indexes}
    entry_bytes = {i: b for i, b in layout.entry_bytes.items() if i not in s.drop_indexes}
    m = 1e6
    b = Breakdown()
    index_writes = sum(entries.values())
    counter = (1 / s.batch) if s.counter else 0.0
    b.writes = layout.item_writes + index_writes + counter
    b.reads = 1.0 if s.idempotency_read else 0.0
    w = WRITE_UNIT * s.request_factor * m
    b.lines["writes: event items"] = layout.item_writes * w
    b.lines["writes: index entries"] = index_writes * w
    b.lines["writes: usage counter (1 per batch)"] = counter * w
    b.lines["reads: idempotency check (1 per event)"] = b.reads * READ_UNIT * s.request_factor * m
    base_gb = layout.item_bytes * m / GB
    index_gb = sum(entry_bytes.values()) * m / GB
    b.stored_bytes = layout.item_bytes + sum(entry_bytes.values())
    b.lines["storage: base table, 90 days"] = base_gb * s.storage_price * MONTHS_KEPT
    b.lines["storage: indexes, 90 days"] = index_gb * s.storage_price * MONTHS_KEPT
    b.lines["PITR (base table), 90 days"] = base_gb * PITR * MONTHS_KEPT if s.pitr else 0.0
    requests = m / s.batch
    b.lines["API Gateway REST requests"] = requests * APIGW_REST
    b.lines["Lambda requests"] = requests * LAMBDA_REQUEST
    b.lines["Lambda GB-s (arm64)"] = requests * s.lambda_seconds * s.lambda_gb * LAMBDA_GB_S
    return b


def lambda_seconds(cpu_per_event: float, layout: Layout, batch: int = 100, call_ms: float = 10.0) -> float:
    """Billed duration of one request: measured CPU (x86 here) + DynamoDB round trips at `call_ms` each.

    Round trips per request: the idempotency BatchGetItem, the usage UpdateItem, and the events'
    conditional writes (one PutItem, or one TransactWriteItems for an event with extra targets, per
    event), WRITE_THREADS at a time.
    """
    calls = 2 + math.ceil(batch / WRITE_THREADS)
    return cpu_per_event * batch + calls * call_ms / 1000


def compressed_document(text: str) -> dict[str, Any]:
    return {"z": {"B": zlib.compress(text.encode("utf-8"), 9)}}


def floor_layout(layout: Layout) -> Layout:
    """The same layout at its minimum: one write unit per item and entry, no extra target items."""
    extra = layout.items - 1
    per_item = layout.item_bytes / layout.items
    return replace(
        layout,
        items=1.0,
        item_writes=1.0,
        item_bytes=per_item,
        entries={**layout.entries, "by_target": max(0.0, layout.entries["by_target"] - extra)},
        entry_bytes={
            **layout.entry_bytes,
            "by_target": layout.entry_bytes["by_target"]
            * (max(0.0, layout.entries["by_target"] - extra) / (layout.entries["by_target"] or 1)),
        },
    )


@dataclass(frozen=True)
class Result:
    layout: Layout
    compressed: Layout
    current: Breakdown
    floor: Breakdown
    alternatives: list[tuple[str, Breakdown, str]]
    seconds: float
    cpu_per_event: float


def model(cpu_per_event: float | None = None, events: int = 2_000) -> Result:
    if cpu_per_event is None:
        from bench import ingest

        cpu_per_event = ingest.measure(ingest.Config(events_per_size=300, repeats=1), batches=(100,))[100][
            "handler"
        ]
    records = records_of(events)
    layout = measure_layout(records)
    compressed = measure_layout(records, compressed_document)
    seconds = lambda_seconds(cpu_per_event, layout)
    base = Scenario("current", layout, lambda_seconds=seconds)
    current = cost(base)
    floor = cost(replace(base, layout=floor_layout(layout), idempotency_read=False, counter=False))

    def ia(s: Scenario) -> Scenario:
        return replace(s, storage_price=STORAGE_IA, request_factor=s.request_factor * IA_REQUEST_FACTOR)

    def small(s: Scenario) -> Scenario:
        return replace(s, layout=compressed, drop_indexes=("by_time",))

    def provisioned(s: Scenario) -> Scenario:
        return replace(s, request_factor=s.request_factor * _provisioned_factor())

    per_million = _provisioned_factor() * WRITE_UNIT * 1e6
    alternatives = [
        ("compress the JSON document (zlib, binary `z`)", cost(replace(base, layout=compressed)),
         f"document {layout.document_bytes:,.0f} -> {compressed.document_bytes:,.0f} B"),
        ("table class Standard-IA", cost(ia(base)), "storage $0.10/GB-month, requests +25%"),
        ("compression + Standard-IA", cost(ia(replace(base, layout=compressed))), ""),
        ("drop `by_time` (time reads merge the action streams)",
         cost(replace(base, drop_indexes=("by_time",))), "one Query per action the tenant uses, per page"),
        ("drop `by_time` + compression", cost(small(base)), ""),
        ("drop `by_time` + compression + Standard-IA", cost(ia(small(base))), ""),
        ("no idempotency read (the conditional write alone keeps the first copy)",
         cost(replace(base, idempotency_read=False)), "a re-sent id then costs a refused write, not a read"),
        ("PITR off", cost(replace(base, pitr=False)), "not an option for an audit log; shown for scale"),
        ("provisioned capacity + auto scaling at 50% use (price to re-check)", cost(provisioned(base)),
         f"${PROVISIONED_WCU_HOUR}/WCU-h = ${per_million:.3f} per million writes"),
        ("provisioned + drop `by_time` + compression", cost(provisioned(small(base))), ""),
        ("projection ALL on every index (naive)", cost(replace(base, layout=_project_all(layout))),
         "every index entry a full copy"),
    ]  # fmt: skip
    return Result(layout, compressed, current, floor, alternatives, seconds, cpu_per_event)


def _provisioned_factor() -> float:
    """Provisioned price per write as a share of the on-demand price (reads scale alike, ~same ratio)."""
    per_write = PROVISIONED_WCU_HOUR / 3600 / PROVISIONED_UTILISATION
    return per_write / WRITE_UNIT


def _project_all(layout: Layout) -> Layout:
    per_item = layout.item_bytes / layout.items
    units = layout.item_writes / layout.items
    return replace(
        layout,
        entry_bytes={i: c * per_item for i, c in layout.entries.items()},
        entries={i: c * units for i, c in layout.entries.items()},
    )


def _writes_for_goal(result: Result) -> float:
    """Write units per event that would leave the goal met with everything else as measured."""
    cur = result.current
    writes = sum(v for k, v in cur.lines.items() if k.startswith("writes"))
    return (GOAL - (cur.total - writes)) / (WRITE_UNIT * 1e6)


def _money(x: float) -> str:
    return f"${x:,.3f}"


def breakdown_table(current: Breakdown, floor: Breakdown) -> list[str]:
    lines = ["| item | current layout | floor of the layout |", "|---|---:|---:|"]
    for name, value in current.lines.items():
        lines.append(f"| {name} | {_money(value)} | {_money(floor.lines.get(name, 0.0))} |")
    lines.append(
        f"| **total per million events** | **{_money(current.total)}** | **{_money(floor.total)}** |"
    )
    return lines


def document(result: Result) -> str:
    lay, cur, flo = result.layout, result.current, result.floor
    met = cur.total <= GOAL
    lines = [
        "# Cost per million events",
        "",
        "Generated by `python -m bench.cost` (also part of `make bench`). Prices: AWS list prices,",
        f"us-east-1, on demand, checked {PRICES_DATE} (`../shared/REFERENCE.md`). {report.stamp()}",
        "",
        "Scenario: one million events ingested through `POST /v1/events` in batches of 100 and kept",
        "90 days (2.96 months of storage), point-in-time recovery on, every filter indexed (four GSIs",
        "projecting `exp`). Sizes are measured by sizing what `dal.events.to_items` writes for a mix of",
        f"{2_000:,} realistic events (`bench/workload.py`: actor with name and email, 0-2 targets, IP,",
        "user agent, session, two metadata keys, some descriptions and changes; ids assigned by the",
        "service), with DynamoDB's size rules: attribute names + values, numbers ~1 byte per two digits",
        "+ 1, +100 B per item and per index entry (counted for the 1 KB write unit too: conservative).",
        "",
        f"Goal ≤ ${GOAL:.2f} per million events: {report.verdict(met)} ({_money(cur.total)}).",
        "",
        "## Breakdown",
        "",
        *breakdown_table(cur, flo),
        "",
        "The *floor* is the same layout at its minimum: one write unit per item and index entry, no",
        "extra target items, no idempotency read and no usage counter; storage and requests as measured.",
        "",
        "## What one event writes and stores (measured)",
        "",
        "| quantity | per event |",
        "|---|---:|",
        f"| base-table items (event + extra targets) | {lay.items:.2f} |",
        f"| event item size, min / mean / max (with 100 B overhead) | {lay.min_event_item:,} / "
        f"{lay.item_bytes / lay.items:,.0f} (all items) / {lay.max_event_item:,} B |",
        f"| JSON document `d` (name + value) | {lay.document_bytes:,.0f} B |",
        f"| event items above the 1 KB write unit | {lay.over_1kb:.1%} |",
        f"| write units, base items | {lay.item_writes:.2f} |",
    ]
    for index, count in lay.entries.items():
        size = lay.entry_bytes[index] / count if count else 0
        lines.append(f"| `{index}` entries (each ~{size:,.0f} B, 1 write unit) | {count:.2f} |")
    lines += [
        f"| **write units per event** (items + entries + counter/100) | **{cur.writes:.2f}** |",
        f"| read units per event (strongly consistent idempotency check) | {cur.reads:.2f} |",
        f"| bytes stored per event (base + indexes) | {cur.stored_bytes:,.0f} B |",
        f"| Lambda billed duration per request of 100 (measured CPU + 10 ms per DynamoDB call) | "
        f"{result.seconds * 1e3:,.0f} ms at 1 GB |",
        "",
        "## What would lower it",
        "",
        "| change | $ per million | vs current | note |",
        "|---|---:|---:|---|",
    ]
    for name, b, note in result.alternatives:
        lines.append(f"| {name} | {_money(b.total)} | {b.total - cur.total:+,.3f} | {note} |")
    best, best_provisioned = _best(result, provisioned=False), _best(result, provisioned=True)
    two_fewer = cost(
        Scenario(
            "two fewer",
            result.compressed,
            lambda_seconds=result.seconds,
            drop_indexes=("by_time", "by_action"),
        )
    )
    lines += [
        "",
        "### What would meet the goal",
        "",
        f"On demand, nothing listed reaches ${GOAL:.2f}: the floor of this layout is {_money(flo.total)}",
        f"(five write units per event at ${WRITE_UNIT * 1e6:.3f} are {_money(5 * WRITE_UNIT * 1e6)} before",
        f"any storage), and the best on-demand change is *{best[0]}* at {_money(best[1].total)}.",
        f"Meeting it on demand needs about {_writes_for_goal(result):.1f} write units per event or fewer",
        f"(now {cur.writes:.2f}) with storage as measured: two of the four indexes fewer, e.g.",
        f"*drop `by_time` and `by_action` + compression* at {_money(two_fewer.total)}, which gives up",
        "indexed action filters, or a different layout (e.g. events grouped per request into one item",
        "with compressed documents, and index items listing ids) that this design does not have.",
        "With provisioned capacity and auto scaling (the events table's write rate is steady)",
        f"*{best_provisioned[0]}* costs {_money(best_provisioned[1].total)}: "
        f"{report.verdict(best_provisioned[1].total <= GOAL)} if the provisioned price",
        f"(${PROVISIONED_WCU_HOUR}/WCU-hour, not in REFERENCE.md) and the 50% utilisation hold.",
        "",
        "Writes dominate: each event costs one write unit for its item and one per index entry, so the",
        "number of indexes decides the bill, not the item size (the typical item is already below 1 KB).",
        "Compression saves storage and PITR (and keeps large events under one write unit) but costs",
        "CPU and makes the stored document opaque to tools. Standard-IA halves storage but makes",
        "every write 25% dearer: with writes dominant it only pays off combined with a smaller layout.",
        "Dropping `by_time` saves one write and one entry per event; time-only reads then merge one",
        "stream per action of the tenant (already supported by the merged-read code), which costs",
        "reads on tenants with many actions. The idempotency read is cheap ($0.125) and keeps",
        "re-sent events from being stored twice.",
        "",
        "Not counted: the authorizer (its answer is cached per key), settings reads (cached 60 s per",
        "container), query and export traffic, CloudWatch Logs, data transfer, the free tiers.",
    ]
    return "\n".join(lines) + "\n"


def _best(result: Result, provisioned: bool) -> tuple[str, Breakdown, str]:
    """The cheapest listed change that keeps PITR and the indexes' meaning (no naive rows)."""
    allowed = [
        a
        for a in result.alternatives
        if ("provisioned" in a[0]) == provisioned and "PITR off" not in a[0] and "naive" not in a[0]
    ]
    return min(allowed, key=lambda a: a[1].total)


def summary(result: Result) -> str:
    cur = result.current
    best = _best(result, provisioned=False)
    best_provisioned = _best(result, provisioned=True)
    return "\n".join(
        [
            "## Cost model",
            "",
            report.stamp(),
            "",
            f"Full table: [cost.md](cost.md) (prices {PRICES_DATE}). Per million events ingested and kept",
            "90 days, PITR on, four indexes, batches of 100, sizes measured from `to_items`:",
            "",
            *breakdown_table(cur, result.floor),
            "",
            f"Goal ≤ ${GOAL:.2f}: {report.verdict(cur.total <= GOAL)} ({_money(cur.total)}; "
            f"{cur.writes:.2f} write units and {cur.stored_bytes:,.0f} B stored per event). "
            f"Cheapest on-demand change listed in cost.md: {best[0]}, {_money(best[1].total)}; "
            f"with provisioned capacity: {best_provisioned[0]}, {_money(best_provisioned[1].total)}.",
        ]
    )


def main() -> int:
    result = model()
    (report.ROOT / "docs" / "cost.md").write_text(document(result))
    print(document(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
