"""The alert evaluator: one pure step per matching event, the same code for the live path (a stream
consumer keeping each (alert, group)'s state in one item) and for preview (stored events of a range,
state in memory), so the two never disagree (docs/alerts.md).

Per event and alert: `matches` (the one filter check, `query_plan.matches_document`), `group_of`,
then `step(rule, state, occurrence) -> Step(state, outcome, fired)`. `step` reads nothing and
writes nothing: the caller stores `Step.state` when it is not the state it passed (a conditional
write in the live path) and records `Step.fired` as a `Firing` (`firing`).

The rule, exactly (docs/alerts.md, "Semantics"): an accepted event of a group fires when it is one
of at least `count` events of that group whose occurred times lie within a closed interval of
length `window`, unless a firing of that group lies less than `cooldown` from it, on either side,
in occurred time. The firing names the earliest run of `count` consecutive events (in
(occurred_at, id) order) that contains the event and spans at most `window`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

from activitylog.logic.query_plan import matches_document
from activitylog.models.alerts import (
    FIRED_ACTION,
    MAX_FIRING_EVENTS,
    AlertCreate,
    Firing,
    GroupBy,
    GroupState,
    Key,
    duration_ms,
)
from activitylog.models.text import epoch_millis

# Events a group remembers beyond the `count - 1` a window needs: how far out of order, counted in
# newer events of the group, an event may arrive and still be evaluated (docs/alerts.md, "State").
# 100 is one ingest request: a batch sharing one occurred_at is evaluated whole in any order.
LATE_SLACK = 100

Outcome = Literal["counted", "fired", "cooldown", "duplicate", "too_late"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RuleMismatchError(ValueError):
    """A state built under other settings (a count, window, cooldown, filter or grouping since
    changed): its bounds and its events mean nothing to this rule."""


class Occurrence(NamedTuple):
    """What the evaluator needs of an event: its id and its occurred_at in epoch milliseconds."""

    id: str
    at: int

    @property
    def key(self) -> Key:
        return (self.at, self.id)


@dataclass(frozen=True, slots=True)
class Rule:
    """The settings that decide, in milliseconds; `key` identifies them (`GroupState.rule`)."""

    key: str
    count: int
    window_ms: int
    cooldown_ms: int
    slack: int = LATE_SLACK

    @property
    def capacity(self) -> int:
        """The most events a group's state remembers."""
        return self.count - 1 + self.slack

    def empty(self) -> GroupState:
        return GroupState(rule=self.key)


def rule_of(alert: AlertCreate) -> Rule:
    """The alert's deciding settings. Its name, recipients, destinations and `enabled` are not part
    of them: changing those keeps the state (and so the cooldown)."""
    window_ms, cooldown_ms = duration_ms(alert.threshold.window), duration_ms(alert.cooldown)
    basis = {
        "filters": alert.filters.model_dump(mode="json", by_alias=True),
        "group_by": alert.group_by,
        "count": alert.threshold.count,
        "window_ms": window_ms,
        "cooldown_ms": cooldown_ms,
    }
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Rule(key=key, count=alert.threshold.count, window_ms=window_ms, cooldown_ms=cooldown_ms)


@dataclass(frozen=True, slots=True)
class Fired:
    """A firing as the evaluator decides it (times in epoch milliseconds); `firing` makes the model."""

    trigger: str  # the event whose acceptance fired
    count: int
    window_start: int
    window_end: int
    event_ids: tuple[str, ...]  # the oldest MAX_FIRING_EVENTS of the window's `count` events


class Step(NamedTuple):
    state: GroupState  # the state passed in, unchanged (the same object) for a duplicate or too late
    outcome: Outcome
    fired: Fired | None


def step(rule: Rule, state: GroupState, event: Occurrence) -> Step:
    """Evaluate one matching event of one group against that group's state."""
    if state.rule != rule.key:
        raise RuleMismatchError(f"the state belongs to rule {state.rule}, not {rule.key}")
    key = event.key
    if any(kept == event.id for _, kept in state.events):
        return Step(state, "duplicate", None)
    if state.floor is not None and key <= state.floor:
        return Step(state, "too_late", None)  # older than what the state can still decide exactly

    at = bisect_left(state.events, key)
    events = (*state.events[:at], key, *state.events[at:])
    fired_times = state.fired
    outcome: Outcome = "counted"
    fired = None
    start = _earliest_run(events, at, rule.count, rule.window_ms)
    if start is not None:
        if _cooling(fired_times, event.at, rule.cooldown_ms):
            outcome = "cooldown"
        else:
            outcome, fired = "fired", _fired(event.id, events[start : start + rule.count])
            if rule.cooldown_ms > 0:  # with no cooldown a firing holds nothing back: not kept
                fired_list = list(fired_times)
                insort(fired_list, event.at)
                fired_times = tuple(fired_list)

    floor = state.floor
    excess = len(events) - rule.capacity
    if excess > 0:
        # Forget the oldest; from now on an event must come after the (count - 1)th oldest event
        # still remembered, so that every event accepted has its count - 1 predecessors at hand.
        # (count 1: after the newest forgotten one, which also keeps any copy of it out.)
        candidate = events[excess + rule.count - 2]
        floor = candidate if floor is None else max(floor, candidate)
        events = events[excess:]
    if floor is not None and fired_times:
        # An event still accepted occurred at floor[0] or later: a firing a full cooldown before
        # that can hold nothing back any more.
        fired_times = fired_times[bisect_right(fired_times, floor[0] - rule.cooldown_ms) :]
    new = GroupState.model_construct(rule=state.rule, events=events, floor=floor, fired=fired_times)
    return Step(new, outcome, fired)


