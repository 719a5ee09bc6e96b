"""GET /v1/events, /v1/events/count and /v1/events/{id}.

Each request reads the index that serves its most selective key filter (target > actor > action >
time), one Query per index partition ("stream": a value in one write shard, or each action matched
by `prefix.*`). Streams are merged by the shared sort key `ts`, so a cursor is one position.
Filters that no key serves (outcome, q, a second key filter) are applied to the fetched events.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from activitylog.dal.events import BATCH_GET, TS_MAX, TS_MIN, EventStore, event_pk, target_value
from activitylog.logic import cursor as cursors
from activitylog.models.auth import Principal, Scope
from activitylog.models.errors import BadRequestError, ForbiddenError, NotFoundError
from activitylog.models.events import EventCount, EventPage, StoredEvent
from activitylog.models.patterns import EVENT_ID_PATTERN
from activitylog.models.query import EventFilters, IndexEntry, Stream
from activitylog.models.text import epoch_millis, format_time, parse_time

MAX_PAGE_BYTES = 5_000_000  # Lambda answers at most 6 MB; leave room for the envelope
MAX_READ = 1_000  # entries one Query asks for at most (~100 B each: well under DynamoDB's 1 MB page)
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


@dataclass(frozen=True, slots=True)
class Plan:
    streams: tuple[Stream, ...]
    residual: bool  # some filter is not served by the index keys


def visible_filters(principal: Principal, filters: EventFilters) -> EventFilters | None:
    """Apply the key's actor restriction; None means the caller can see nothing of this query."""
    if principal.can(Scope.EVENTS_READ):
        return filters
    if not principal.can(Scope.EVENTS_READ_SELF):
        raise ForbiddenError("this key lacks the events:read or events:read:self scope")
    if not principal.actor_id:
        raise ForbiddenError("events:read:self needs a key restricted to an actor")
    if filters.actor_id is not None and filters.actor_id != principal.actor_id:
        return None
    return replace(filters, actor_id=principal.actor_id)


def expand_actions(patterns: Sequence[str], known: Callable[[], set[str]]) -> list[str]:
    exact = [p for p in patterns if not p.endswith(".*")]
    prefixes = [p[:-1] for p in patterns if p.endswith(".*")]
    names = set(exact)
    if prefixes:
        names |= {a for a in known() if a.startswith(tuple(prefixes))}
    return sorted(names)


def plan(filters: EventFilters, ports: QueryPorts) -> Plan:
    shards = range(ports.shard_count)
    used: str
    if filters.target_type is not None and filters.target_id is not None:
        used, values = "target", [target_value(filters.target_type, filters.target_id)]
    elif filters.actor_id is not None:
        used, values = "actor", [filters.actor_id]
    elif filters.actions:
        used, values = "action", expand_actions(filters.actions, ports.known_actions)
    else:
        used, values = "time", [""]
    streams = tuple(Stream(used, v, s) for v in values for s in shards)  # type: ignore[arg-type]
    key_filters = {
        "target": filters.target_type is not None,
        "actor": filters.actor_id is not None,
        "action": bool(filters.actions),
    }
    residual = (
        filters.outcome is not None
        or bool(filters.q)
        or any(on for name, on in key_filters.items() if name != used)
    )
    return Plan(streams=streams, residual=residual)


def matches(event: StoredEvent, filters: EventFilters, now_ms: int) -> bool:
    """`matches_document` on a model (its API JSON shape)."""
    return matches_document(event.model_dump(mode="json"), filters, now_ms)


def matches_document(event: dict[str, Any], filters: EventFilters, now_ms: int) -> bool:
    """Every filter, checked on the event itself (index keys hold digests; expiry is exact here).

    `event` is a stored document as `json.loads` reads it (nulls and defaults may be absent) or the
    API's JSON of an event: the one check behind listing, counting, getting and exporting events.
    """
    if epoch_millis(datetime.fromisoformat(event["expires_at"])) <= now_ms:
        return False
    actor, action = event["actor"], event["action"]
    if filters.actor_id is not None and actor["id"] != filters.actor_id:
        return False
    if filters.actions and not any(
        action.startswith(a[:-1]) if a.endswith(".*") else action == a for a in filters.actions
    ):
        return False
    if filters.target_type is not None and not any(
        t["type"] == filters.target_type and t["id"] == filters.target_id for t in event.get("targets", ())
    ):
        return False
    if filters.outcome is not None and event.get("outcome", "success") != filters.outcome:
        return False
    if filters.from_ is not None or filters.to is not None:
        occurred = datetime.fromisoformat(event["occurred_at"])
        if filters.from_ is not None and occurred < filters.from_:
            return False
        if filters.to is not None and occurred >= filters.to:
            return False
    return not filters.q or filters.q.casefold() in _search_text(event, actor)


