"""Query plans and filters shared by the query logic and the events store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Dimension = Literal["time", "actor", "action", "target"]
Order = Literal["desc", "asc"]


@dataclass(frozen=True, slots=True)
class Stream:
    """One index partition to read: a dimension value in one write shard."""

    dimension: Dimension
    value: str  # actor id, action name, "type\x1fid" for targets, "" for time
    shard: int = 0


@dataclass(frozen=True, slots=True)
class EventFilters:
    actor_id: str | None = None
    actions: tuple[str, ...] = ()
    target_type: str | None = None
    target_id: str | None = None
    outcome: Literal["success", "failure"] | None = None
    from_: datetime | None = None
    to: datetime | None = None
    q: str | None = None
    order: Order = "desc"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndexEntry:
    ts: str  # "<occurred_at>#<id>": the sort key shared by every index
    event_pk: str  # the base-table key of the event item