def _earliest_run(events: tuple[Key, ...], at: int, count: int, window_ms: int) -> int | None:
    """The start of the earliest `count` consecutive events that include `events[at]` and span at
    most `window_ms`; None when there is none. Any `count` events within a closed interval of that
    length that include the event imply such a run (the events of the interval are consecutive)."""
    for start in range(max(0, at - count + 1), min(at, len(events) - count) + 1):
        if events[start + count - 1][0] - events[start][0] <= window_ms:
            return start
    return None


def _cooling(fired_times: tuple[int, ...], at: int, cooldown_ms: int) -> bool:
    """Whether a firing lies less than the cooldown from `at`, before or after it."""
    if cooldown_ms <= 0:
        return False
    nearest = bisect_right(fired_times, at - cooldown_ms)  # the first firing after at - cooldown
    return nearest < len(fired_times) and fired_times[nearest] < at + cooldown_ms


def _fired(trigger: str, run: tuple[Key, ...]) -> Fired:
    return Fired(
        trigger=trigger,
        count=len(run),
        window_start=run[0][0],
        window_end=run[-1][0],
        event_ids=tuple(event_id for _, event_id in run[:MAX_FIRING_EVENTS]),
    )


def matches(alert: AlertCreate, event: dict[str, Any], now_ms: int) -> bool:
    """Whether the alert evaluates this stored event (a document as the stream or the query path
    gives it): its filters select it, it has the group the alert groups by (an event without an ip,
    or without a target, belongs to no group of an alert by ip or by target), and it is not a
    firing's own event."""
    if event["action"] == FIRED_ACTION:
        return False
    if not matches_document(event, alert.filters, now_ms):
        return False
    return _group(alert.group_by, event)[0]


def group_of(alert: AlertCreate, event: dict[str, Any]) -> str | None:
    """The event's group: its actor's id, its context's ip, its first target (`type:id`, `:` and
    `%` of the type percent-encoded so that no two targets share a group), or None (no group_by)."""
    present, group = _group(alert.group_by, event)
    if not present:
        raise ValueError(f"the event has no {alert.group_by}: `matches` leaves it out")
    return group


def target_group(target_type: str, target_id: str) -> str:
    return f"{target_type.replace('%', '%25').replace(':', '%3A')}:{target_id}"


def _group(group_by: GroupBy | None, event: dict[str, Any]) -> tuple[bool, str | None]:
    if group_by is None:
        return True, None
    if group_by == "actor":
        return True, event["actor"]["id"]
    if group_by == "ip":
        ip = (event.get("context") or {}).get("ip")
        return ip is not None, ip
    targets = event.get("targets") or ()
    if not targets:
        return False, None
    return True, target_group(targets[0]["type"], targets[0]["id"])


def occurrence(event: dict[str, Any]) -> Occurrence:
    return Occurrence(id=event["id"], at=epoch_millis(datetime.fromisoformat(event["occurred_at"])))


def firing(fired: Fired, *, alert_id: str | None, group: str | None, fired_at: datetime) -> Firing:
    """The Firing of a decision. Its id is derived from the alert and the triggering event (an event
    triggers at most one firing per alert): a redone write of the same firing is the same item."""
    seed = f"{alert_id or ''}\x1f{fired.trigger}".encode("utf-8", "surrogatepass")
    digest = base64.b32encode(hashlib.sha256(seed).digest()).decode().rstrip("=").lower()
    return Firing(
        id=f"fir-{digest[:26]}",
        alert_id=alert_id,
        group=group,
        count=fired.count,
        window_start=from_millis(fired.window_start),
        window_end=from_millis(fired.window_end),
        fired_at=fired_at,
        event_ids=list(fired.event_ids),
    )


def from_millis(value: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=value)


@dataclass
class Evaluation:
    """What a run over a sequence of events decided: each group's state, and the firings in order."""

    states: dict[str | None, GroupState] = field(default_factory=dict)
    fired: list[tuple[str | None, Fired]] = field(default_factory=list)


def evaluate(
    alert: AlertCreate,
    events: Iterable[dict[str, Any]],
    *,
    now_ms: int,
    rule: Rule | None = None,
    states: Mapping[str | None, GroupState] | None = None,
    max_fired: int | None = None,
) -> Evaluation:
    """The events in the order given, through `matches`, `group_of` and `step`, with the states in
    memory (preview; the live path does the same per event with its stored state). `states`
    continues an earlier run (the next page of a preview); with `max_fired` it stops after the
    event that made that many firings, without taking the next event from `events`."""
    rule = rule or rule_of(alert)
    result = Evaluation(states=dict(states or {}))
    for event in events:
        if not matches(alert, event, now_ms):
            continue
        group = group_of(alert, event)
        answer = step(rule, result.states.get(group) or rule.empty(), occurrence(event))
        result.states[group] = answer.state
        if answer.fired is not None:
            result.fired.append((group, answer.fired))
            if max_fired is not None and len(result.fired) >= max_fired:
                break
    return result


def idle(rule: Rule, state: GroupState, at: int) -> bool:
    """Whether a state can no longer change any decision on events that occurred at `at` or later
    (in occurred order, as a preview reads them): its newest event and newest firing are more than
    the window and the cooldown before `at`. Dropping such a state changes nothing."""
    newest = max([k[0] for k in state.events[-1:]] + list(state.fired[-1:]), default=None)
    return newest is None or at - newest > max(rule.window_ms, rule.cooldown_ms)
