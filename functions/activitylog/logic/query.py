"""GET /v1/events, /v1/events/count and /v1/events/{id}, and the export's walk over a slice.

The plan (`query_plan`) picks the index streams; their entries are merged by the shared sort key
`ts` (`index_reads`), so a cursor is one position; events are fetched in groups and every filter is
checked on each of them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from activitylog.logic import cursor as cursors
from activitylog.logic.index_reads import merged_entries
from activitylog.logic.ports import EventStore
from activitylog.logic.query_plan import Plan, matches, matches_document, plan, visible_filters
from activitylog.models.auth import Principal
from activitylog.models.errors import NotFoundError
from activitylog.models.events import EventCount, EventPage, StoredEvent
from activitylog.models.filters import EventFilter, Order
from activitylog.models.patterns import EVENT_ID_PATTERN
from activitylog.models.query import LATE_AFTER, MAX_FUTURE, IndexRead, Stream, TimeWindow, is_late
from activitylog.models.text import epoch_millis, parse_time

MAX_PAGE_BYTES = 5_000_000  # Lambda answers at most 6 MB; leave room for the envelope
DOCUMENT_GROUP = 100  # events fetched per request to the store (BatchGetItem takes 100 keys)
_ID = re.compile(EVENT_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class Budget:
    max_bytes: int = MAX_PAGE_BYTES
    seconds: float = 10.0
    clock: Callable[[], float] = field(default=time.monotonic)


@dataclass(frozen=True, slots=True)
class QueryPorts:
    events: EventStore
    known_actions: Callable[[], set[str]]
    shard_count: int = 1


class Document(NamedTuple):
    """An event as the events table stores it (`d`: `StoredEvent` JSON without nulls), and parsed."""

    text: str
    data: dict[str, Any]  # json.loads(text)


def window_of(filters: EventFilter) -> TimeWindow:
    return TimeWindow(filters.from_, filters.to)


def plan_for(filters: EventFilter, ports: QueryPorts) -> Plan:
    return plan(filters, shard_count=ports.shard_count, known_actions=ports.known_actions)


@dataclass(slots=True)
class _Walk:
    """Walks index entries from a position, fetching their events; says whether it reached the end."""

    ports: QueryPorts
    tenant: str
    filters: EventFilter
    order: Order
    position: str | None
    budget: Budget
    now: datetime
    exhausted: bool = False
    window: TimeWindow | None = None  # the index range, when not the filters' from/to (replays)

    def documents(self, chunk: int, streams: Sequence[Stream]) -> Iterator[tuple[str, Document | None]]:
        """(ts, document) in order; document is None when it is gone or does not match the filters.

        The caller moves `position` to a ts once it has used that entry. The walk stops early
        (not exhausted) when the read-time budget is spent.
        """
        deadline = self.budget.clock() + self.budget.seconds
        now_ms = epoch_millis(self.now)
        entries = merged_entries(
            self.ports.events,
            self.tenant,
            streams,
            window=self.window or window_of(self.filters),
            descending=self.order == "desc",
            boundary=self.position,
            chunk=chunk,
            now_s=now_ms // 1000,
        )
        while True:
            group = list(islice(entries, min(chunk, DOCUMENT_GROUP)))
            if not group:
                self.exhausted = True
                return
            docs = self.ports.events.get_documents([e.event_pk for e in group])
            for entry in group:
                text = docs.get(entry.event_pk)
                doc = Document(text, json.loads(text)) if text else None
                yield entry.ts, (doc if doc and matches_document(doc.data, self.filters, now_ms) else None)
            if self.budget.clock() > deadline:
                return

    def events(self, chunk: int, streams: Sequence[Stream]) -> Iterator[tuple[str, StoredEvent | None]]:
        """Like `documents`, as models (only the matching events are validated)."""
        for ts, doc in self.documents(chunk, streams):
            yield ts, (StoredEvent.model_validate_json(doc.text) if doc else None)


def _scope_key(principal: Principal) -> str:
    """A restricted caller's cursors are its own (a key's or a viewer token's)."""
    if not principal.restricted:
        return "tenant:"
    target = f":{principal.target.type}\x1f{principal.target.id}" if principal.target else ""
    return f"{principal.key_id}:{principal.actor_id or ''}{target}"


def _filters_key(filters: EventFilter, order: Order) -> dict[str, object]:
    return {**filters.model_dump(by_alias=False), "order": order}