def _search_text(event: dict[str, Any], actor: dict[str, Any]) -> str:
    context = event.get("context") or {}
    parts = [event["action"], actor["id"], actor.get("name"), actor.get("email"), context.get("ip")]
    parts += [event.get("description")]
    for target in event.get("targets", ()):
        parts += [target["id"], target.get("name")]
    return "\x1f".join(p for p in parts if p).casefold()


def _bounds(filters: EventFilters) -> tuple[str, str]:
    lo = format_time(filters.from_) if filters.from_ else TS_MIN
    hi = format_time(filters.to) if filters.to else TS_MAX
    return lo, hi


# Reading strictly beyond a position. A Query's sort-key condition is one `BETWEEN lo AND hi`
# (inclusive at both ends; DynamoDB has no two-sided condition with an exclusive end), so a read
# that goes on from a position -- the cursor's, or where DynamoDB stopped a page -- gets an
# exclusive bound derived from that position instead of re-reading the entry there and skipping it.
# Why not `ExclusiveStartKey`: on an index it must hold the index keys and the table key `pk` of an
# item, DynamoDB documents only a previous `LastEvaluatedKey` as a valid value, and it refuses a
# start key outside the key condition; a merged read goes on from the cursor's position in every
# stream, and only one stream (at most) holds that entry. Bounds need no item, only the format.
_ABOVE_TS_CHARS = "~"  # above every character of a stored `ts` (digits, "-:.TZ#", id characters)


def after(ts: str) -> str:
    """The smallest string above `ts`: `BETWEEN after(p) AND hi` means `p < ts <= hi`, exactly.

    DynamoDB compares `S` sort keys by their UTF-8 bytes, and U+0000 is the byte 0x00, below every
    other one, so no string lies strictly between `p` and `p + "\\x00"` (true for any `p`).
    """
    return ts + "\x00"


def before(ts: str) -> str:
    """A bound for which `BETWEEN lo AND before(p)` means `lo <= ts < p` for every stored `ts`.

    Below a string there is in general no greatest string (below "b" lie "a", "az", "azz", ...),
    so this relies on the sort key's format, `<24-char time>#<event id>` with ids of
    `[A-Za-z0-9._:-]`: no character of a stored `ts` is above "z". The bound is `p` with its last
    character lowered by one and "~" appended. It is below `p`, and a stored `ts` below `p` is
    below it too: such a `ts` is a prefix of `p`, or first differs from `p` at an earlier
    character (lower there), or at the last one (lower there, and if lower by exactly one, its
    next character is an id character, below "~"). No stored `ts` contains "~", so none equals it.
    `p` is always a stored `ts`: one DynamoDB returned, or a cursor's position, which
    `cursor.position_ts` only accepts in this format.
    """
    return ts[:-1] + chr(ord(ts[-1]) - 1) + _ABOVE_TS_CHARS


@dataclass(slots=True)
class _Cursor:
    """One stream's read position inside a request: its buffered entries and where to go on."""

    stream: Stream
    lo: str
    hi: str
    buffer: deque[IndexEntry] = field(default_factory=deque)
    more: bool = True
    reads: int = 0
    taken: int = 0  # entries of this stream the merge has yielded


