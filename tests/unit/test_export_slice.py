"""The export slice over in-memory ports: exactly the events GET /v1/events lists for the export's
filters within [start, end), oldest first, each row rendered as the API renders that event."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.dal import events as event_store
from activitylog.logic import export_format as fmt
from activitylog.logic.export_workflow import SliceRef, WorkflowPorts, slice_key, write_slice
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import QueryPorts, list_events
from activitylog.models.auth import Principal
from activitylog.models.events import StoredEvent
from activitylog.models.exports import Export, RunRecord
from activitylog.models.filters import EventFilter
from activitylog.models.query import IndexPage, IndexRead, Stream
from activitylog.models.settings import LoggingSettings, TenantLimits, TenantSettings
from activitylog.models.text import format_time

from tests.fakes import FakeControl, FakeEventStore, FakeExports, MemoryFiles

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
START, END = NOW - timedelta(hours=3), NOW - timedelta(hours=1)
TENANT, EXPORT_ID, RUN_ID = "acme", "01KEXPORT0000000000000000A", "01KRUN00000000000000000000"
READER = Principal(tenant=TENANT, key_id="k1", scopes=frozenset({"events:read"}))
# Three events are kept for one day only. The store below hands out expired entries too (as an
# index whose expiry filter lagged), so only the check on the event itself drops them: at LATER, the
# one of START + 20 min has expired, the one of START + 30 min expires at LATER rounded to the
# millisecond (`epoch_millis`, as before), the one of START + 40 min is still there.
SHORT_LIVED = {"s20": 20, "s30": 30, "s40": 40}
LATER = START + timedelta(days=1, minutes=30) - timedelta(microseconds=400)

ACTORS = [{"id": "alice", "name": "Ada Lovelace"}, {"id": "bob", "email": "BOB@example.com"}, {"id": "carol"}]
ACTIONS = ["asset.downloaded", "asset.viewed", "user.login", "assets.moved"]
TARGETS: list[list[dict[str, str]]] = [
    [{"type": "asset", "id": "7"}],
    [{"type": "asset", "id": "8"}],
    [{"type": "a\x1fb", "id": "c"}],  # this target and the next share one index key
    [{"type": "a", "id": "b\x1fc"}],
    [],
    [{"type": "folder", "id": "1"}, {"type": "asset", "id": "7", "name": "Quarterly report"}],
]


def scenario() -> list[dict[str, Any]]:
    """Events before, inside and after the slice, and on its bounds."""
    times = [START - timedelta(minutes=10) + timedelta(minutes=3 * i) for i in range(50)]
    times += [START, START - timedelta(milliseconds=1), END, END - timedelta(milliseconds=1)]
    events = []
    for i, at in enumerate(times):
        event: dict[str, Any] = {
            "id": f"e{i:03d}",
            "action": ACTIONS[i % len(ACTIONS)],
            "actor": ACTORS[i % len(ACTORS)],
            "targets": TARGETS[i % len(TARGETS)],
            "occurred_at": at.isoformat(),
            "outcome": "failure" if i % 7 == 0 else "success",
            "metadata": {"n": i, "ratio": i / 8},
        }
        if i % 6 == 0:
            event["description"] = "Exported the QUARTERLY numbers"
        if i % 4 == 1:
            event["context"] = {"ip": "203.0.113.9"}
        events.append(event)
    return events


def short_lived() -> list[dict[str, Any]]:
    return [
        {
            "id": event_id,
            "action": "asset.viewed",
            "actor": ACTORS[0],
            "targets": TARGETS[0],
            "description": "quarterly",
            "occurred_at": (START + timedelta(minutes=minutes)).isoformat(),
        }
        for event_id, minutes in SHORT_LIVED.items()
    ]


def seed(store: FakeEventStore, control: FakeControl, shards: int) -> None:
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
    for events, days in ((scenario(), 90), (short_lived(), 1)):
        settings = TenantSettings(
            logging=LoggingSettings(retention_days=days), limits=TenantLimits(shard_count=shards)
        )
        answer = ingest(events, tenant=TENANT, now=NOW, settings=settings, ports=ports)
        assert answer.accepted == len(events), answer


def targets(event: dict[str, Any]) -> set[tuple[str, str]]:
    return {(t["type"], t["id"]) for t in event["targets"]}


def text(event: dict[str, Any]) -> str:
    return " ".join(
        [event.get("description", ""), event.get("context", {}).get("ip", "")]
        + [*event["actor"].values()]
        + [t.get("name", "") for t in event["targets"]]
    ).casefold()


# An export's filters, and which of the events above GET /v1/events means by them.
Case = tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]
CASES: list[Case] = [
    ({}, lambda e: True),
    ({"actor_id": "alice"}, lambda e: e["actor"]["id"] == "alice"),
    ({"actions": ["asset.*"]}, lambda e: e["action"] in ("asset.downloaded", "asset.viewed")),
    ({"actions": ["user.login", "asset.viewed"]}, lambda e: e["action"] in ("user.login", "asset.viewed")),
    ({"target_type": "asset", "target_id": "7"}, lambda e: ("asset", "7") in targets(e)),
    ({"target_type": "a", "target_id": "b\x1fc"}, lambda e: ("a", "b\x1fc") in targets(e)),
    ({"target_type": "a\x1fb", "target_id": "c"}, lambda e: ("a\x1fb", "c") in targets(e)),
    ({"outcome": "failure"}, lambda e: e.get("outcome", "success") == "failure"),
    ({"q": "quarterly"}, lambda e: "quarterly" in text(e)),
    ({"q": "bob@EXAMPLE"}, lambda e: e["actor"]["id"] == "bob"),
    ({"q": "203.0.113"}, lambda e: "context" in e),
    (
        {"actor_id": "bob", "actions": ["asset.*"], "outcome": "success"},
        lambda e: (
            e["actor"]["id"] == "bob"
            and e["action"].startswith("asset.")
            and e.get("outcome", "success") == "success"
        ),
    ),
    (
        {"actions": ["asset.*"], "target_type": "asset", "target_id": "7", "q": "ada"},
        lambda e: e["action"].startswith("asset.") and "ada" in text(e) and ("asset", "7") in targets(e),
    ),
]


def meant(keep: Callable[[dict[str, Any]], bool]) -> list[str]:
    """The ids `keep` selects among the events alive at LATER within [START, END), oldest first."""
    later_ms = round(LATER.timestamp() * 1000)
    chosen = []
    for event, days in [(e, 90) for e in scenario()] + [(e, 1) for e in short_lived()]:
        at = datetime.fromisoformat(event["occurred_at"])
        expires_ms = (math.ceil(at.timestamp()) + days * 86_400) * 1000
        if START <= at < END and expires_ms > later_ms and keep(event):
            chosen.append((at, event["id"]))
    return [event_id for _at, event_id in sorted(chosen)]


class LaggingExpiry(FakeEventStore):
    def query_index(self, tenant: str, stream: Stream, request: IndexRead) -> IndexPage:
        return super().query_index(tenant, stream, replace(request, now_s=0))


@pytest.fixture(params=[False, True], ids=["digests", "every-key-collides"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FakeEventStore:
    if request.param:  # every actor and target in one index partition: only the re-check filters
        monkeypatch.setattr(event_store, "digest", lambda value: "one-key")
    return LaggingExpiry()


def query_ports(store: FakeEventStore, control: FakeControl, shards: int) -> QueryPorts:
    return QueryPorts(events=store, known_actions=lambda: control.known_actions(TENANT), shard_count=shards)


def listed(filters: dict[str, Any], ports: QueryPorts) -> list[StoredEvent]:
    """Every page of GET /v1/events for `filters` within [START, END), oldest first."""
    event_filters = EventFilter(
        actor_id=filters.get("actor_id"),
        actions=tuple(filters.get("actions", ())),
        target_type=filters.get("target_type"),
        target_id=filters.get("target_id"),
        outcome=filters.get("outcome"),
        q=filters.get("q"),
        from_=START,
        to=END,
    )
    events: list[StoredEvent] = []
    cursor = None
    while True:
        page = list_events(READER, event_filters, order="asc", limit=7, cursor=cursor, now=LATER, ports=ports)
        events += page.events
        cursor = page.next_cursor
        if cursor is None:
            return events


def an_export(filters: dict[str, Any], kind: fmt.Format) -> Export:
    return Export(
        id=EXPORT_ID,
        name="slice",
        format=kind,
        compression="none",
        filters=EventFilter.model_validate(filters),
        recipients=[],
        created_at=NOW,
    )


def sliced(
    export: Export, ports: QueryPorts, *, start: datetime = START, end: datetime = END, now: datetime = LATER
) -> tuple[bytes, int]:
    """What write_slice stores for [start, end) of `export` (with a running run), and its row count."""
    exports, files = FakeExports(), MemoryFiles()
    exports.exports[(TENANT, EXPORT_ID)] = export
    exports.put_run(TENANT, RunRecord(id=RUN_ID, export_id=EXPORT_ID, status="running", created_at=NOW))
    ref = SliceRef(TENANT, EXPORT_ID, RUN_ID, index=3, start=format_time(start), end=format_time(end))
    answer = write_slice(
        ref,
        now=now,
        ports=WorkflowPorts(store=exports, files=files, query=lambda tenant: ports),  # type: ignore[arg-type]
    )
    stored = files.objects[slice_key(TENANT, EXPORT_ID, RUN_ID, 3)]
    assert answer["index"] == 3 and answer["bytes"] == len(stored)
    return stored, answer["rows"]


@pytest.mark.parametrize("shards", [1, 3])
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_a_slice_holds_exactly_what_the_api_lists_oldest_first(
    store: FakeEventStore, kind: fmt.Format, shards: int
) -> None:
    # Given events around the slice's bounds and its expiry edge, with colliding target keys
    control = FakeControl()
    seed(store, control, shards)
    ports = query_ports(store, control, shards)
    everything = [e.id for e in listed({}, ports)]
    assert {"e050", "e053", "s40"} <= set(everything)  # START and END - 1 ms are in; s40 is alive
    assert {"e051", "e052", "s20", "s30"}.isdisjoint(everything)  # START - 1 ms, END; expired
    assert int(store.items[event_store.event_pk(TENANT, "s30")]["exp"]["N"]) > LATER.timestamp()
    assert int(store.items[event_store.event_pk(TENANT, "s20")]["exp"]["N"]) < LATER.timestamp()
    for filters, keep in CASES:
        # When the slice is written for the export's filters
        data, rows = sliced(an_export(filters, kind), ports)
        # Then it holds the API's events for those filters, oldest first, rendered as the API does
        expected = listed(filters, ports)
        assert [e.id for e in expected] == meant(keep), filters
        assert expected and (len(expected) < len(everything) or not filters), filters
        assert rows == len(expected), filters
        assert data == b"".join(fmt.render(expected, kind)), filters