def list_events(
    principal: Principal,
    filters: EventFilter,
    *,
    order: Order = "desc",
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: QueryPorts,
    budget: Budget | None = None,
) -> EventPage:
    budget = budget or Budget()
    fp = cursors.fingerprint(
        principal.tenant, _scope_key(principal), {**_filters_key(filters, order), "m": "l"}
    )
    position = cursors.position_ts(cursors.decode(cursor, fp), "p") if cursor else None
    visible = visible_filters(principal, filters)
    if visible is None:
        return EventPage(events=[], next_cursor=None)
    walk = _Walk(ports, principal.tenant, visible, order, position, budget, now)
    page: list[StoredEvent] = []
    size = 0
    for ts, event in walk.events(limit, plan_for(visible, ports).streams):
        if event is not None:
            body = len(event.model_dump_json())
            if page and size + body > budget.max_bytes:
                walk.exhausted = False
                break
            page.append(event)
            size += body
        walk.position = ts
        if len(page) == limit:
            break
    done = walk.exhausted or walk.position is None
    return EventPage(events=page, next_cursor=None if done else cursors.encode(fp, {"p": walk.position}))


def count_events(
    principal: Principal,
    filters: EventFilter,
    *,
    cursor: str | None,
    now: datetime,
    ports: QueryPorts,
    budget: Budget | None = None,
) -> EventCount:
    budget = budget or Budget()
    fp = cursors.fingerprint(
        principal.tenant, _scope_key(principal), {**_filters_key(filters, "desc"), "m": "c"}
    )
    state = cursors.decode(cursor, fp) if cursor else {}
    visible = visible_filters(principal, filters)
    if visible is None:
        return EventCount(count=0, complete=True)
    counting = _Counting(principal.tenant, visible, plan_for(visible, ports), state, fp, now, ports, budget)
    return _count_by_reading(counting) if counting.plan.residual else _count_by_index(counting)


@dataclass(frozen=True, slots=True)
class _Counting:
    """One count request, worked out: what both ways of counting need."""

    tenant: str
    filters: EventFilter
    plan: Plan
    state: dict[str, object]  # the cursor's position
    fp: str  # the cursor's fingerprint
    now: datetime
    ports: QueryPorts
    budget: Budget


def _count_by_index(c: _Counting) -> EventCount:
    """Every filter is in the keys: let DynamoDB count (Select=COUNT), stream after stream."""
    tenant, chosen, state, fp, ports, budget = c.tenant, c.plan, c.state, c.fp, c.ports, c.budget
    deadline = budget.clock() + budget.seconds
    stream_no = cursors.position_int(state, "s", len(chosen.streams) or 1) if state else 0
    start = cursors.position_ts(state, "p") if "p" in state else None
    window = window_of(c.filters)
    now_s = epoch_millis(c.now) // 1000
    total = 0
    while stream_no < len(chosen.streams):
        stream = chosen.streams[stream_no]
        # `start` was the last entry counted: go on strictly after it.
        count, last = ports.events.count_index(tenant, stream, IndexRead(window, start, now_s))
        total += count
        if last is None:
            stream_no, start = stream_no + 1, None
        else:
            start = last
        if budget.clock() > deadline and stream_no < len(chosen.streams):
            position: dict[str, object] = {"s": stream_no}
            if start is not None:
                position["p"] = start
            return EventCount(count=total, complete=False, next_cursor=cursors.encode(fp, position))
    return EventCount(count=total, complete=True)


def _count_by_reading(c: _Counting) -> EventCount:
    """Some filter needs the events themselves: walk them within the time budget."""
    position = cursors.position_ts(c.state, "p") if "p" in c.state else None
    walk = _Walk(c.ports, c.tenant, c.filters, "asc", position, c.budget, c.now)
    total = 0
    for ts, doc in walk.documents(DOCUMENT_GROUP, c.plan.streams):
        total += doc is not None
        walk.position = ts
    if walk.exhausted or walk.position is None:
        return EventCount(count=total, complete=True)
    return EventCount(count=total, complete=False, next_cursor=cursors.encode(c.fp, {"p": walk.position}))


def get_event(principal: Principal, event_id: str, *, now: datetime, ports: QueryPorts) -> StoredEvent:
    visible = visible_filters(principal, EventFilter())
    if visible is None or not _ID.fullmatch(event_id):
        raise NotFoundError("no such event")
    key = ports.events.event_key(principal.tenant, event_id)
    doc = ports.events.get_documents([key]).get(key)
    if doc is None:
        raise NotFoundError("no such event")
    event = StoredEvent.model_validate_json(doc)
    if not matches(event, visible, epoch_millis(now)):
        raise NotFoundError("no such event")
    return event


def iter_events(
    tenant: str, filters: EventFilter, *, now: datetime, ports: QueryPorts
) -> Iterator[StoredEvent]:
    """Every event of `tenant` that GET /v1/events lists for `filters` (tenant-wide), oldest first.

    No page size, byte cap or time budget: exports stream whole time slices through this.
    """
    for doc in iter_documents(tenant, filters, now=now, ports=ports):
        yield StoredEvent.model_validate_json(doc.text)