def merged_entries(
    ports: QueryPorts,
    tenant: str,
    streams: Sequence[Stream],
    *,
    bounds: tuple[str, str],
    descending: bool,
    boundary: str | None,
    chunk: int,
    now_s: int,
) -> Iterator[IndexEntry]:
    """Index entries of all streams in `ts` order, strictly beyond `boundary`: a k-way merge.

    Every read of a stream goes on strictly after the last entry it read (`after`/`before`), so no
    entry is read twice within a request and the boundary entry is not read again. The consumer
    takes entries `chunk` at a time (a page); to yield the `chunk`-th entry the merge needs every
    stream read up to it, plus the next entry of each other stream that has more (to know that
    entry comes later). Reads are sized to that: each stream's first read asks for an even share,
    `chunk / k` rounded up; a stream that runs dry while entries are still wanted asks for its share
    so far of what is still wanted, rounded up (so at least one: its next entry), and never for
    more than is still wanted (that covers every outcome: all of the rest from this stream, or fewer
    and then its next entry). A page of k evenly interleaved streams so reads `chunk` entries plus
    at most k - 1; a single stream reads exactly `chunk`.
    """
    lo, hi = bounds
    if boundary is not None:
        lo, hi = (lo, min(hi, before(boundary))) if descending else (max(lo, after(boundary)), hi)
    if lo > hi or not streams:
        return
    chunk = max(1, chunk)
    k = len(streams)
    cursors = [_Cursor(stream, lo, hi) for stream in streams]
    left = chunk  # entries the consumer is expected to take before it stops
    yielded = 0

    def read_size(c: _Cursor) -> int:
        if c.reads == 0:
            return -(-left // k)
        return min(left, -(-(c.taken + 1) * left // (yielded + k)))  # ceil(left * its share), >= 1

    def fill(c: _Cursor) -> None:
        size = 0
        while not c.buffer and c.more:
            if c.lo > c.hi:  # nothing left in range (DynamoDB refuses BETWEEN with lo > hi)
                c.more = False
                return
            # A read that kept nothing (expired entries TTL has not deleted yet, which still count
            # against Limit) is followed by one twice its size: a run of n of them costs log2(n)
            # Queries, not n, and what was read past the run is at most the run's size again.
            size = read_size(c) if size == 0 else min(2 * size, MAX_READ)
            page = ports.events.query_index(
                tenant, c.stream, lo=c.lo, hi=c.hi, descending=descending, limit=size, now_s=now_s
            )
            c.reads += 1
            c.buffer.extend(page.entries)
            c.more = page.last_ts is not None
            if page.last_ts is not None:  # go on strictly beyond where DynamoDB stopped
                c.lo, c.hi = (c.lo, before(page.last_ts)) if descending else (after(page.last_ts), c.hi)

    pick = max if descending else min
    while True:
        if left == 0:  # the consumer goes on past a page (residual filters, counts, exports)
            left = chunk
        for c in cursors:
            fill(c)
        cursors = [c for c in cursors if c.buffer]
        if not cursors:
            return
        best = pick(cursors, key=lambda c: c.buffer[0].ts)
        best.taken += 1
        yielded += 1
        left -= 1
        yield best.buffer.popleft()


@dataclass(slots=True)
class _Walk:
    """Walks index entries from a position, fetching their events; says whether it reached the end."""

    ports: QueryPorts
    tenant: str
    filters: EventFilters
    position: str | None
    budget: Budget
    now: datetime
    exhausted: bool = False

    def documents(self, chunk: int, streams: Sequence[Stream]) -> Iterator[tuple[str, Document | None]]:
        """(ts, document) in order; document is None when it is gone or does not match the filters.

        The caller moves `position` to a ts once it has used that entry. The walk stops early
        (not exhausted) when the read-time budget is spent.
        """
        deadline = self.budget.clock() + self.budget.seconds
        now_ms = epoch_millis(self.now)
        entries = merged_entries(
            self.ports,
            self.tenant,
            streams,
            bounds=_bounds(self.filters),
            descending=self.filters.order == "desc",
            boundary=self.position,
            chunk=chunk,
            now_s=now_ms // 1000,
        )
        while True:
            group = list(islice(entries, min(chunk, BATCH_GET)))
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
    return f"{principal.key_id if principal.actor_id else 'tenant'}:{principal.actor_id or ''}"


def _filters_key(filters: EventFilters) -> dict[str, object]:
    data = {k: getattr(filters, k) for k in filters.__dataclass_fields__ if k != "extra"}
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}


def list_events(
    principal: Principal,
    filters: EventFilters,
    *,
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: QueryPorts,
    budget: Budget | None = None,
) -> EventPage:
    budget = budget or Budget()
    fp = cursors.fingerprint(principal.tenant, _scope_key(principal), {**_filters_key(filters), "m": "l"})
    position = cursors.position_ts(cursors.decode(cursor, fp), "p") if cursor else None
    visible = visible_filters(principal, filters)
    if visible is None:
        return EventPage(events=[], next_cursor=None)
    walk = _Walk(ports, principal.tenant, visible, position, budget, now)
    page: list[StoredEvent] = []
    size = 0
    for ts, event in walk.events(limit, plan(visible, ports).streams):
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
    filters: EventFilters,
    *,
    cursor: str | None,
    now: datetime,
    ports: QueryPorts,
    budget: Budget | None = None,
) -> EventCount:
    budget = budget or Budget()
    fp = cursors.fingerprint(principal.tenant, _scope_key(principal), {**_filters_key(filters), "m": "c"})
    state = cursors.decode(cursor, fp) if cursor else {}
    visible = visible_filters(principal, filters)
    if visible is None:
        return EventCount(count=0, complete=True)
    chosen = plan(visible, ports)
    if chosen.residual:
        return _count_by_reading(principal.tenant, visible, chosen, state, fp, now, ports, budget)
    return _count_by_index(principal.tenant, visible, chosen, state, fp, now, ports, budget)


def _count_by_index(
    tenant: str,
    filters: EventFilters,
    chosen: Plan,
    state: dict[str, object],
    fp: str,
    now: datetime,
    ports: QueryPorts,
    budget: Budget,
) -> EventCount:
    """Every filter is in the keys: let DynamoDB count (Select=COUNT), stream after stream."""
    deadline = budget.clock() + budget.seconds
    stream_no = cursors.position_int(state, "s", len(chosen.streams) or 1) if state else 0
    start = cursors.position_ts(state, "p") if "p" in state else None
    lo, hi = _bounds(filters)
    now_s = epoch_millis(now) // 1000
    total = 0
    while stream_no < len(chosen.streams):
        stream = chosen.streams[stream_no]
        # `start` was the last entry counted: go on strictly after it.
        begin = max(lo, after(start)) if start else lo
        count, last = (
            ports.events.count_index(tenant, stream, lo=begin, hi=hi, now_s=now_s)
            if begin <= hi  # DynamoDB refuses BETWEEN with lo > hi (only a forged cursor gets here)
            else (0, None)
        )
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


def _count_by_reading(
    tenant: str,
    filters: EventFilters,
    chosen: Plan,
    state: dict[str, object],
    fp: str,
    now: datetime,
    ports: QueryPorts,
    budget: Budget,
) -> EventCount:
    """Some filter needs the events themselves: walk them within the time budget."""
    position = cursors.position_ts(state, "p") if "p" in state else None
    asc = replace(filters, order="asc")
    walk = _Walk(ports, tenant, asc, position, budget, now)
    total = 0
    for ts, doc in walk.documents(BATCH_GET, chosen.streams):
        total += doc is not None
        walk.position = ts
    if walk.exhausted or walk.position is None:
        return EventCount(count=total, complete=True)
    return EventCount(count=total, complete=False, next_cursor=cursors.encode(fp, {"p": walk.position}))


def get_event(principal: Principal, event_id: str, *, now: datetime, ports: QueryPorts) -> StoredEvent:
    visible = visible_filters(principal, EventFilters())
    if visible is None or not _ID.fullmatch(event_id):
        raise NotFoundError("no such event")
    doc = ports.events.get_documents([event_pk(principal.tenant, event_id)]).get(
        event_pk(principal.tenant, event_id)
    )
    if doc is None:
        raise NotFoundError("no such event")
    event = StoredEvent.model_validate_json(doc)
    if not matches(event, visible, epoch_millis(now)):
        raise NotFoundError("no such event")
    return event


def iter_events(
    tenant: str, filters: EventFilters, *, now: datetime, ports: QueryPorts
) -> Iterator[StoredEvent]:
    """Every event of `tenant` that GET /v1/events lists for `filters` (tenant-wide), oldest first.

    No page size, byte cap or time budget: exports stream whole time slices through this.
    """
    for doc in iter_documents(tenant, filters, now=now, ports=ports):
        yield StoredEvent.model_validate_json(doc.text)


def iter_documents(
    tenant: str, filters: EventFilters, *, now: datetime, ports: QueryPorts
) -> Iterator[Document]:
    """`iter_events` without models: the stored documents of the same events, in the same order.

    The export slice renders these (logic/export_format.py `render_parsed`): each is parsed once.
    """
    asc = replace(filters, order="asc")
    walk = _Walk(ports, tenant, asc, None, Budget(seconds=float("inf")), now)
    for _ts, doc in walk.documents(BATCH_GET, plan(asc, ports).streams):
        if doc is not None:
            yield doc


def earliest_time(tenant: str, *, now: datetime, ports: QueryPorts) -> datetime | None:
    """The occurred time of the tenant's oldest stored index entry (a lower bound for any filter)."""
    streams = [Stream("time", "", shard) for shard in range(ports.shard_count)]
    entries = merged_entries(
        ports,
        tenant,
        streams,
        bounds=(TS_MIN, TS_MAX),
        descending=False,
        boundary=None,
        chunk=1,
        now_s=epoch_millis(now) // 1000,
    )
    first = next(entries, None)
    return parse_time(first.ts.split("#", 1)[0]) if first else None


def check_range(filters: EventFilters) -> None:
    if filters.from_ is not None and filters.to is not None and filters.from_ >= filters.to:
        raise BadRequestError("`from` must be earlier than `to`")
