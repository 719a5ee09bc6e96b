"""Query plans and the records the query logic and the events store pass each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

# "received": the late events' own partitions of `by_time`, sorted by received time (docs/streaming.md).
Dimension = Literal["time", "actor", "action", "target", "received"]


@dataclass(frozen=True, slots=True)
class Stream:
    """One index partition to read: a dimension value in one write shard."""

    dimension: Dimension
    value: str  # actor id, action name, "type\x1fid" for targets, "" for time
    shard: int = 0


def target_value(target_type: str, target_id: str) -> str:
    """A target stream's value (the store keys the index by a digest of it)."""
    return f"{target_type}\x1f{target_id}"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    ts: str  # "<occurred_at>#<id>": the sort key shared by every index
    event_pk: str  # the base-table key of the event item


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """`[start, end)` of occurred times (UTC milliseconds); None is unbounded on that side."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True, slots=True)
class IndexRead:
    """One read of an index stream: the entries inside `window`, strictly beyond the position `after`
    (a `ts` the store returned) in the read direction, unexpired at `now_s`, at most `limit` of them.
    A count reads ascending and takes what one page holds (`descending` and `limit` do not apply)."""

    window: TimeWindow
    after: str | None
    now_s: int
    descending: bool = False
    limit: int = 1


@dataclass(frozen=True, slots=True)
class IndexPage:
    entries: list[IndexEntry]
    last_ts: str | None  # where reading stopped when the stream has more (the filter may hide it)
    scanned: int


@dataclass(frozen=True, slots=True)
class EventRecord:
    """What ingestion hands to the store for one event."""

    tenant: str
    event_id: str
    ts: str
    expires_epoch: int
    shard: int
    actor_id: str
    action: str
    targets: Sequence[tuple[str, str]]  # distinct (type, id) pairs
    document: str  # the StoredEvent as JSON
    # `<received_at>#<id>` for a late event (`is_late`): its extra item in the received partition.
    received_ts: str | None = None


# An event that occurred more than this before it was received (a backfill) is "late": it gets an
# item sorted by received time, so a replay by `received_at` reads it without a scan. Every other
# event occurred within [received - LATE_AFTER, received + 5 min] (ingestion refuses later times).
LATE_AFTER = timedelta(hours=1)
MAX_FUTURE = timedelta(minutes=5)  # ingestion refuses an occurred_at later than received_at + this


def is_late(occurred: datetime, received: datetime) -> bool:
    return occurred < received - LATE_AFTER


class WriteOutcome(NamedTuple):
    """What storing a batch of new events did, per id (the rest were stored by this write).

    `failed`: not stored (busy after every retry): the client retries with the same id.
    `taken`: another write of the same id was stored first (two requests at the same moment): that
    copy stands, this one is not stored and not counted (the id is answered `accepted`, as any id
    already stored is).
    """

    failed: frozenset[str] = frozenset()
    taken: frozenset[str] = frozenset()
