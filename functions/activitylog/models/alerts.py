"""Alerts: the definition a tenant sends, the firing it produces, and the evaluator's state per
(alert, group) (API.md Part 2, "Alerts"; semantics and bounds in docs/alerts.md).

The evaluator itself is `activitylog.logic.alert_eval`; these are the shapes it, the API and the
store share. Durations are ISO 8601 (`PT10M`, `P1D`), exact lengths of time on the `occurred_at`
axis (a day is 24 hours: events carry UTC instants, not wall-clock dates).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from typing_extensions import TypeAliasType

from activitylog.models.email import EmailAddress
from activitylog.models.exports import ExportName
from activitylog.models.filters import EventFilter
from activitylog.models.schedule_syntax import parse_duration
from activitylog.models.text import Timestamp, format_time

GroupBy = TypeAliasType("GroupBy", Literal["actor", "ip", "target"])

MIN_COUNT, MAX_COUNT = 1, 1000
DEFAULT_COOLDOWN = "PT1H"
MAX_RECIPIENTS = 50
MAX_ALERT_DESTINATIONS = 10
MAX_FIRING_EVENTS = 100  # event ids a firing lists (the oldest of its window)
# A firing is recorded as an event of the tenant with this action; alerts never evaluate these
# (an alert on every event, count 1, cooldown PT0S, would otherwise fire on its own firings forever).
FIRED_ACTION = "activitylog.alert.fired"


def duration_ms(value: str) -> int:
    """An accepted duration in milliseconds (the unit of `occurred_at`)."""
    return int(parse_duration(value).nominal / timedelta(milliseconds=1))


def _between(what: str, low: str, high: str) -> AfterValidator:
    bounds = parse_duration(low).nominal, parse_duration(high).nominal

    def check(value: str) -> str:
        if not bounds[0] <= parse_duration(value).nominal <= bounds[1]:
            raise ValueError(f"{what} {value!r} must be between {low} and {high}")
        return value

    return AfterValidator(check)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_emails(values: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for value in values:
        seen.setdefault(value.casefold(), value)
    return list(seen.values())


AlertWindow = Annotated[str, Field(min_length=2, max_length=32), _between("window", "PT1M", "P1D")]
Cooldown = Annotated[str, Field(min_length=2, max_length=32), _between("cooldown", "PT0S", "P7D")]
DestinationId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class AlertFilters(EventFilter):
    """The event filter of GET /v1/events without a time range: an alert watches events as they
    are accepted (a range is a preview's, `POST /v1/alerts/preview`)."""

    @model_validator(mode="after")
    def _no_time_range(self) -> AlertFilters:
        if self.from_ is not None or self.to is not None:
            raise ValueError("an alert's filters take no `from` or `to` (preview a range instead)")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Threshold(_Strict):
    count: StrictInt = Field(ge=MIN_COUNT, le=MAX_COUNT)
    window: AlertWindow


class AlertCreate(_Strict):
    """`POST /v1/alerts`, and the `alert` of a preview: what decides, and who is told."""

    name: ExportName
    filters: AlertFilters = Field(default_factory=AlertFilters)
    threshold: Threshold
    group_by: GroupBy | None = None  # None: the tenant's matching events as one group
    cooldown: Cooldown = DEFAULT_COOLDOWN
    recipients: Annotated[list[EmailAddress], AfterValidator(_unique_emails)] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS
    )
    destination_ids: Annotated[list[DestinationId], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_ALERT_DESTINATIONS
    )
    enabled: StrictBool = True


