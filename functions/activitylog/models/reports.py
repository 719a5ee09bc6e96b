"""Reports (API.md Part 2, "Reports"; docs/reports.md): what the routes answer, and the hourly
rollups (one tenant's, or one filter's, events of one UTC hour, counted) they are answered from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from typing_extensions import TypeAliasType

from activitylog.models.filters import EventFilter
from activitylog.models.schedule_syntax import check_timezone
from activitylog.models.text import Timestamp

Interval = TypeAliasType("Interval", Literal["hour", "day", "week"])
# The dimensions a rollup counts by; `metadata.<key>` is one per reportable key.
DIMENSIONS = ("action", "actor", "target", "outcome", "ip")
METADATA_PREFIX = "metadata."
METADATA_KEY = r"[^\x00-\x1f]{1,40}"
GROUP_BY_PATTERN = r"^(action|actor|target|outcome|ip|metadata\.[^\x00-\x1f]{1,40})$"
GroupBy = Annotated[str, StringConstraints(pattern=GROUP_BY_PATTERN, max_length=49)]
MAX_TOP = 100
MAX_INTERVALS = 10_000  # series entries of one answer (an hourly series over 400 days is 9,600)
MAX_REPORTABLE_KEYS = 10  # metadata keys a tenant may mark as reportable (settings)
DEFAULT_RANGE_DAYS = 30  # `from` when the request gives none: `to` minus this
_METADATA_KEY = re.compile(METADATA_KEY)


# One rule for time zones: the schedules' (an IANA name the runtime's zone database knows).
TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_timezone)]


class ReportParams(BaseModel):
    """What a report asks beyond the filters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: Interval = "day"
    tz: TimeZone = "UTC"
    group_by: GroupBy | None = None
    top: int = Field(default=10, ge=1, le=MAX_TOP)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


class SeriesEntry(BaseModel):
    start: Timestamp
    count: int


class TargetRef(BaseModel):
    type: str
    id: str


class TopEntry(BaseModel):
    key: str = Field(
        description="the group: an actor id, action, outcome, ip, `type:id` of a target, a value"
    )
    label: str | None = Field(default=None, description="an actor's latest name (or email), a target's name")
    count: int
    target: TargetRef | None = Field(default=None, description="group_by=target: the target")


class ActivityReport(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: Timestamp = Field(alias="from")
    to: Timestamp
    interval: Interval
    tz: str
    group_by: str | None = None
    total: int = Field(description="equals GET /v1/events/count for the same filters (once complete)")
    series: list[SeriesEntry]
    top: list[TopEntry] = Field(default_factory=list)
    distinct: int | None = Field(default=None, description="the number of groups (with group_by)")
    complete: bool = True
    retry_after_seconds: int | None = Field(
        default=None,
        description="only when complete is false: ask again after this long (the rest is computed meanwhile)",
        exclude_if=lambda v: v is None,  # in the answer only when not complete (API.md)
    )


class Heatmap(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: Timestamp = Field(alias="from")
    to: Timestamp
    tz: str
    total: int
    cells: list[list[int]] = Field(description="7 weekdays (Monday first) x 24 local hours")
    complete: bool = True
    retry_after_seconds: int | None = Field(
        default=None, description="only when complete is false", exclude_if=lambda v: v is None
    )


# --- rollups -----------------------------------------------------------------------------------------

Counts = dict[str, int]


@dataclass(slots=True)
class Tally:
    """Events counted: in total, per quarter of the hour, and per dimension's group; the latest
    label of each actor and target group (with the occurred time it was seen at)."""

    total: int = 0
    quarters: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    dims: dict[str, Counts] = field(default_factory=dict)
    labels: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # dim -> key -> (at, label)
    min_expiry: int | None = None  # epoch seconds, over the counted events
    max_expiry: int | None = None


@dataclass(frozen=True, slots=True)
class HourRollup:
    """One stored hour (of the tenant's events, or of one filter's): `as_of` (epoch ms) is the
    received time up to which it holds every event: each one received before it is counted."""

    hour: datetime
    as_of: int
    tally: Tally
    meta_keys: frozenset[str] = frozenset()  # the metadata keys counted as dimensions
    too_big: frozenset[str] = frozenset()  # dimensions with too many groups to store (read from events)


RollupKind = TypeAliasType("RollupKind", Literal["seal", "late", "filtered"])


class RollupWork(BaseModel):
    """A message of the rollup-work queue: compute these hours of this tenant (or of one filter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str
    kind: RollupKind
    hours: list[Timestamp] = Field(min_length=1, max_length=48)
    received_ms: int = 0  # late: the latest received time of the late events that dirtied them
    filters: EventFilter | None = None  # filtered: the (visible) filters, without from/to
    also_target: tuple[str, str] | None = None  # filtered: the filter's second target (restriction)
    fingerprint: str = ""  # filtered: the filters' digest (the rollup's key)


def metadata_key(group_by: str) -> str | None:
    """`metadata.query` -> `query` (None for the other dimensions)."""
    if not group_by.startswith(METADATA_PREFIX):
        return None
    key = group_by[len(METADATA_PREFIX) :]
    return key if _METADATA_KEY.fullmatch(key) else None