def iter_documents(
    tenant: str, filters: EventFilter, *, now: datetime, ports: QueryPorts
) -> Iterator[Document]:
    """`iter_events` without models: the stored documents of the same events, in the same order.

    The export slice renders these (logic/export_format.py `render_parsed`): each is parsed once.
    """
    walk = _Walk(ports, tenant, filters, "asc", None, Budget(seconds=float("inf")), now)
    for _ts, doc in walk.documents(DOCUMENT_GROUP, plan_for(filters, ports).streams):
        if doc is not None:
            yield doc


class Reading:
    """The documents of `filters` oldest first, from an index position (exclusive), within a
    time budget (preview, `logic/alerts.py`): (ts, document or None when it does not match);
    `exhausted` once the range's end was reached."""

    def __init__(
        self,
        tenant: str,
        filters: EventFilter,
        *,
        position: str | None,
        budget: Budget,
        now: datetime,
        ports: QueryPorts,
    ) -> None:
        self._walk = _Walk(ports, tenant, filters, "asc", position, budget, now)
        self._streams = plan_for(filters, ports).streams

    def __iter__(self) -> Iterator[tuple[str, Document | None]]:
        return self._walk.documents(DOCUMENT_GROUP, self._streams)

    @property
    def exhausted(self) -> bool:
        return self._walk.exhausted


def earliest_time(tenant: str, *, now: datetime, ports: QueryPorts) -> datetime | None:
    """The occurred time of the tenant's oldest stored index entry (a lower bound for any filter)."""
    streams = [Stream("time", "", shard) for shard in range(ports.shard_count)]
    entries = merged_entries(
        ports.events,
        tenant,
        streams,
        window=TimeWindow(),
        descending=False,
        boundary=None,
        chunk=1,
        now_s=epoch_millis(now) // 1000,
    )
    first = next(entries, None)
    return parse_time(first.ts.split("#", 1)[0]) if first else None


# --- by received time (replays, docs/streaming.md) ---------------------------------------------------
class ReceivedPosition(NamedTuple):
    """Where a walk by received time is: its phase (`o`: by occurred time, `r`: the late events'
    partitions) and the last index position used in it (None: from the phase's start)."""

    phase: str
    ts: str | None


def iter_received(
    tenant: str,
    filters: EventFilter,
    start: datetime,
    end: datetime,
    *,
    position: ReceivedPosition | None,
    now: datetime,
    ports: QueryPorts,
    budget: Budget,
) -> Iterator[tuple[ReceivedPosition, Document | None]]:
    """Every event of `tenant` received in `[start, end)` that `filters` select (no from/to in
    them), each once, without a scan: (position, document or None) in walk order, the position to
    go on from once the caller used the entry. Stops (without reaching the end) when the budget's
    time is spent; the caller then goes on from the last position it used.

    1. `by_time` over occurred times `[start - LATE_AFTER, end + MAX_FUTURE)`, keeping the events
       received in the window that are not late (every event not late occurred in that range);
    2. the late events' partitions (`ts = <received_at>#<id>`) over `[start, end)`.
    """
    ends = budget.clock() + budget.seconds  # one budget for both phases
    if position is None:
        position = ReceivedPosition("o", None)
    plan_filters = filters.model_copy(update={"from_": None, "to": None})
    if position.phase == "o":
        walk = _Walk(
            ports, tenant, plan_filters, "asc", position.ts, budget, now,
            window=TimeWindow(start - LATE_AFTER, end + MAX_FUTURE),
        )  # fmt: skip
        for ts, doc in walk.documents(DOCUMENT_GROUP, plan_for(plan_filters, ports).streams):
            if doc is not None:
                received = datetime.fromisoformat(doc.data["received_at"])
                occurred = datetime.fromisoformat(doc.data["occurred_at"])
                if not start <= received < end or is_late(occurred, received):
                    doc = None
            yield ReceivedPosition("o", ts), doc
        if not walk.exhausted:
            return
        position = ReceivedPosition("r", None)
    streams = [Stream("received", "", shard) for shard in range(ports.shard_count)]
    rest = Budget(budget.max_bytes, max(0.0, ends - budget.clock()), budget.clock)
    late = _Walk(ports, tenant, plan_filters, "asc", position.ts, rest, now, window=TimeWindow(start, end))
    for ts, doc in late.documents(DOCUMENT_GROUP, streams):
        yield ReceivedPosition("r", ts), doc
    if late.exhausted:
        yield ReceivedPosition("done", None), None
