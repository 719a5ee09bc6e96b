"""The query engine over an in-memory store: merged streams, cursors, budgets and visibility."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import Budget, QueryPorts, count_events, get_event, list_events
from activitylog.models.auth import Principal
from activitylog.models.errors import BadRequestError, ForbiddenError, NotFoundError
from activitylog.models.filters import EventFilter, Order
from activitylog.models.settings import TenantLimits, TenantSettings

from tests.fakes import FakeControl, FakeEventStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
READER = Principal(tenant="acme", key_id="k1", scopes=frozenset({"events:read"}))


def seed(
    store: FakeEventStore,
    control: FakeControl,
    events: list[dict[str, Any]],
    tenant: str = "acme",
    shards: int = 1,
    now: datetime = NOW,
) -> None:
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
    answer = ingest(
        events,
        tenant=tenant,
        now=now,
        settings=TenantSettings(limits=TenantLimits(shard_count=shards)),
        ports=ports,
    )
    assert answer.accepted == len(events), answer


def make(n: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": f"e{i:03d}",
            "action": fields.get("action", "asset.downloaded"),
            "actor": {"id": fields.get("actor", "u1")},
            "occurred_at": (NOW - timedelta(minutes=n - i)).isoformat(),
        }
        for i in range(n)
    ]


@pytest.fixture
def env() -> tuple[FakeEventStore, FakeControl]:
    return FakeEventStore(), FakeControl()


def ports_for(
    store: FakeEventStore, control: FakeControl, tenant: str = "acme", shards: int = 1
) -> QueryPorts:
    return QueryPorts(events=store, known_actions=lambda: control.known_actions(tenant), shard_count=shards)


def all_pages(
    principal: Principal,
    filters: EventFilter,
    ports: QueryPorts,
    limit: int = 7,
    budget: Budget | None = None,
    order: Order = "desc",
) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(1000):
        page = list_events(
            principal, filters, order=order, limit=limit, cursor=cursor, now=NOW, ports=ports, budget=budget
        )
        assert len(page.events) <= limit
        ids += [e.id for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


def test_newest_first_by_default_and_every_event_once(env: Any) -> None:
    store, control = env
    seed(store, control, make(30))
    ids = all_pages(READER, EventFilter(), ports_for(store, control))
    assert ids == [f"e{i:03d}" for i in reversed(range(30))]
    asc = all_pages(READER, EventFilter(), ports_for(store, control), order="asc")
    assert asc == list(reversed(ids))


def test_filters_are_served_by_their_index_without_waste(env: Any) -> None:
    store, control = env
    seed(store, control, make(20, actor="alice") + [dict(e, id="b" + e["id"]) for e in make(20, actor="bob")])
    ids = all_pages(READER, EventFilter(actor_id="alice"), ports_for(store, control), limit=5)
    assert len(ids) == 20 and all(i.startswith("e") for i in ids)
    assert store.scanned <= store.returned * 1.1 + 5  # one boundary re-read per page at most


def test_repeated_and_prefix_actions_merge_in_time_order(env: Any) -> None:
    store, control = env
    events = make(12)
    for i, e in enumerate(events):
        e["action"] = ["asset.downloaded", "asset.viewed", "user.login"][i % 3]
    seed(store, control, events)
    prefix = all_pages(READER, EventFilter(actions=("asset.*",)), ports_for(store, control), limit=3)
    assert prefix == [e["id"] for e in reversed(events) if e["action"].startswith("asset.")]
    both = all_pages(READER, EventFilter(actions=("user.login", "asset.viewed")), ports_for(store, control))
    assert both == [e["id"] for e in reversed(events) if e["action"] in ("user.login", "asset.viewed")]
    none = all_pages(READER, EventFilter(actions=("nothing.*",)), ports_for(store, control))
    assert none == []


def test_sharded_tenant_reads_merge_every_shard(env: Any) -> None:
    store, control = env
    seed(store, control, make(40), shards=4)
    tpks = {item["tpk"]["S"] for item in store.items.values()}
    assert len(tpks) > 1
    ids = all_pages(READER, EventFilter(), ports_for(store, control, shards=4), limit=6)
    assert ids == [f"e{i:03d}" for i in reversed(range(40))]


@pytest.mark.parametrize("shards", [2, 3, 4, 7])
@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8, 13])
def test_merged_streams_lose_nothing_whatever_the_page_size(env: Any, shards: int, limit: int) -> None:
    # Regression: a stream read to its end in a round, but cut by another stream's frontier, must
    # be read again next round (it once dropped out and lost its tail).
    store, control = env
    seed(store, control, make(60), shards=shards)
    ports = ports_for(store, control, shards=shards)
    expected = [f"e{i:03d}" for i in reversed(range(60))]
    assert all_pages(READER, EventFilter(), ports, limit=limit) == expected
    assert all_pages(READER, EventFilter(), ports, limit=limit, order="asc") == list(reversed(expected))


def test_target_filter_matches_any_target(env: Any) -> None:
    store, control = env
    events = make(3)
    events[0]["targets"] = [{"type": "asset", "id": "7"}]
    events[1]["targets"] = [{"type": "folder", "id": "1"}, {"type": "asset", "id": "7"}]
    seed(store, control, events)
    ids = all_pages(READER, EventFilter(target_type="asset", target_id="7"), ports_for(store, control))
    assert ids == ["e001", "e000"]


def test_time_range_is_from_inclusive_to_exclusive(env: Any) -> None:
    store, control = env
    seed(store, control, make(10))  # e000 at NOW-10min ... e009 at NOW-1min
    f = EventFilter(from_=NOW - timedelta(minutes=8), to=NOW - timedelta(minutes=3))
    assert all_pages(READER, f, ports_for(store, control)) == ["e006", "e005", "e004", "e003", "e002"]


def test_residual_filters_q_and_outcome(env: Any) -> None:
    store, control = env
    events = make(10)
    events[3]["description"] = "Exported the Quarterly report"
    events[4]["outcome"] = "failure"
    seed(store, control, events)
    assert all_pages(READER, EventFilter(q="quarterly"), ports_for(store, control), limit=2) == ["e003"]
    assert all_pages(READER, EventFilter(outcome="failure"), ports_for(store, control)) == ["e004"]


def test_expired_events_are_never_returned_or_counted(env: Any) -> None:
    store, control = env
    seed(store, control, make(5))  # e000..e004 occurred 5..1 minutes before NOW
    later = NOW + timedelta(days=90, minutes=-2, seconds=-30)
    page = list_events(
        READER, EventFilter(), limit=50, cursor=None, now=later, ports=ports_for(store, control)
    )
    assert [e.id for e in page.events] == ["e004", "e003"]
    count = count_events(READER, EventFilter(), cursor=None, now=later, ports=ports_for(store, control))
    assert count.count == 2 and count.complete
    with pytest.raises(NotFoundError):
        get_event(READER, "e000", now=later, ports=ports_for(store, control))


def test_cursor_is_bound_to_filters_and_tenant(env: Any) -> None:
    store, control = env
    seed(store, control, make(10))
    page = list_events(READER, EventFilter(), limit=3, cursor=None, now=NOW, ports=ports_for(store, control))
    assert page.next_cursor
    with pytest.raises(BadRequestError):
        list_events(
            READER,
            EventFilter(actor_id="u1"),
            limit=3,
            cursor=page.next_cursor,
            now=NOW,
            ports=ports_for(store, control),
        )
    other = replace(READER, tenant="globex")
    with pytest.raises(BadRequestError):
        list_events(
            other, EventFilter(), limit=3, cursor=page.next_cursor, now=NOW, ports=ports_for(store, control)
        )
    for junk in ["%%%", "e30=", "eyJ2IjoxfQ", page.next_cursor[:-4] + "AAAA"]:
        with pytest.raises(BadRequestError):
            list_events(READER, EventFilter(), limit=3, cursor=junk, now=NOW, ports=ports_for(store, control))


def test_read_self_keys_see_only_their_actor(env: Any) -> None:
    store, control = env
    seed(store, control, make(4, actor="alice") + [dict(e, id="b" + e["id"]) for e in make(4, actor="bob")])
    me = Principal(tenant="acme", key_id="k2", scopes=frozenset({"events:read:self"}), actor_id="alice")
    ports = ports_for(store, control)
    assert len(all_pages(me, EventFilter(), ports)) == 4
    assert all_pages(me, EventFilter(actor_id="bob"), ports) == []
    assert count_events(me, EventFilter(actor_id="bob"), cursor=None, now=NOW, ports=ports).count == 0
    with pytest.raises(NotFoundError):
        get_event(me, "be000", now=NOW, ports=ports)
    assert get_event(me, "e000", now=NOW, ports=ports).actor.id == "alice"
    writer = Principal(tenant="acme", key_id="k3", scopes=frozenset({"events:write"}))
    with pytest.raises(ForbiddenError):
        list_events(writer, EventFilter(), limit=5, cursor=None, now=NOW, ports=ports)


def test_pages_are_capped_in_bytes(env: Any) -> None:
    store, control = env
    seed(store, control, make(10))
    size = len(
        list_events(READER, EventFilter(), limit=1, cursor=None, now=NOW, ports=ports_for(store, control))
        .events[0]
        .model_dump_json()
    )
    budget = Budget(max_bytes=size * 3 + 10)
    page = list_events(
        READER, EventFilter(), limit=50, cursor=None, now=NOW, ports=ports_for(store, control), budget=budget
    )
    assert len(page.events) == 3 and page.next_cursor
    assert len(all_pages(READER, EventFilter(), ports_for(store, control), limit=50, budget=budget)) == 10


def test_read_time_budget_ends_pages_early_but_loses_nothing(env: Any) -> None:
    store, control = env
    seed(store, control, make(30))
    ticks = iter(range(10_000))
    budget = Budget(seconds=0.5, clock=lambda: float(next(ticks)))  # every check is "over time"
    ids = all_pages(READER, EventFilter(q="u1"), ports_for(store, control), limit=50, budget=budget)
    assert ids == [f"e{i:03d}" for i in reversed(range(30))]


def test_counts_continue_with_a_cursor_until_complete(env: Any) -> None:
    store, control = env
    seed(store, control, make(25))
    ports = ports_for(store, control)
    ticks = iter(range(10_000))
    budget = Budget(clock=lambda: float(next(ticks)) * 100)
    total, cursor, rounds = 0, None, 0
    while True:
        answer = count_events(READER, EventFilter(), cursor=cursor, now=NOW, ports=ports, budget=budget)
        total += answer.count
        rounds += 1
        if answer.complete:
            break
        cursor = answer.next_cursor
    assert total == 25 and rounds > 1
    assert (
        count_events(READER, EventFilter(q="nothing-matches"), cursor=None, now=NOW, ports=ports).count == 0
    )
    assert count_events(READER, EventFilter(outcome="success"), cursor=None, now=NOW, ports=ports).count == 25