class AlertUpdate(_Strict):
    """`PUT /v1/alerts/{id}` (partial): fields left out keep their value; `group_by` may be set
    to null (the tenant as one group) by sending it."""

    name: ExportName | None = None
    filters: AlertFilters | None = None
    threshold: Threshold | None = None
    group_by: GroupBy | None = None
    cooldown: Cooldown | None = None
    recipients: Annotated[list[EmailAddress], AfterValidator(_unique_emails)] | None = Field(
        default=None, max_length=MAX_RECIPIENTS
    )
    destination_ids: Annotated[list[DestinationId], AfterValidator(_unique)] | None = Field(
        default=None, max_length=MAX_ALERT_DESTINATIONS
    )
    enabled: StrictBool | None = None

    @model_validator(mode="after")
    def _no_null_but_group_by(self) -> AlertUpdate:
        nulls = sorted(f for f in self.model_fields_set if f != "group_by" and getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null (leave a field out to keep it)")
        return self


class Alert(AlertCreate):
    """An alert as stored and shown. `rule_since`: when its deciding settings (filters, grouping,
    threshold, cooldown) last took effect; events accepted before that are not evaluated by them."""

    id: str
    created_at: Timestamp
    updated_at: Timestamp
    rule_since: Timestamp
    last_fired_at: Timestamp | None = None


class AlertPage(BaseModel):
    alerts: list[Alert]


class AlertAnswer(BaseModel):
    alert: Alert


class Firing(BaseModel):
    """One firing: the `count` events of one group that reached the threshold within `window`."""

    id: str = Field(
        description="derived from the alert and the triggering event: the same firing, the same id"
    )
    alert_id: str | None = Field(description="None in a preview (its alert is a body, not a stored alert)")
    group: str | None = Field(description="the actor id, ip or first target (`type:id`); None: no group_by")
    count: int
    window_start: Timestamp = Field(description="the oldest occurred_at among the window's events")
    window_end: Timestamp = Field(description="the newest occurred_at among the window's events")
    fired_at: Timestamp
    event_ids: list[str] = Field(
        max_length=MAX_FIRING_EVENTS, description="the window's events, oldest first"
    )


def firing_key(firing: Firing) -> str:
    """A firing's sort key among its alert's firings: newest `fired_at` last (listed in reverse)."""
    return f"FIR#{format_time(firing.fired_at)}#{firing.id}"


# An event as the evaluator keeps it: (occurred_at in epoch milliseconds, id). Sorted as tuples,
# which is (occurred_at, id) order: the order of every index of the events table.
Key = tuple[int, str]


class GroupState(BaseModel):
    """What the evaluator keeps for one (alert, group): stored by the live path (one item, updated
    with conditional writes), held in memory by a preview. Bounded: docs/alerts.md, "State".

    `rule`: the digest of the settings it was built under (`alert_eval.rule_of`); `events`: the
    remembered matching events, sorted; `floor`: None while every accepted event is remembered,
    then the key at or before which an event is too late (it only rises); `fired`: the occurred
    times of the firings that can still hold a later event back (cooldown), sorted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    events: tuple[Key, ...] = ()
    floor: Key | None = None
    fired: tuple[int, ...] = ()


class FiringPage(BaseModel):
    firings: list[Firing]
    next_cursor: str | None


MAX_PREVIEW_RANGE = timedelta(days=90)


class PreviewRequest(_Strict):
    """`POST /v1/alerts/preview`: the firings an alert body would have produced over stored events."""

    alert: AlertCreate
    from_: Timestamp = Field(alias="from")
    to: Timestamp

    @model_validator(mode="after")
    def _range(self) -> PreviewRequest:
        if self.from_ >= self.to:
            raise ValueError("`from` must be earlier than `to`")
        if self.to - self.from_ > MAX_PREVIEW_RANGE:
            raise ValueError("a preview covers at most 90 days")
        return self


class PreviewAnswer(BaseModel):
    firings: list[Firing]
    complete: bool
    next_cursor: str | None


class Matched(NamedTuple):
    """One event an alert evaluates, as the router hands it to the evaluator: its group, its
    occurred_at (epoch ms) and id."""

    group: str | None
    at: int
    id: str


class AlertWork(BaseModel):
    """A message of the alert-work queue: one alert (as the router read it) and the events of one
    stream batch it evaluates, in stream order. Carrying the definition means the evaluator decides
    with the settings the router matched with."""

    tenant: str
    alert: Alert
    events: list[Matched]
