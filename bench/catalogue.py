"""Catalogue benchmark: what keeping /v1/actions, /v1/actors and /v1/targets up to date costs per
event (issue 14: under 0.01 extra write units per event in the steady state), and what a
restricted key's catalogue read costs.

Runs in process against moto (`moto.mock_aws`): the real `ControlTable` (its catalogue part,
`dal/catalogue.py`) and the real ingestion side (`logic.catalogue.record_entries`, as
`logic.ingest.ingest` calls it for every batch), fed a month of a 1M-events-a-month tenant in
batches of 100, spread over containers that are replaced every few hours (each new one starts with
an empty memory). A thin wrapper around the boto3 client counts the catalogue's UpdateItem and
BatchGetItem requests and estimates their units (moto's ConsumedCapacity is a constant).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.dal.catalogue import TERM_BYTES
from activitylog.dal.control import ControlTable
from activitylog.logic.catalogue import (
    DAY,
    REFRESH,
    CatalogueMemory,
    CataloguePorts,
    list_targets,
    record_entries,
)
from activitylog.models.auth import Principal
from activitylog.models.catalogue import Sighting

from bench import report
from bench.workload import raw_event

TENANT = "acme-corp"
TABLE = "bench-control"
GOAL = 0.01
WRITE_PRICE = 0.625  # $ per million write request units (on demand, ../shared/REFERENCE.md)
READ_PRICE = 0.125  # $ per million read request units
STORAGE_PRICE = 0.25  # $ per GB-month
MARKER = "catalogue"


@dataclass(frozen=True)
class Config:
    days: int = 30
    events_per_day: int = 33_334  # 1M a month
    actors: int = 300
    assets: int = 500
    containers: int = 4  # concurrent ingest containers, batches spread over them
    lifetime_hours: int = 6  # a container's life: then a new one, with an empty memory
    renames_per_day: int = 6  # actors whose name changes each day


def item_size(key: dict[str, Any], values: dict[str, Any]) -> int:
    """Attribute names + values of a catalogue item written whole by one UpdateItem."""
    size = sum(len(k) + len(v["S"].encode()) for k, v in key.items())
    for name, value in values.items():
        size += len(name.lstrip(":")) + value_size(value)
    return size


def value_size(value: dict[str, Any]) -> int:
    if "S" in value:
        return len(value["S"].encode())
    if "N" in value:
        return len(value["N"]) // 2 + 1
    return sum(len(v.encode()) for v in value.get("SS", []))


class Counting:
    """Delegates to a boto3 DynamoDB client; counts the catalogue's requests and their units.

    BatchGetItem is answered from the wrapper's own copy of what was written (every catalogue
    UpdateItem sets a whole item, or only `exp` when it hides one), as moto would answer it:
    moto's BatchGetItem takes about 0.3 s per 100 keys, which made a month's run take an hour.
    The writes still go to moto, which checks every expression."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()  # moto in process is not thread-safe; the catalogue writes in threads
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        self.updates = self.write_units = self.batch_gets = self.keys_read = 0
        self.item_bytes: dict[tuple[str, str], int] = {}

    def update_item(self, **kwargs: Any) -> Any:
        with self._lock:
            key = kwargs["Key"]
            if "#CAT#" not in key["pk"]["S"]:  # usage counters, the actions' name set: not counted here
                return self._client.update_item(**kwargs)
            self.updates += 1
            size = item_size(key, kwargs.get("ExpressionAttributeValues", {}))
            where = (key["pk"]["S"], key["sk"]["S"])
            values = kwargs.get("ExpressionAttributeValues", {})
            if kwargs["UpdateExpression"].startswith("SET #exp = :now"):  # hiding an item: its own size
                size = self.item_bytes.get(where, size)
                if where in self.items:
                    self.items[where]["exp"] = values[":now"]
            else:
                self.item_bytes[where] = size
                names = kwargs.get("ExpressionAttributeNames", {})
                self.items[where] = {**key, **{names[f"#{v[1:]}"]: value for v, value in values.items()}}
            self.write_units += max(1, math.ceil(size / 1024))
            return self._client.update_item(**kwargs)

    def batch_get_item(self, **kwargs: Any) -> Any:
        with self._lock:
            self.batch_gets += 1
            [(table, request)] = kwargs["RequestItems"].items()
            self.keys_read += len(request["Keys"])
            found = [self.items.get((k["pk"]["S"], k["sk"]["S"])) for k in request["Keys"]]
            return {"Responses": {table: [dict(i) for i in found if i is not None]}, "UnprocessedKeys": {}}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def create_control_table(client: Any, name: str = TABLE) -> None:
    """The control table's keys as infra/constructs/tables.py defines them (its GSI is not used here)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )


def sighting_of(raw: dict[str, Any], occurred: datetime) -> Sighting:
    """What ingestion's `prepare` hands the catalogue for this event (retention 90 days)."""
    actor = raw["actor"]
    return Sighting(
        action=raw["action"],
        actor=(actor["id"], actor.get("type", "user"), actor.get("name"), actor.get("email")),
        targets=tuple((t["type"], t["id"], t.get("name")) for t in raw.get("targets", ())),
        occurred_ms=round(occurred.timestamp() * 1000),
        expires=math.ceil(occurred.timestamp()) + 90 * DAY,
    )


