"""Reports with fakes (docs/reports.md): the calendar (time zones, DST), the rollups (announced by
the router, computed by the worker, idempotent), and the reports, whose totals must equal
GET /v1/events/count exactly, expired events excluded, whether answered from rollups or events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from activitylog.logic import report_calendar as cal
from activitylog.logic import reports, rollups
from activitylog.logic.ingest import prepare
from activitylog.logic.query import Budget, QueryPorts, count_events
from activitylog.logic.stream_router import StreamedEvent
from activitylog.models.auth import Principal, Scope, TargetRef
from activitylog.models.errors import BadRequestError
from activitylog.models.filters import EventFilter
from activitylog.models.reports import ReportParams, RollupWork
from activitylog.models.settings import LoggingSettings, TenantSettings
from activitylog.models.text import epoch_millis
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeEventStore, FakeQueue, FakeRollupStore

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
READER = Principal("acme", "key-1", frozenset({Scope.EVENTS_READ}))


# --- fakes ------------------------------------------------------------------------------------------


class CountingEvents(FakeEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.documents_read = 0

    def get_documents(self, event_pks: Any) -> dict[str, str]:
        found = super().get_documents(event_pks)
        self.documents_read += len(found)
        return found


@dataclass
class World:
    events: CountingEvents = field(default_factory=CountingEvents)
    store: FakeRollupStore = field(default_factory=FakeRollupStore)
    queue: FakeQueue = field(default_factory=FakeQueue)
    settings: TenantSettings = field(default_factory=TenantSettings)
    memory: dict[Any, None] = field(default_factory=dict)
    sequence: int = 0

    def query(self, tenant: str = "acme") -> QueryPorts:
        return QueryPorts(events=self.events, known_actions=self.known_actions, shard_count=1)

    def known_actions(self) -> set[str]:
        return {json.loads(i["d"]["S"])["action"] for i in self.events.items.values() if "d" in i}

    def rollup_ports(self) -> rollups.RollupPorts:
        return rollups.RollupPorts(
            store=self.store, queue=self.queue, query=self.query, settings=lambda tenant: self.settings
        )

    def report_ports(self, seconds: float = 8.0) -> reports.ReportPorts:
        return reports.ReportPorts(
            query=self.query(), rollups=self.store, queue=self.queue, settings=self.settings,
            budget=Budget(seconds=seconds),
        )  # fmt: skip

    def accept(
        self, raws: list[dict[str, Any]], *, now: datetime, tenant: str = "acme"
    ) -> list[StreamedEvent]:
        records = []
        for i, raw in enumerate(raws):
            rejection, record = prepare(i, raw, tenant=tenant, now=now, settings=self.settings, seen=set())
            assert rejection is None and record is not None, rejection
            records.append(record)
        self.events.put_events(records)
        out = []
        for r in records:
            self.sequence += 1
            out.append(StreamedEvent(str(self.sequence), tenant, r.document, json.loads(r.document)))
        return out

    def announce(self, streamed: list[StreamedEvent], *, now: datetime, tenant: str = "acme") -> set[str]:
        return rollups.mark(
            tenant, streamed, now=now, ports=rollups.MarkPorts(self.queue, self.store, self.memory)
        )

    def work(self, *, now: datetime) -> int:
        """Run every queued rollup message (as the worker would, ignoring delays); how many ran."""
        ran = 0
        while self.queue.sent:
            body = self.queue.sent.pop(0)
            work = RollupWork.model_validate_json(body)
            if all(rollups.sealable_at(h) > now for h in work.hours):
                self.queue.sent.append(body)  # not due at this `now`: leave it waiting
                return ran
            rollups.compute(work, now=now, ports=self.rollup_ports())
            ran += 1
        return ran

    def seal_all(self, start: datetime, end: datetime, *, now: datetime, tenant: str = "acme") -> None:
        hours = list(cal.hours_of(start, end))
        for work in rollups.chunks(tenant, hours, kind="late", received_ms=epoch_millis(now)):
            rollups.compute(work, now=now, ports=self.rollup_ports())


def event(n: int, at: datetime, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"evt-{n}",
        "action": "user.login",
        "occurred_at": at.isoformat(),
        "actor": {"id": f"user-{n % 3}", "name": f"User {n % 3}"},
    }
    return body | fields


def count_of(world: World, principal: Principal, filters: EventFilter, now: datetime) -> int:
    total, cursor = 0, None
    while True:
        answer = count_events(principal, filters, cursor=cursor, now=now, ports=world.query())
        total += answer.count
        if answer.complete:
            return total
        cursor = answer.next_cursor


# --- the calendar -----------------------------------------------------------------------------------


def test_days_in_a_zone_with_dst_are_23_and_25_hours_long() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2026, 3, 28, 0, 0, tzinfo=paris).astimezone(UTC)
    end = datetime(2026, 3, 31, 0, 0, tzinfo=paris).astimezone(UTC)
    starts = cal.boundaries(start, end, "day", paris)
    lengths = [(b - a) / timedelta(hours=1) for a, b in zip(starts, [*starts[1:], end], strict=True)]
    assert lengths == [24, 23, 24]  # 29 March 2026: 02:00 -> 03:00
    start = datetime(2026, 10, 24, 0, 0, tzinfo=paris).astimezone(UTC)
    end = datetime(2026, 10, 27, 0, 0, tzinfo=paris).astimezone(UTC)
    starts = cal.boundaries(start, end, "day", paris)
    lengths = [(b - a) / timedelta(hours=1) for a, b in zip(starts, [*starts[1:], end], strict=True)]
    assert lengths == [24, 25, 24]
    assert all(s.astimezone(paris).hour == 0 for s in starts)


def test_hours_weeks_and_zones_off_by_half_an_hour() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    starts = cal.boundaries(start, start + timedelta(hours=3), "hour", kolkata)
    assert [s.minute for s in starts] == [0, 30, 30, 30]  # the first entry starts at `from`
    cut = cal.pieces(start, start + timedelta(hours=3), starts)
    assert [p.quarters for p in cut[start]] == [range(0, 2), range(2, 4)]
    weeks = cal.boundaries(
        datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC), "week", kolkata
    )
    assert [w.astimezone(kolkata).weekday() for w in weeks[1:]] == [0, 0]
    # Fall back: the repeated local hour is two entries of an hourly series.
    ny = ZoneInfo("America/New_York")
    fall = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    hours = cal.boundaries(fall, fall + timedelta(hours=4), "hour", ny)
    assert [h.astimezone(ny).hour for h in hours] == [0, 1, 1, 2]
    # A zone whose midnight does not exist on the day it moves its clocks: the day starts at 01:00.
    havana = ZoneInfo("America/Havana")
    days = cal.boundaries(
        datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 10, 12, tzinfo=UTC), "day", havana
    )
    assert [(d.astimezone(havana).day, d.astimezone(havana).hour) for d in days[1:]] == [
        (8, 1),
        (9, 0),
        (10, 0),
    ]


# --- rollups ------------------------------------------------------------------------------------------


def test_the_router_announces_each_hour_once_and_late_hours_again() -> None:
    world = World()
    streamed = world.accept(
        [event(n, T0 + timedelta(minutes=n)) for n in range(5)], now=T0 + timedelta(minutes=6)
    )
    assert world.announce(streamed, now=T0) == set()
    assert world.announce(streamed, now=T0) == set()  # the same hour again: remembered, nothing sent
    sent = [RollupWork.model_validate_json(b) for b in world.queue.sent]
    assert [(w.kind, w.hours) for w in sent] == [("seal", [T0])]
    late = world.accept([event(9, T0 - timedelta(days=1))], now=T0 + timedelta(minutes=7))
    world.announce(late, now=T0 + timedelta(minutes=7))
    work = RollupWork.model_validate_json(world.queue.sent[-1])
    assert work.kind == "late" and work.hours == [T0 - timedelta(days=1)] and work.received_ms > 0
    world.queue.refuse = 1
    fresh = world.accept([event(10, T0 + timedelta(hours=1))], now=T0 + timedelta(hours=1))
    assert world.announce(fresh, now=T0 + timedelta(hours=1)) == {fresh[0].ref}  # retried by the stream


def test_an_hour_is_counted_once_it_is_sealed_and_again_gives_the_same() -> None:
    world = World()
    streamed = world.accept(
        [event(n, T0 + timedelta(minutes=10 * n), context={"ip": "203.0.113.9"}) for n in range(6)],
        now=T0 + timedelta(minutes=55),
    )
    world.announce(streamed, now=T0 + timedelta(minutes=55))
    assert world.work(now=T0 + timedelta(hours=1)) == 0  # not due: waits
    world.work(now=T0 + timedelta(hours=2, minutes=6))
    [stored] = world.store.hours.values()
    assert stored.tally.total == 6 and stored.tally.quarters == [2, 1, 2, 1]
    assert stored.tally.dims["actor"] == {"user-0": 2, "user-1": 2, "user-2": 2}
    assert stored.tally.dims["ip"] == {"203.0.113.9": 6}
    again = RollupWork(
        tenant="acme", kind="late", hours=[T0], received_ms=epoch_millis(T0 + timedelta(hours=3))
    )
    rollups.compute(again, now=T0 + timedelta(hours=3), ports=world.rollup_ports())
    [recomputed] = world.store.hours.values()
    assert recomputed.tally == stored.tally and recomputed.as_of > stored.as_of
    # A redelivered seal of an hour computed already writes nothing.
    writes = world.store.writes
    seal = RollupWork(tenant="acme", kind="seal", hours=[T0])
    rollups.compute(seal, now=T0 + timedelta(hours=4), ports=world.rollup_ports())
    assert world.store.writes == writes


def test_a_seal_computes_the_empty_hours_since_the_last_one() -> None:
    world = World()
    world.accept([event(1, T0)], now=T0)
    world.seal_all(T0, T0 + timedelta(hours=1), now=T0 + timedelta(hours=3))
    world.store.set_sealed_through("acme", T0)
    later = T0 + timedelta(hours=5)
    world.accept([event(2, later)], now=later)
    rollups.compute(
        RollupWork(tenant="acme", kind="seal", hours=[later]),
        now=later + timedelta(hours=3),
        ports=world.rollup_ports(),
    )
    stored = sorted(h for (_, _, h) in world.store.hours)
    assert stored == [T0 + timedelta(hours=h) for h in range(6)]
    assert [world.store.hours[("acme", "", h)].tally.total for h in stored] == [1, 0, 0, 0, 0, 1]


def test_a_message_stops_in_time_and_sends_the_rest_back() -> None:
    world = World()
    world.accept([event(n, T0 + timedelta(hours=n)) for n in range(3)], now=T0 + timedelta(hours=3))
    hours = [T0 + timedelta(hours=n) for n in range(3)]
    later = T0 + timedelta(hours=6)
    hurried = rollups.RollupPorts(
        store=world.store,
        queue=world.queue,
        query=world.query,
        settings=lambda t: world.settings,
        seconds=-1.0,
    )
    assert rollups.compute(RollupWork(tenant="acme", kind="seal", hours=hours), now=later, ports=hurried) == 0
    [rest] = [RollupWork.model_validate_json(b) for b in world.queue.sent]
    assert rest.kind == "late" and rest.hours == hours and world.store.sealed_through("acme") is None
    assert world.work(now=later) == 1 and len(world.store.hours) == 3


# --- reports ------------------------------------------------------------------------------------------


def _busy_world(now: datetime) -> World:
    world = World(settings=TenantSettings(logging=LoggingSettings(report_metadata_keys=["query"])))
    raws = []
    for n in range(48):
        at = T0 - timedelta(days=2) + timedelta(minutes=61 * n)
        raws.append(
            event(
                n,
                at,
                action=["user.login", "asset.downloaded", "search"][n % 3],
                targets=[{"type": "asset", "id": str(n % 4), "name": f"Asset {n % 4}"}],
                outcome="failure" if n % 5 == 0 else "success",
                metadata={"query": ["cats", "dogs"][n % 2]},
            )
        )
    for i in range(0, len(raws), 10):  # received shortly after they occurred
        chunk = raws[i : i + 10]
        world.accept(chunk, now=datetime.fromisoformat(chunk[-1]["occurred_at"]) + timedelta(minutes=1))
    world.seal_all(T0 - timedelta(days=3), T0 - timedelta(hours=3), now=now - timedelta(hours=1))
    return world


def test_a_sealed_range_is_answered_from_rollups_without_reading_events() -> None:
    now = T0 + timedelta(hours=1)
    world = _busy_world(now)
    world.events.documents_read = 0
    window = EventFilter.model_validate({"from": T0 - timedelta(days=2), "to": T0 - timedelta(hours=4)})
    answer = reports.activity(
        READER, window, ReportParams(group_by="actor"), now=now, ports=world.report_ports()
    )
    assert world.events.documents_read == 0
    assert answer.complete and answer.total == count_of(world, READER, window, now)
    assert sum(e.count for e in answer.series) == answer.total
    assert [(t.key, t.label) for t in answer.top] == [
        ("user-0", "User 0"),
        ("user-1", "User 1"),
        ("user-2", "User 2"),
    ]
    assert answer.distinct == 3
    one = EventFilter.model_validate(
        {"from": T0 - timedelta(days=2), "to": T0 - timedelta(hours=4), "actions": ["search"]}
    )
    answer = reports.activity(
        READER, one, ReportParams(group_by="action"), now=now, ports=world.report_ports()
    )
    assert world.events.documents_read == 0 and answer.total == count_of(world, READER, one, now)
    assert [t.key for t in answer.top] == ["search"]
    terms = reports.activity(
        READER, window, ReportParams(group_by="metadata.query", top=1), now=now, ports=world.report_ports()
    )
    assert (
        world.events.documents_read == 0 and terms.distinct == 2 and terms.top[0].count == 22
    )  # n even, n < 44
    targets = reports.activity(
        READER, window, ReportParams(group_by="target"), now=now, ports=world.report_ports()
    )
    assert targets.top[0].target is not None and targets.top[0].key == f"asset:{targets.top[0].target.id}"
    assert targets.top[0].label == f"Asset {targets.top[0].target.id}"


def test_other_filters_are_counted_from_events_then_from_their_own_rollups() -> None:
    now = T0 + timedelta(hours=1)
    world = _busy_world(now)
    both = EventFilter.model_validate(
        {"from": T0 - timedelta(days=2), "to": T0, "actions": ["search"], "outcome": "failure"}
    )
    expected = count_of(world, READER, both, now)
    slow = reports.activity(READER, both, ReportParams(), now=now, ports=world.report_ports(seconds=0.0))
    assert not slow.complete and slow.retry_after_seconds
    jobs = [RollupWork.model_validate_json(b) for b in world.queue.sent]
    assert {(j.kind, j.fingerprint) for j in jobs} == {("filtered", reports.fingerprint("acme", both))}
    assert sum(len(j.hours) for j in jobs) == 47  # the sealable hours (up to now - 2h05), 24 a message
    reports.activity(READER, both, ReportParams(), now=now, ports=world.report_ports(seconds=0.0))
    assert len(world.queue.sent) == len(jobs)  # asked for once
    world.work(now=now)
    world.events.documents_read = 0
    answer = reports.activity(READER, both, ReportParams(), now=now, ports=world.report_ports())
    assert answer.complete and answer.total == expected
    assert "retry_after_seconds" not in answer.model_dump(mode="json")  # only when not complete
    assert slow.model_dump(mode="json")["retry_after_seconds"] == reports.RETRY_AFTER_SECONDS
    assert world.events.documents_read <= 3  # only the last hours, not sealed yet


def test_late_events_and_expiry_are_exact_before_the_rollups_catch_up() -> None:
    world = World(settings=TenantSettings(logging=LoggingSettings(retention_days=1)))
    world.accept([event(n, T0 + timedelta(minutes=7 * n)) for n in range(8)], now=T0 + timedelta(hours=1))
    world.seal_all(T0, T0 + timedelta(hours=2), now=T0 + timedelta(hours=3))
    window = EventFilter.model_validate({"from": T0, "to": T0 + timedelta(hours=2)})
    late = T0 + timedelta(hours=5)
    world.accept([event(100, T0 + timedelta(minutes=1))], now=late)  # a late event of a computed hour
    answer = reports.activity(
        READER, window, ReportParams(interval="hour"), now=late, ports=world.report_ports()
    )
    assert answer.total == 9 == count_of(world, READER, window, late)
    # A day later, the hour's first events have expired and the rest have not.
    expiring = T0 + timedelta(days=1, minutes=20)
    answer = reports.activity(
        READER, window, ReportParams(interval="hour"), now=expiring, ports=world.report_ports()
    )
    assert answer.total == count_of(world, READER, window, expiring) == 5  # 4 of the first 20 minutes gone
    gone = T0 + timedelta(days=1, hours=3)
    assert reports.activity(READER, window, ReportParams(), now=gone, ports=world.report_ports()).total == 0


def test_a_late_event_marked_by_the_router_is_counted_days_later_until_its_hour_is_computed() -> None:
    world = World()
    world.accept([event(n, T0 + timedelta(minutes=7 * n)) for n in range(8)], now=T0 + timedelta(hours=1))
    world.seal_all(T0, T0 + timedelta(hours=2), now=T0 + timedelta(hours=3))
    late = T0 + timedelta(hours=5)
    streamed = world.accept([event(100, T0 + timedelta(minutes=1))], now=late)
    world.announce(streamed, now=late)
    assert world.store.late_marks("acme", T0, T0 + timedelta(hours=1)) == {T0: epoch_millis(late)}
    window = EventFilter.model_validate({"from": T0, "to": T0 + timedelta(hours=2)})
    days_later = late + timedelta(days=3)  # beyond what is read of the late events' partitions
    world.events.documents_read = 0
    answer = reports.activity(READER, window, ReportParams(), now=days_later, ports=world.report_ports())
    assert answer.total == 9 == count_of(world, READER, window, days_later)
    assert world.events.documents_read == 9  # hour T0 from its events; hour T0+1h from its rollup (none)
    world.work(now=late + timedelta(minutes=16))  # the router's late message: the hour again
    world.events.documents_read = 0
    answer = reports.activity(READER, window, ReportParams(), now=days_later, ports=world.report_ports())
    assert answer.total == 9 and world.events.documents_read == 0


def test_restricted_credentials_see_their_slice_only() -> None:
    now = T0 + timedelta(hours=1)
    world = _busy_world(now)
    window = EventFilter.model_validate({"from": T0 - timedelta(days=2), "to": T0})
    mine = Principal("acme", "key-2", frozenset({Scope.EVENTS_READ_SELF}), actor_id="user-1")
    answer = reports.activity(
        mine, window, ReportParams(group_by="actor"), now=now, ports=world.report_ports()
    )
    assert [t.key for t in answer.top] == ["user-1"] and answer.total == count_of(world, mine, window, now)
    token = Principal(
        "acme", "vt-1", frozenset({Scope.EVENTS_READ}), target=TargetRef("asset", "2"), token=True
    )
    answer = reports.activity(
        token, window, ReportParams(group_by="target"), now=now, ports=world.report_ports()
    )
    assert [t.key for t in answer.top] == ["asset:2"] and answer.total == count_of(world, token, window, now)
    other = EventFilter.model_validate({"from": T0 - timedelta(days=2), "to": T0, "actor_id": "user-0"})
    assert reports.activity(mine, other, ReportParams(), now=now, ports=world.report_ports()).total == 0
    assert reports.activity(READER, window, ReportParams(), now=now, ports=world.report_ports()).total == 48
    stranger = Principal("globex", "key-9", frozenset({Scope.EVENTS_READ}))
    assert reports.activity(stranger, window, ReportParams(), now=now, ports=world.report_ports()).total == 0


def test_heatmap_cells_are_local_weekdays_and_hours() -> None:
    now = T0 + timedelta(hours=1)
    world = _busy_world(now)
    window = EventFilter.model_validate({"from": T0 - timedelta(days=2), "to": T0})
    for tz in ("UTC", "Asia/Kolkata", "America/New_York"):
        answer = reports.heatmap(READER, window, ReportParams(tz=tz), now=now, ports=world.report_ports())
        assert answer.total == count_of(world, READER, window, now) == sum(map(sum, answer.cells))
        zone = ZoneInfo(tz)
        expected = [[0] * 24 for _ in range(7)]
        for item in world.events.items.values():
            if "d" in item:
                occurred = datetime.fromisoformat(json.loads(item["d"]["S"])["occurred_at"])
                if T0 - timedelta(days=2) <= occurred < T0:
                    local = occurred.astimezone(zone)
                    expected[local.weekday()][local.hour] += 1
        assert answer.cells == expected


def test_too_many_groups_are_counted_from_events_and_bad_requests_say_why() -> None:
    now = T0 + timedelta(hours=1)
    world = _busy_world(now)
    world.store = FakeRollupStore(max_groups=1)
    world.seal_all(T0 - timedelta(days=3), T0 - timedelta(hours=3), now=now - timedelta(hours=1))
    window = EventFilter.model_validate({"from": T0 - timedelta(days=2), "to": T0})
    answer = reports.activity(
        READER, window, ReportParams(group_by="actor"), now=now, ports=world.report_ports()
    )
    assert answer.distinct == 3 and answer.total == count_of(world, READER, window, now)
    with pytest.raises(BadRequestError):
        reports.activity(
            READER,
            EventFilter.model_validate({"from": now}),
            ReportParams(),
            now=now,
            ports=world.report_ports(),
        )
    for far in (
        {"from": T0 - timedelta(days=3661), "to": T0},  # longer than the longest retention
        {"from": datetime(9999, 12, 1, tzinfo=UTC), "to": datetime(9999, 12, 31, tzinfo=UTC)},
        {"to": datetime(1, 1, 5, tzinfo=UTC)},
    ):
        with pytest.raises(BadRequestError):
            reports.activity(
                READER,
                EventFilter.model_validate(far),
                ReportParams(interval="week"),
                now=now,
                ports=world.report_ports(),
            )
    long = EventFilter.model_validate({"from": T0 - timedelta(days=500), "to": T0})
    with pytest.raises(BadRequestError):
        reports.activity(READER, long, ReportParams(interval="hour"), now=now, ports=world.report_ports())


# --- the property: totals equal the count -------------------------------------------------------------

ACTIONS = ["user.login", "user.logout", "asset.downloaded"]
ONE_FILTER = st.sampled_from(
    [
        {"actions": ["user.*"]},
        {"actions": ["asset.downloaded"]},
        {"actor_id": "user-1"},
        {"outcome": "failure"},
        {"target_type": "asset"},
    ]
)
FILTERS = st.one_of(
    st.just({}),
    ONE_FILTER,
    st.fixed_dictionaries(
        {},
        optional={
            "actions": st.sampled_from([["user.*"], ["user.login", "asset.downloaded"]]),
            "actor_id": st.sampled_from(["user-0", "user-1"]),
            "outcome": st.sampled_from(["success", "failure"]),
            "q": st.sampled_from(["user-1", "login"]),
        },
    ),
)
ZONES = ["UTC", "Europe/Paris", "Asia/Kolkata", "Australia/Lord_Howe", "America/New_York"]
Happening = tuple[int, int, str, int, int, bool, bool]


@st.composite
def histories(draw: st.DrawFn) -> list[Happening]:
    """(minute occurred after T0, minutes received after it, action, actor, asset, failure,
    received after the rollups were computed)."""
    n = draw(st.integers(1, 40))
    return [
        (
            draw(st.integers(0, 60 * 8)),
            draw(st.sampled_from([0, 1, 30, 59, 90, 600])),
            draw(st.sampled_from(ACTIONS)),
            draw(st.integers(0, 2)),
            draw(st.integers(0, 2)),
            draw(st.booleans()),
            draw(st.booleans()),
        )
        for _ in range(n)
    ]


_TWO = [(10, 1, "user.login", 0, 0, False, False), (50, 1, "user.login", 1, 1, True, False)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Quarters of an hour (a zone 5:30 off UTC), and an hour of which one event has expired:
@example(_TWO, {}, "Asia/Kolkata", "hour", None, 120, 5 * 60, (0, 120))
@example(_TWO, {}, "UTC", "day", None, 120, 24 * 60 + 30, (0, 120))
@example(_TWO, {"actor_id": "user-1"}, "UTC", "hour", None, 120, 24 * 60 + 30, (0, 120))
@given(
    history=histories(),
    filters=FILTERS,
    tz=st.sampled_from(ZONES),
    interval=st.sampled_from(["hour", "day", "week"]),
    group_by=st.sampled_from([None, None, "action", "actor", "target", "outcome"]),
    sealed_at=st.integers(0, 9 * 60),
    report_at=st.integers(2 * 60, 34 * 60),
    span=st.tuples(st.integers(-120, 8 * 60), st.integers(1, 12 * 60)),
)
def test_report_totals_equal_the_count_from_rollups_or_events(
    history: list[Happening],
    filters: dict[str, Any],
    tz: str,
    interval: str,
    group_by: str | None,
    sealed_at: int,
    report_at: int,
    span: tuple[int, int],
) -> None:
    """Events received before the rollups were computed, and after (late ones among them), with
    a retention of one day (some have expired when the report is asked); the answer equals the
    count, and equals the answer computed from the events alone."""
    world = World(settings=TenantSettings(logging=LoggingSettings(retention_days=1)))
    sealed = T0 + timedelta(minutes=sealed_at)
    computed = sealed + timedelta(hours=2, minutes=10)
    later: list[tuple[int, dict[str, Any], datetime]] = []
    for n, (minute, delay, action, actor, asset, failure, after) in enumerate(history):
        occurred = T0 + timedelta(minutes=minute)
        raw = event(
            n,
            occurred,
            action=action,
            actor={"id": f"user-{actor}"},
            outcome="failure" if failure else "success",
        )
        raw["targets"] = [{"type": "asset", "id": str(asset)}]
        received = occurred + timedelta(minutes=delay)
        if after and occurred < computed:
            later.append((n, raw, max(received, computed) + timedelta(minutes=1 + delay)))
        elif received <= computed or occurred > sealed:
            world.accept([raw], now=received)
        else:
            later.append((n, raw, received))
    world.seal_all(T0 - timedelta(hours=1), sealed, now=computed)
    for _n, raw, received in sorted(later, key=lambda x: x[2]):
        if received - datetime.fromisoformat(raw["occurred_at"]) < timedelta(days=1):
            world.announce(world.accept([raw], now=received), now=received)  # the router marks late ones
    world.queue.sent.clear()  # its messages not worked yet: the rollups stay as they were computed
    now = max(computed, T0 + timedelta(minutes=report_at))
    start = T0 + timedelta(minutes=span[0])
    body = {**filters, "from": start, "to": start + timedelta(minutes=span[1])}
    if "target_type" in body:
        body["target_id"] = "1"
    window = EventFilter.model_validate(body)
    params = ReportParams(interval=interval, tz=tz, group_by=group_by)  # type: ignore[arg-type]
    if reports.fingerprint("acme", window) == reports._source("acme", window, group_by).fp:
        reports.activity(READER, window, params, now=now, ports=world.report_ports(seconds=0.0))
        world.work(now=now)  # the filter's own rollups, asked for by an answer that ran out of time
    answer = reports.activity(READER, window, params, now=now, ports=world.report_ports())
    assert answer.complete
    assert answer.total == count_of(world, READER, window, now) == sum(e.count for e in answer.series)
    # The same answer computed from events only (no rollups at all).
    bare = World(events=world.events, settings=world.settings)
    plain = reports.activity(READER, window, params, now=now, ports=bare.report_ports())
    assert plain.model_dump() == answer.model_dump()
    heat = reports.heatmap(READER, window, ReportParams(tz=tz), now=now, ports=world.report_ports())
    assert heat.total == answer.total
