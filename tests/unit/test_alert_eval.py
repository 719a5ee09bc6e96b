"""The alert evaluator (issue 16; docs/alerts.md): examples of the contract's semantics, then
property tests against a brute-force oracle that recomputes every decision from the full set of
events seen so far, straight from the definition: over random event times (window-apart boundaries
included), arrival orders, duplicates, groups, counts, windows and cooldowns."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic.alert_eval import (
    LATE_SLACK,
    Fired,
    Occurrence,
    Outcome,
    Rule,
    RuleMismatchError,
    evaluate,
    firing,
    group_of,
    matches,
    occurrence,
    rule_of,
    step,
)
from activitylog.models.alerts import FIRED_ACTION, AlertCreate, Firing, GroupState
from activitylog.models.text import epoch_millis, format_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
T0_MS = epoch_millis(T0)
NOW_MS = T0_MS
MINUTE = 60_000
EXPIRES = format_time(T0 + timedelta(days=90))
BODY: dict[str, Any] = {
    "name": "Repeated failed logins",
    "filters": {"actions": ["user.login"], "outcome": "failure", "actor_id": None, "target_type": None,
                "target_id": None, "q": None},
    "threshold": {"count": 3, "window": "PT10M"},
    "group_by": "actor",
    "cooldown": "PT1H",
    "recipients": ["security@example.com"],
    "destination_ids": [],
    "enabled": True,
}  # fmt: skip
PROPERTIES = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def alert(**changes: Any) -> AlertCreate:
    body = {**BODY, **changes}
    return AlertCreate.model_validate(body)


def doc(
    event_id: str,
    at_ms: int,
    *,
    actor: str = "user-42",
    action: str = "user.login",
    outcome: str = "failure",
    ip: str | None = None,
    targets: Sequence[tuple[str, str]] = (),
    expires: str = EXPIRES,
) -> dict[str, Any]:
    """A stored event document as the stream and the query path give it."""
    occurred = format_time(T0 + timedelta(milliseconds=at_ms))
    return {
        "id": event_id,
        "action": action,
        "actor": {"id": actor, "type": "user"},
        "occurred_at": occurred,
        "received_at": occurred,
        "expires_at": expires,
        "targets": [{"type": t, "id": i} for t, i in targets],
        "context": {"ip": ip},
        "outcome": outcome,
        "metadata": {},
    }


def rule(count: int, window_ms: int, cooldown_ms: int = 0, slack: int = LATE_SLACK) -> Rule:
    return Rule(key="test", count=count, window_ms=window_ms, cooldown_ms=cooldown_ms, slack=slack)


def feed(
    r: Rule, arrivals: Sequence[tuple[str, int]], state: GroupState | None = None
) -> list[tuple[str, Any]]:
    state = state or r.empty()
    answers: list[tuple[str, Any]] = []
    for event_id, at in arrivals:
        answer = step(r, state, Occurrence(event_id, at))
        state = answer.state
        answers.append((answer.outcome, answer.fired))
    return answers


# -- The contract's semantics, by example ------------------------------------------------------------


def test_three_failed_logins_of_one_user_within_ten_minutes_fire_once_per_cooldown() -> None:
    # Given the API's example alert, and failed logins of user-42 (and others that do not count)
    a = alert()
    events = [
        doc("e1", 0),
        doc("x1", 1 * MINUTE, outcome="success"),  # not a failure
        doc("x2", 2 * MINUTE, actor="user-7"),  # another group
        doc("e2", 4 * MINUTE),
        doc("e3", 10 * MINUTE),  # exactly a window after e1: they count together
        doc("e4", 12 * MINUTE),  # the window holds again, within the cooldown
    ]
    # When they are evaluated in order
    result = evaluate(a, events, now_ms=NOW_MS)
    # Then one firing, of the three events that reached the count, oldest first
    assert result.fired == [
        ("user-42", Fired(trigger="e3", count=3, window_start=T0_MS, window_end=T0_MS + 10 * MINUTE,
                          event_ids=("e1", "e2", "e3")))
    ]  # fmt: skip
    made = firing(result.fired[0][1], alert_id="alr_1", group="user-42", fired_at=T0)
    assert made.model_dump(mode="json") == {
        "id": made.id,
        "alert_id": "alr_1",
        "group": "user-42",
        "count": 3,
        "window_start": "2026-11-23T10:00:00.000Z",
        "window_end": "2026-11-23T10:10:00.000Z",
        "fired_at": "2026-11-23T10:00:00.000Z",
        "event_ids": ["e1", "e2", "e3"],
    }
    assert set(result.states) == {"user-42", "user-7"}


def test_the_interval_is_closed_events_exactly_a_window_apart_count_together() -> None:
    # Given count 2 in 10 minutes
    r = rule(2, 10 * MINUTE)
    # When two events are exactly a window apart, or a millisecond more
    together = feed(r, [("a", 0), ("b", 10 * MINUTE)])
    apart = feed(r, [("a", 0), ("b", 10 * MINUTE + 1)])
    # Then the first pair fires and the second does not
    assert [o for o, _ in together] == ["counted", "fired"]
    assert [o for o, _ in apart] == ["counted", "counted"]


def test_a_late_event_completes_a_window_in_the_past_and_fires_then() -> None:
    # Given events at 0 and 20 minutes (no window of 10 minutes holds both)
    r = rule(2, 10 * MINUTE, cooldown_ms=60 * MINUTE)
    # When an event that occurred at minute 9 arrives last
    answers = feed(r, [("a", 0), ("c", 20 * MINUTE), ("b", 9 * MINUTE)])
    # Then it fires, with the earliest window it completes: the past one
    assert answers[-1] == ("fired", Fired("b", 2, 0, 9 * MINUTE, ("a", "b")))


def test_the_cooldown_holds_back_firings_on_either_side_in_occurred_time() -> None:
    # Given count 1 (every event reaches it) and a cooldown of an hour
    r = rule(1, MINUTE, cooldown_ms=60 * MINUTE)
    answers = feed(
        r,
        [
            ("at-2h", 120 * MINUTE),  # fires
            ("at-1h30", 90 * MINUTE),  # late, 30 minutes before a firing: held back
            ("at-2h59", 179 * MINUTE),  # 59 minutes after it: held back
            ("at-1h", 60 * MINUTE),  # exactly an hour before it: fires
            ("at-3h", 180 * MINUTE),  # exactly an hour after it: fires
        ],
    )
    assert [o for o, _ in answers] == ["fired", "cooldown", "cooldown", "fired", "fired"]


def test_a_cooldown_of_zero_fires_on_every_event_that_is_within_a_full_window() -> None:
    r = rule(2, 10 * MINUTE, cooldown_ms=0)
    answers = feed(r, [("a", 0), ("b", MINUTE), ("c", 2 * MINUTE), ("d", 30 * MINUTE)])
    assert [o for o, _ in answers] == ["counted", "fired", "fired", "counted"]
    assert answers[2][1] == Fired("c", 2, MINUTE, 2 * MINUTE, ("b", "c"))  # the earliest run holding c


def test_the_earliest_run_holding_the_event_is_the_one_that_fires() -> None:
    # Given a, b and d within a window, and c arriving between b and d (count 2, no cooldown)
    r = rule(2, 10 * MINUTE)
    answers = feed(r, [("a", 0), ("d", 20 * MINUTE), ("c", 12 * MINUTE), ("b", 5 * MINUTE)])
    # Then c fires with d (a is too far from it); b fires with a, the run before it
    assert answers[2] == ("fired", Fired("c", 2, 12 * MINUTE, 20 * MINUTE, ("c", "d")))
    assert answers[3] == ("fired", Fired("b", 2, 0, 5 * MINUTE, ("a", "b")))


def test_a_resent_event_never_counts_twice() -> None:
    # Given count 2
    r = rule(2, 10 * MINUTE)
    state = r.empty()
    first = step(r, state, Occurrence("a", 0))
    # When the same event arrives twice more
    again = step(r, first.state, Occurrence("a", 0))
    third = step(r, again.state, Occurrence("a", 0))
    # Then each copy is a duplicate: nothing counted, the state untouched (no write), no firing
    for copy in (again, third):
        assert (copy.outcome, copy.fired) == ("duplicate", None)
        assert copy.state is first.state


def test_a_firing_lists_the_oldest_100_events_of_its_window() -> None:
    # Given count 150: 150 events a second apart
    r = rule(150, 10 * MINUTE)
    answers = feed(r, [(f"e{i:03d}", i * 1000) for i in range(150)])
    fired = answers[-1][1]
    # Then the firing counts 150 events, lists the oldest 100, and spans all 150
    assert isinstance(fired, Fired)
    assert (fired.count, len(fired.event_ids), fired.event_ids[0], fired.event_ids[-1]) == (
        150,
        100,
        "e000",
        "e099",
    )
    assert (fired.window_start, fired.window_end) == (0, 149_000)
    made = firing(fired, alert_id="alr_1", group=None, fired_at=T0)
    assert len(made.event_ids) == 100


def test_a_batch_sharing_one_occurred_at_is_evaluated_whole_in_any_order() -> None:
    # Given 100 events of one request with the same occurred_at, arriving in any order
    r = rule(3, MINUTE, cooldown_ms=0)
    arrivals = [(f"evt-{i:03d}", 0) for i in range(100)]
    random.Random(7).shuffle(arrivals)
    # Then none is too late: the first two count, every later one fires
    outcomes = [o for o, _ in feed(r, arrivals)]
    assert outcomes == ["counted"] * 2 + ["fired"] * 98


def test_once_a_group_is_full_an_event_not_newer_than_its_101st_newest_is_too_late() -> None:
    # Given count 3: the state remembers count - 1 + 100 events; 103 arrive in order
    r = rule(3, 10 * MINUTE, cooldown_ms=0)
    state = r.empty()
    for i in range(103):
        state = step(r, state, Occurrence(f"e{i:03d}", i * MINUTE)).state
    assert len(state.events) == r.capacity == 102
    assert state.floor == (2 * MINUTE, "e002")  # the 101st newest
    # When a late event arrives before the floor, a copy of a forgotten event, or one just after it
    before = step(r, state, Occurrence("late-1", 2 * MINUTE - 1))
    copy = step(r, state, Occurrence("e000", 0))
    after = step(r, state, Occurrence("late-2", 2 * MINUTE + 1))
    # Then the first two are too late (ignored), the last is evaluated exactly (e1, e2 and it fire)
    assert (before.outcome, before.state is state) == ("too_late", True)
    assert (copy.outcome, copy.state is state) == ("too_late", True)
    assert after.fired == Fired("late-2", 3, MINUTE, 2 * MINUTE + 1, ("e001", "e002", "late-2"))


def test_a_firing_within_a_cooldown_of_the_floor_is_remembered() -> None:
    # Given count 1, a cooldown of an hour, and a state that remembers one event (slack 1)
    hour = 60 * MINUTE
    r = rule(1, MINUTE, cooldown_ms=hour, slack=1)
    answers = feed(
        r,
        [
            ("f", 0),  # fires
            ("b", hour - 1),  # held back by f
            ("d", 3 * hour),  # fires; the floor is now b (the second newest)
            ("c", hour - 1),  # after b in (occurred_at, id) order: evaluated, and f still holds it back
        ],
    )
    assert [o for o, _ in answers] == ["fired", "cooldown", "fired", "cooldown"]


def test_the_worst_state_fits_one_dynamodb_item() -> None:
    # count 1,000, event ids of 128 characters, every remembered event a firing's
    capacity = 1000 - 1 + LATE_SLACK
    state = GroupState(
        rule="f" * 16,
        events=tuple((T0_MS + i * 1000, f"{i:04d}".rjust(128, "x")) for i in range(capacity)),
        floor=(T0_MS, "x" * 128),
        fired=tuple(T0_MS + i * 1000 for i in range(capacity + 1)),
    )
    assert len(state.model_dump_json().encode()) < 200_000  # DynamoDB's item limit: 400 KB


def test_a_state_of_other_settings_is_refused() -> None:
    a = alert()
    key = rule_of(a).key
    # Settings that do not decide keep the rule (and so the state and its cooldown)
    assert rule_of(alert(name="other", recipients=[], enabled=False, destination_ids=["d1"])).key == key
    assert rule_of(alert(cooldown="PT60M")).key == key  # the same length of time
    # Every deciding setting makes another rule, whose events a state of this one cannot serve
    others = [
        alert(threshold={"count": 4, "window": "PT10M"}),
        alert(threshold={"count": 3, "window": "PT11M"}),
        alert(cooldown="PT2H"),
        alert(group_by="ip"),
        alert(filters={"actions": ["user.*"]}),
    ]
    assert len({rule_of(o).key for o in others} | {key}) == len(others) + 1
    with pytest.raises(RuleMismatchError):
        step(rule_of(others[0]), rule_of(a).empty(), Occurrence("e1", 0))


def test_groups_are_the_actor_the_ip_or_the_first_target() -> None:
    event = doc("e1", 0, ip="203.0.113.9", targets=[("asset", "7"), ("folder", "2")])
    assert group_of(alert(group_by="actor"), event) == "user-42"
    assert group_of(alert(group_by="ip"), event) == "203.0.113.9"
    assert group_of(alert(group_by="target"), event) == "asset:7"
    assert group_of(alert(group_by=None), event) is None
    # A type holding `:` cannot make two targets one group
    one = group_of(alert(group_by="target"), doc("e2", 0, targets=[("a:b", "c")]))
    other = group_of(alert(group_by="target"), doc("e3", 0, targets=[("a", "b:c")]))
    assert (one, other) == ("a%3Ab:c", "a:b:c")


def test_what_an_alert_evaluates() -> None:
    a = alert(group_by="ip")
    assert matches(a, doc("e1", 0, ip="203.0.113.9"), NOW_MS)
    assert not matches(a, doc("e2", 0), NOW_MS)  # no ip: in no group of an alert by ip
    assert not matches(alert(group_by="target"), doc("e3", 0), NOW_MS)  # no target
    assert not matches(a, doc("e4", 0, ip="203.0.113.9", outcome="success"), NOW_MS)  # the filters
    assert not matches(a, doc("e5", 0, ip="203.0.113.9", expires=format_time(T0)), NOW_MS)  # expired
    every = alert(filters={}, group_by=None)
    assert matches(every, doc("e6", 0, action="activitylog.destination.created"), NOW_MS)
    assert not matches(every, doc("e7", 0, action=FIRED_ACTION), NOW_MS)  # never its own firings
    with pytest.raises(ValueError, match="has no ip"):
        group_of(a, doc("e2", 0))


def test_a_firing_has_one_id_per_alert_and_triggering_event() -> None:
    fired = Fired("e3", 3, 0, 1000, ("e1", "e2", "e3"))
    first = firing(fired, alert_id="alr_1", group="g", fired_at=T0)
    assert firing(fired, alert_id="alr_1", group="g", fired_at=T0 + timedelta(seconds=5)).id == first.id
    assert firing(fired, alert_id="alr_2", group="g", fired_at=T0).id != first.id
    assert (
        firing(Fired("e4", 3, 0, 1000, ("e1", "e2", "e4")), alert_id="alr_1", group="g", fired_at=T0).id
        != first.id
    )
    assert first.id.startswith("fir-") and len(first.id) == 30
    assert Firing.model_validate_json(first.model_dump_json()) == first


@pytest.mark.parametrize(
    ("changes", "valid"),
    [
        ({"threshold": {"count": 1, "window": "PT1M"}}, True),
        ({"threshold": {"count": 1000, "window": "P1D"}}, True),
        ({"threshold": {"count": 1000, "window": "PT24H"}}, True),
        ({"threshold": {"count": 0, "window": "PT10M"}}, False),
        ({"threshold": {"count": 1001, "window": "PT10M"}}, False),
        ({"threshold": {"count": 3, "window": "PT59S"}}, False),
        ({"threshold": {"count": 3, "window": "PT24H1S"}}, False),
        ({"threshold": {"count": 3, "window": "P1M"}}, False),
        ({"threshold": {"count": 3}}, False),
        ({"cooldown": "PT0S"}, True),
        ({"cooldown": "P7D"}, True),
        ({"cooldown": "P1W"}, True),
        ({"cooldown": "P7DT1S"}, False),
        ({"cooldown": "1h"}, False),
        ({"group_by": "action"}, False),
        ({"recipients": [f"r{i}@example.com" for i in range(50)]}, True),
        ({"recipients": [f"r{i}@example.com" for i in range(51)]}, False),
        ({"recipients": ["not an address"]}, False),
        ({"recipients": ["a@example.com\r\nBcc: x@example.com"]}, False),
        ({"destination_ids": [f"d{i}" for i in range(10)]}, True),
        ({"destination_ids": [f"d{i}" for i in range(11)]}, False),
        ({"filters": {"from": "2026-11-01T00:00:00Z"}}, False),
        ({"filters": {"to": "2026-11-01T00:00:00Z"}}, False),
        ({"filters": {"target_type": "asset"}}, False),  # the one filter model's own rules
        ({"severity": "high"}, False),
        ({"name": ""}, False),
    ],
)
def test_the_alert_definition_is_checked(changes: dict[str, Any], valid: bool) -> None:
    body = {**BODY, **changes}
    if valid:
        AlertCreate.model_validate(body)
    else:
        with pytest.raises(ValidationError):
            AlertCreate.model_validate(body)


def test_an_alert_body_defaults() -> None:
    a = AlertCreate.model_validate({"name": "n", "threshold": {"count": 1, "window": "PT1M"}})
    assert (a.group_by, a.cooldown, a.recipients, a.destination_ids, a.enabled) == (
        None,
        "PT1H",
        [],
        [],
        True,
    )
    assert a.filters.model_dump(exclude_defaults=True) == {}
    dupes = AlertCreate.model_validate({**BODY, "recipients": ["A@example.com", "a@example.com"]})
    assert dupes.recipients == ["A@example.com"]


# -- The oracle ---------------------------------------------------------------------------------------


@dataclass
class Oracle:
    """The semantics from the definition (docs/alerts.md), recomputed at every arrival from every
    event accepted so far, every firing so far, and the lateness bound stated in events."""

    count: int
    window: int
    cooldown: int
    slack: int
    accepted: dict[str, int] = field(default_factory=dict)  # id -> occurred ms, never forgotten
    firings: list[int] = field(default_factory=list)  # every firing's occurred time, never forgotten

    def arrive(self, event_id: str, at: int) -> tuple[str, Fired | None]:
        ordered = sorted((t, i) for i, t in self.accepted.items())
        if event_id in self.accepted:
            return "ignored", None
        # Once more than count - 1 + slack events are accepted, only an event newer than the
        # (slack + 1)th newest accepted one is evaluated.
        if len(ordered) > self.count - 1 + self.slack and (at, event_id) <= ordered[-self.slack - 1]:
            return "ignored", None
        self.accepted[event_id] = at
        ordered = sorted((t, i) for i, t in self.accepted.items())
        times = [t for t, _ in ordered]
        # Some closed interval [a, a + window] holding the event holds `count` events. Any such
        # interval slides to start at its oldest event keeping all it holds: try those starts.
        reached = any(
            a <= at <= a + self.window and sum(a <= t <= a + self.window for t in times) >= self.count
            for a in times
        )
        runs = [
            ordered[j : j + self.count]
            for j in range(len(ordered) - self.count + 1)
            if (at, event_id) in ordered[j : j + self.count]
            and ordered[j + self.count - 1][0] - ordered[j][0] <= self.window
        ]
        assert reached == bool(runs)  # the two readings of "a window holds count events" agree
        if not reached:
            return "counted", None
        if any(abs(at - f) < self.cooldown for f in self.firings):
            return "cooldown", None
        self.firings.append(at)
        run = runs[0]
        return "fired", Fired(event_id, self.count, run[0][0], run[-1][0], tuple(i for _, i in run[:100]))


def oracle_outcome(outcome: Outcome) -> str:
    return "ignored" if outcome in ("duplicate", "too_late") else outcome


# -- Strategies ---------------------------------------------------------------------------------------

UNIT = 30_000  # event times are multiples of it, give or take a millisecond: windows fall on them


@dataclass(frozen=True)
class Scenario:
    rule: Rule
    arrivals: tuple[tuple[str, int], ...]  # (id, occurred ms) in arrival order, copies included
    first: tuple[bool, ...]  # whether each arrival is the first of its id


@st.composite
def scenarios(draw: st.DrawFn, max_events: int = 18) -> Scenario:
    count = draw(st.sampled_from([2, 3, 1, 4, 5]))
    window = draw(st.sampled_from([2, 1, 3, 4, 7])) * UNIT
    cooldown = draw(st.sampled_from([0, UNIT, 0, UNIT // 2, 2 * UNIT, 3 * UNIT, 20 * UNIT]))
    # Mostly room for every event (the semantics alone), often a bound that forgets (the floor)
    slack = draw(st.sampled_from([LATE_SLACK, 0, LATE_SLACK, 1, 2, 3]))
    n = draw(st.integers(3, max_events))
    ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), unique=True, min_size=n, max_size=n))
    # Times on a grid of UNIT, windows a few units long: crowded spans, pairs exactly a window
    # apart and a millisecond either side of that; the span decides how crowded the windows are.
    # Times, order and copies come from a seeded generator: spread evenly over the choices
    # (hypothesis's own draws favour small values, rarely a late event in a crowded window).
    span = draw(st.sampled_from([6, 3, 12]))
    rng = draw(st.randoms(use_true_random=False))
    events = [(i, rng.randint(0, span) * UNIT + rng.choice([0, 0, 0, -1, 1])) for i in ids]
    order = draw(st.sampled_from(["random", "random", "occurred", "reversed"]))
    if order == "random":
        rng.shuffle(events)
    else:
        events.sort(key=lambda e: (e[1], e[0]), reverse=order == "reversed")
    arrivals = list(events)
    for _ in range(rng.randint(0, 4)):  # copies, anywhere after their first arrival
        source = rng.randrange(len(arrivals))
        arrivals.insert(rng.randint(source + 1, len(arrivals)), arrivals[source])
    seen: set[str] = set()
    first = []
    for event_id, _ in arrivals:
        first.append(event_id not in seen)
        seen.add(event_id)
    return Scenario(rule(count, window, cooldown, slack), tuple(arrivals), tuple(first))


def check_bounds(r: Rule, state: GroupState) -> None:
    events = state.events
    assert len(events) <= r.capacity
    assert list(events) == sorted(set(events)) and len({i for _, i in events}) == len(events)
    assert len(state.fired) <= len(events) + 1 and list(state.fired) == sorted(state.fired)
    if state.floor is not None:
        assert sum(e <= state.floor for e in events) <= r.count - 1  # context for the next windows
    if r.cooldown_ms == 0:
        assert state.fired == ()


# -- Properties ---------------------------------------------------------------------------------------


@PROPERTIES
@given(scenarios())
def test_the_evaluator_decides_as_the_oracle(scenario: Scenario) -> None:
    r = scenario.rule
    oracle = Oracle(r.count, r.window_ms, r.cooldown_ms, r.slack)
    state = r.empty()
    for event_id, at in scenario.arrivals:
        # The live path stores the state between events: every step starts from its JSON
        stored = GroupState.model_validate_json(state.model_dump_json())
        assert stored == state
        answer = step(r, stored, Occurrence(event_id, at))
        assert (oracle_outcome(answer.outcome), answer.fired) == oracle.arrive(event_id, at)
        check_bounds(r, answer.state)
        state = answer.state


@PROPERTIES
@given(scenarios())
def test_copies_of_events_never_change_anything(scenario: Scenario) -> None:
    r = scenario.rule
    state, without = r.empty(), r.empty()
    for (event_id, at), first in zip(scenario.arrivals, scenario.first, strict=True):
        answer = step(r, state, Occurrence(event_id, at))
        if first:
            alone = step(r, without, Occurrence(event_id, at))
            assert answer == alone  # the same decision as when no copy ever arrived
            without = alone.state
        else:
            assert answer.outcome in ("duplicate", "too_late") and answer.fired is None
            assert answer.state is state  # nothing to write
        state = answer.state
    assert state == without


@PROPERTIES
@given(scenarios())
def test_events_arriving_in_occurred_order_are_never_too_late(scenario: Scenario) -> None:
    r = scenario.rule
    in_order = sorted(set(scenario.arrivals), key=lambda e: (e[1], e[0]))
    outcomes = [o for o, _ in feed(r, in_order)]
    assert "too_late" not in outcomes and "duplicate" not in outcomes


@PROPERTIES
@given(scenarios(max_events=12), st.data())
def test_preview_over_groups_and_pages_decides_as_one_oracle_per_group(
    scenario: Scenario, data: st.DataObject
) -> None:
    # Given documents of three users (some of another action), an alert by actor, and pages
    r = scenario.rule
    a = alert(filters={"actions": ["user.login"]}, group_by="actor")
    r = Rule(
        key=rule_of(a).key, count=r.count, window_ms=r.window_ms, cooldown_ms=r.cooldown_ms, slack=r.slack
    )
    actors = {i: data.draw(st.sampled_from(["u1", "u2", "u3"])) for i, _ in scenario.arrivals}
    actions = {
        i: data.draw(st.sampled_from(["user.login", "user.login", "user.logout"]))
        for i, _ in scenario.arrivals
    }
    documents = [doc(i, at, actor=actors[i], action=actions[i]) for i, at in scenario.arrivals]
    cut = data.draw(st.integers(0, len(documents)))
    # When a preview runs over them in two pages, the states carried in their JSON form
    page = evaluate(a, documents[:cut], now_ms=NOW_MS, rule=r)
    carried = {g: GroupState.model_validate_json(s.model_dump_json()) for g, s in page.states.items()}
    rest = evaluate(a, documents[cut:], now_ms=NOW_MS, rule=r, states=carried)
    # Then the firings are, in order, those of one oracle per user over the matching events
    oracles = {u: Oracle(r.count, r.window_ms, r.cooldown_ms, r.slack) for u in ("u1", "u2", "u3")}
    expected = []
    for d in documents:
        if d["action"] == "user.login":
            _, fired = oracles[d["actor"]["id"]].arrive(d["id"], occurrence(d).at - T0_MS)
            if fired is not None:
                expected.append((d["actor"]["id"], fired))
    shifted = [(g, shift(f, -T0_MS)) for g, f in page.fired + rest.fired]
    assert shifted == expected
    assert set(rest.states) <= {"u1", "u2", "u3"}


def shift(fired: Fired, by: int) -> Fired:
    return Fired(fired.trigger, fired.count, fired.window_start + by, fired.window_end + by, fired.event_ids)


def test_the_state_has_a_stable_json_form() -> None:
    r = rule(2, 10 * MINUTE, cooldown_ms=MINUTE, slack=1)
    state = r.empty()
    for event_id, at in [("a", 0), ("b", MINUTE), ("c", 2 * MINUTE), ("d", 3 * MINUTE)]:
        state = step(r, state, Occurrence(event_id, at)).state
    assert json.loads(state.model_dump_json()) == {
        "rule": "test",
        "events": [[2 * MINUTE, "c"], [3 * MINUTE, "d"]],
        "floor": [2 * MINUTE, "c"],
        "fired": [2 * MINUTE, 3 * MINUTE],  # a firing a cooldown before the floor holds nothing back
    }