@dataclass
class Day:
    events: int = 0
    updates: int = 0
    write_units: int = 0
    batch_gets: int = 0
    keys_read: int = 0


def simulate(config: Config, counting: Counting, control: ControlTable, start: datetime) -> list[Day]:
    days: list[Day] = []
    step = timedelta(seconds=DAY / config.events_per_day)
    memories: list[CatalogueMemory] = []
    born = start - timedelta(days=1)
    i = 0
    for day in range(config.days):
        counting.reset()
        renamed = {(day * config.renames_per_day + k) % config.actors for k in range(config.renames_per_day)}
        batch: list[Sighting] = []
        for n in range(config.events_per_day):
            at = start + timedelta(days=day) + step * n
            if at - born >= timedelta(hours=config.lifetime_hours) or not memories:
                memories, born = [CatalogueMemory() for _ in range(config.containers)], at
            raw = raw_event(i, at, actors=config.actors, assets=config.assets)
            actor = int(raw["actor"]["id"].split("-")[1])
            if actor in renamed:
                raw["actor"]["name"] += f" (from day {day})"
            batch.append(sighting_of(raw, at))
            i += 1
            if len(batch) == 100:
                memory = memories[(i // 100) % config.containers]
                record_entries(TENANT, batch, now=int(at.timestamp()), store=control, memory=memory)
                batch = []
        days.append(
            Day(
                config.events_per_day,
                counting.updates,
                counting.write_units,
                counting.batch_gets,
                counting.keys_read,
            )
        )
    return days


def stored_bytes(client: Any) -> tuple[int, int]:
    """Items and bytes (names + values + 100 B overhead) of the tenant's catalogue now (the bench's
    own table holds nothing else; a Scan is fine here, never in the service)."""
    items = size = 0
    for item in client.scan(TableName=TABLE)["Items"]:
        if "#CAT#" not in item["pk"]["S"]:
            continue
        items += 1
        for name, value in item.items():
            size += len(name) + value_size(value)
    return items, size + 100 * items


def restricted_read(now: datetime) -> dict[str, float]:
    """A self key's `GET /v1/targets` (from its own latest 1,000 events) against the tenant-wide one."""
    import boto3
    from activitylog.dal.events import DynamoEventStore
    from activitylog.logic.ingest import IngestPorts, ingest
    from activitylog.logic.query import QueryPorts
    from activitylog.models.settings import TenantSettings

    from bench.query import TABLE as EVENTS
    from bench.query import CountingDynamoDB, create_events_table

    raw_client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106
    )
    create_events_table(raw_client)
    create_control_table(raw_client, "bench-control-2")
    counting = CountingDynamoDB(raw_client)
    events = DynamoEventStore(EVENTS, counting)
    control = ControlTable("bench-control-2", Counting(raw_client))
    ports = IngestPorts(events=events, catalogue=control, known_actions=set(), usage=control, entries=control)
    start = now - timedelta(days=20)
    for first in range(0, 1_500, 100):
        batch = [
            raw_event(i, start + timedelta(minutes=10 * i), actors=1, assets=300)
            for i in range(first, first + 100)
        ]
        assert ingest(batch, tenant=TENANT, now=now, settings=TenantSettings(), ports=ports).accepted == 100
    query = QueryPorts(events=events, known_actions=lambda: control.known_actions(TENANT))
    catalogue = CataloguePorts(store=control, query=lambda: query)
    me = Principal(tenant=TENANT, key_id="k", scopes=frozenset({"events:read:self"}), actor_id="user-0")
    counting.reset()
    page = list_targets(me, target_type=None, q=None, limit=50, cursor=None, now=now, ports=catalogue)
    assert page.targets
    document_units = counting.keys_fetched * 0.5  # each stored event is well under 4 KB
    return {
        "queries": counting.queries,
        "index_units": counting.read_units,
        "documents": counting.keys_fetched,
        "units": counting.read_units + document_units,
    }


def measure(config: Config) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    start = datetime(2026, 11, 1, tzinfo=UTC)
    with mock_aws():
        client = boto3.session.Session().client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106
        )
        create_control_table(client)
        counting = Counting(client)
        control = ControlTable(TABLE, counting)
        days = simulate(config, counting, control, start)
        items, size = stored_bytes(client)
        restricted = restricted_read(datetime.now(UTC).replace(microsecond=0))
    return {"days": days, "items": items, "bytes": size, "restricted": restricted}


def _per(days: list[Day], attr: str) -> float:
    return sum(getattr(d, attr) for d in days) / sum(d.events for d in days)


def render(config: Config, result: dict[str, Any]) -> tuple[str, str]:
    """The benchmarks.md section and the cost.md section."""
    days: list[Day] = result["days"]
    cold, steady = days[:1], days[1:]
    wu, ru = _per(steady, "write_units"), _per(steady, "keys_read") * 0.5
    met = wu < GOAL
    refresh_days = REFRESH // DAY
    entries = config.actors + config.assets + 40 + 8
    restricted = result["restricted"]
    bench = [
        "## Catalogue: write units per event",
        "",
        report.stamp(),
        "",
        f"{config.days} days of a tenant writing {config.events_per_day:,} events a day (1M a month),",
        f"{config.actors} actors, {config.assets} assets, 40 folders, 8 actions (`bench/workload.py`),",
        f"{config.renames_per_day} actors renamed every day, in batches of 100 spread over "
        f"{config.containers} ingest containers that are",
        f"replaced every {config.lifetime_hours} hours (each new one starts knowing nothing). The real "
        "`record_entries` (what `ingest` calls",
        "per batch) on the real `ControlTable` in moto; UpdateItem write units estimated from the item",
        "written (names + values, rounded up to 1 KB), BatchGetItem as half a read unit per key.",
        "",
        "| phase | events | UpdateItem | write units | write units / event | BatchGetItem keys "
        "| read units / event |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, span in (("day 1 (every entry new)", cold), (f"days 2-{config.days} (steady state)", steady)):
        events, updates = sum(d.events for d in span), sum(d.updates for d in span)
        bench.append(
            f"| {name} | {events:,} | {updates:,} | {sum(d.write_units for d in span):,} | "
            f"{_per(span, 'write_units'):.4f} | {sum(d.keys_read for d in span):,} | "
            f"{_per(span, 'keys_read') * 0.5:.4f} |"
        )
    bench += [
        "",
        f"Goal < {GOAL} extra write units per event in the steady state: {report.verdict(met)} "
        f"({wu:.4f}; reads {ru:.4f} units per event).",
        "",
        "In the steady state a container writes nothing for an entry it has recorded or read: only a",
        f"new entry, a changed name or email, or an event expiring more than {refresh_days} days after the",
        "one recorded is written (about once per "
        f"{refresh_days} days per entry in use), after reading what is stored.",
        "The write units per event are therefore about *items per entry x entries in use / "
        f"({refresh_days} x events per day)*:",
        f"{entries} entries here; a tenant with ten times the distinct actors and targets for the same",
        "traffic pays about ten times as much (still well under a write unit per event).",
        "",
        f"A restricted key (`events:read:self`) reads its catalogue from its own latest events: "
        f"`GET /v1/targets` for an actor with 1,500 events read {restricted['documents']:,} events in "
        f"{restricted['queries']} Queries, about {restricted['units']:.0f} read units "
        f"(${restricted['units'] * READ_PRICE / 1e6 * 1e6:.0f} per million calls), where a "
        "tenant-wide page is one Query of about half a unit.",
    ]
    storage_month = result["bytes"] / 1e9 * STORAGE_PRICE
    cost = [
        "## Catalogue",
        "",
        f"Measured by `python -m bench catalogue` ({report.stamp()[9:].rstrip('.')}; details in",
        "benchmarks.md).",
        "",
        "What keeping `/v1/actions`, `/v1/actors` and `/v1/targets` current adds per event, for the",
        f"tenant of the benchmark (1M events a month, {entries} distinct actions, actors and targets,",
        f"{config.renames_per_day} renames a day):",
        "",
        "| item | per event | per million events |",
        "|---|---:|---:|",
        f"| writes (UpdateItem, steady state) | {wu:.4f} units | ${wu * WRITE_PRICE:.4f} |",
        f"| reads (BatchGetItem of new containers) | {ru:.4f} units | ${ru * READ_PRICE:.4f} |",
        f"| storage ({result['items']:,} items, {result['bytes'] / 1e3:,.0f} KB, whole catalogue) | "
        f"{result['bytes'] / (config.events_per_day * 30):.3f} B | "
        f"${storage_month:.6f} a month |",
        "",
        "Each entry is one item per distinct searchable value (actor: id, name, email; target: id,",
        "name, twice: all types and its own type; action: one), each about 150-250 B, so an entry",
        f"costs 3-4 write units when it is new or renamed and again about every {refresh_days} days while",
        "it is in use; a write per event would cost 8-11 units. It grows with the distinct entries",
        "in use, not with the events: *items per entry x entries / "
        f"({refresh_days} x events a day)*. Storage is",
        "bounded by the distinct entries (one item per searchable value, kept until "
        f"{refresh_days} days and a day",
        "after its last recorded event expired), not by the events. The first event of a new container",
        "for an entry costs half a read unit (it reads before it writes).",
        "",
        f"Terms are cut to {TERM_BYTES} bytes in keys, so an item is at most ~2.5 KB (3 write units).",
    ]
    return "\n".join(bench), "\n".join(cost)


def run(config: Config | None = None) -> str:
    config = config or Config()
    print("catalogue: write units per event (moto) ...", flush=True)
    result = measure(config)
    bench, cost = render(config, result)
    report.write_section(MARKER, cost, path=report.ROOT / "docs" / "cost.md")
    return bench


def keep_cost_section(previous: str) -> None:
    """Put the catalogue's section of docs/cost.md back after the cost model rewrote the file."""
    start, end = f"<!-- bench:{MARKER}:start -->", f"<!-- bench:{MARKER}:end -->"
    if start in previous and end in previous:
        text = previous.split(start, 1)[1].split(end, 1)[0].removeprefix("\n")  # write_section adds it back
        report.write_section(MARKER, text, path=report.ROOT / "docs" / "cost.md")
