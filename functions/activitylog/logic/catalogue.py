"""The catalogue (API.md Part 2): which actions, actors and targets appear in a tenant's log.

Ingestion keeps it (`record_entries`) without a write per event: each container remembers the
entries it has recorded or read (`CatalogueMemory`), and touches the store only for an entry it
cannot vouch for: new, carrying another name or email, or carried by an event that expires more
than REFRESH after the latest one recorded (so an entry in use is written about once per REFRESH).
Even then it first reads what is stored (another container may have written it) and writes only
what changed.

Visibility (API.md: an entry disappears at the latest a day after its last event expired): an
entry whose recorded latest event expired less than a day ago is shown; one whose recorded event
is older may still have events that were not recorded (those of its last REFRESH): it is shown
only if its events index still holds a live event (`_live`, one small Query per shard). Items are
kept (TTL) REFRESH and a day past their recorded expiry, for that check; DynamoDB deletes them
later still, and no read shows them.

The routes list the tenant's entries (prefix search by the store's keys), or, for a restricted
credential (`catalogue_slice`), what its own latest events contain (docs/api.md, "Catalogue").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from activitylog.logic import cursor as cursors
from activitylog.logic.query_plan import visible_filters
from activitylog.models.auth import Principal
from activitylog.models.catalogue import (
    ActionEntry,
    ActionList,
    ActorEntry,
    ActorPage,
    Entry,
    EntryData,
    EntryKey,
    Kind,
    Sighting,
    TargetEntry,
    TargetPage,
    fold,
)
from activitylog.models.errors import BadRequestError, ForbiddenError
from activitylog.models.filters import EventFilter
from activitylog.models.query import Dimension, IndexRead, Stream, TimeWindow, target_value
from activitylog.models.text import check_text, epoch_millis, from_epoch_millis

if TYPE_CHECKING:  # the query path is loaded by the routes only, not by ingestion
    from activitylog.logic.query import QueryPorts
    from activitylog.models.events import StoredEvent

DAY = 86_400  # an entry is shown up to this long after its last event expired
REFRESH = 14 * DAY  # an entry in use is written again about this often (docs/cost.md, Catalogue)
MEMORY_ENTRIES = 50_000  # per container (a few hundred bytes each)
LIVE_CHECK = 5  # index entries read to tell whether an entry still has a live event
SLICE_EVENTS = 1_000  # a restricted credential's catalogue: from its latest this many events
SLICE_PAGE = 200
SLICE_SECONDS = 5.0


class CatalogueStore(Protocol):
    def get_entries(self, tenant: str, keys: Iterable[EntryKey]) -> dict[EntryKey, Entry]: ...
    def write_entries(
        self, tenant: str, writes: Sequence[tuple[Entry, Entry | None]], *, now: int
    ) -> None: ...
    def search(
        self,
        tenant: str,
        kind: Kind,
        *,
        prefix: str,
        after: str | None,
        limit: int,
        now: int,
        target_type: str | None = None,
    ) -> tuple[list[Entry], str | None]: ...
    def all_actions(self, tenant: str, *, now: int) -> list[Entry]: ...


@dataclass(frozen=True, slots=True)
class CataloguePorts:
    store: CatalogueStore
    query: Callable[[], QueryPorts]  # restricted credentials read their own events


RawKey = tuple[Kind, str, str]  # an EntryKey as a plain tuple (kind, id, type): ingestion's hot path


class CatalogueMemory:
    """What this container knows is stored, per (tenant, entry): least recently used forgotten first."""

    def __init__(self, capacity: int = MEMORY_ENTRIES) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, RawKey], Entry] = OrderedDict()

    def get(self, tenant: str, key: RawKey) -> Entry | None:
        found = self._entries.get((tenant, key))
        if found is not None:
            self._entries.move_to_end((tenant, key))
        return found

    def remember(self, tenant: str, entry: Entry) -> None:
        where = (tenant, (entry.key.kind, entry.key.id, entry.key.type))
        self._entries[where] = entry
        self._entries.move_to_end(where)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


# --- ingestion ------------------------------------------------------------------------------------


def sighting(event: Any, occurred_ms: int, expires: int) -> Sighting:
    """What a validated `EventIn` tells the catalogue (attribute reads only: ingestion's hot path)."""
    actor = event.actor
    return Sighting(
        action=event.action,
        actor=(actor.id, actor.type, actor.name, actor.email),
        targets=tuple((t.type, t.id, t.name) for t in event.targets),
        occurred_ms=occurred_ms,
        expires=expires,
    )


def _aggregate(sightings: Iterable[Sighting]) -> dict[RawKey, list[Any]]:
    """Per entry the events carry: [type, name, email, latest expiry, latest occurred ms, first
    occurred ms], as the latest event says (in batch order; a missing name or email erases none).
    Plain tuples and lists: this runs for every stored event (docs/benchmarks.md, Ingest)."""
    found: dict[RawKey, list[Any]] = {}
    for s in sightings:
        occurred, expires = s.occurred_ms, s.expires
        actor_id, actor_type, actor_name, email = s.actor
        seen: list[tuple[RawKey, str | None, str | None, str | None]] = [
            (("action", s.action, ""), None, None, None),
            (("actor", actor_id, ""), actor_type, actor_name, email),
        ]
        seen += [(("target", tid, ttype), None, tname, None) for ttype, tid, tname in s.targets]
        for key, typ, name, mail in seen:
            a = found.get(key)
            if a is None:
                found[key] = [typ, name, mail, expires, occurred, occurred]
                continue
            a[0] = typ
            if name is not None:
                a[1] = name
            if mail is not None:
                a[2] = mail
            a[3], a[4], a[5] = max(a[3], expires), max(a[4], occurred), min(a[5], occurred)
    return found


def _entry(key: RawKey, a: list[Any]) -> Entry:
    data = EntryData(type=a[0], name=a[1], email=a[2])
    until = a[3] + REFRESH + DAY
    return Entry(EntryKey(*key), data, seen_ms=a[4], expires=a[3], until=until, first_ms=a[5])


def entries_of(sightings: Iterable[Sighting]) -> dict[EntryKey, Entry]:
    """The entries a batch's events carry, each as its latest event says (in batch order)."""
    return {EntryKey(*key): _entry(key, a) for key, a in _aggregate(sightings).items()}


def _merged(stored: Entry, wanted: Entry) -> Entry:
    """`stored` updated by a later sighting: its type, and its name and email when it has them
    (an event that leaves them out does not erase them); the later of the times."""
    data = EntryData(
        type=wanted.data.type,
        name=wanted.data.name if wanted.data.name is not None else stored.data.name,
        email=wanted.data.email if wanted.data.email is not None else stored.data.email,
    )
    firsts = [t for t in (stored.first_ms, wanted.first_ms) if t is not None]
    return Entry(
        stored.key,
        data,
        seen_ms=max(stored.seen_ms, wanted.seen_ms),
        expires=max(stored.expires, wanted.expires),
        until=max(stored.until, wanted.until),
        first_ms=min(firsts) if firsts else None,
    )


def _vouches(stored: Entry | None, a: list[Any], now: int) -> bool:
    """Whether `stored` needs no write for what a batch says of it (`_aggregate`): shown without a
    check (`certain`), its recorded expiry at most REFRESH before the batch's, the same data."""
    if stored is None or not certain(stored, now) or a[3] > stored.expires + REFRESH:
        return False
    data = stored.data
    return (
        (a[0] is None or a[0] == data.type)
        and (a[1] is None or a[1] == data.name)
        and (a[2] is None or a[2] == data.email)
    )


def certain(entry: Entry, now: int) -> bool:
    """Shown with no check: its recorded latest event expired less than a day ago (or not yet)."""
    return entry.expires + DAY > now


def record_entries(
    tenant: str, sightings: Iterable[Sighting], *, now: int, store: CatalogueStore, memory: CatalogueMemory
) -> int:
    """Bring the catalogue up to date with a batch's events; return how many entries were written."""
    found = _aggregate(sightings)
    unsure = [k for k, a in found.items() if not _vouches(memory.get(tenant, k), a, now)]
    if not unsure:
        return 0  # the steady state: no request at all
    keys = {k: EntryKey(*k) for k in unsure}
    stored = store.get_entries(tenant, keys.values())
    writes: list[tuple[Entry, Entry | None]] = []
    for raw, key in keys.items():
        old = stored.get(key)
        old = old if old is not None and old.until > now else None  # its TTL passed, not yet deleted
        if old is not None and _vouches(old, found[raw], now):
            memory.remember(tenant, old)
            continue
        wanted = _entry(raw, found[raw])
        new = wanted if old is None else _merged(old, wanted)
        if key.kind != "action":
            new = replace(new, first_ms=None)  # only an action's first sighting is answered
        writes.append((new, old))
    if writes:
        store.write_entries(tenant, writes, now=now)
        for new, _ in writes:
            memory.remember(tenant, new)
    return len(writes)


# --- the routes -----------------------------------------------------------------------------------


def catalogue_slice(principal: Principal) -> EventFilter | None:
    """The one restriction check of the catalogue: None when the caller sees the tenant's whole
    catalogue, else the filter of the events whose contents it may see: an `events:read:self` key's
    actor, a viewer token's actor and target (what `visible_filters` narrows every read to; 403
    without a read scope). A restriction added to the principal and to `visible_filters` narrows
    the catalogue with no change here."""
    visible = visible_filters(principal, EventFilter())
    if not principal.restricted and visible == EventFilter():
        return None
    if visible is None:  # not for an empty filter; should it ever be: nothing, never more
        raise ForbiddenError("this credential sees no part of the catalogue")
    return visible


def _query(q: str | None) -> str:
    if q is None:
        return ""
    try:
        check_text(q)
    except ValueError as err:
        raise BadRequestError(f"q: {err}") from None
    return fold(q)


def _fingerprint(principal: Principal, restricted: bool, kind: Kind, **params: Any) -> str:
    scope = f"{principal.key_id}:slice" if restricted else "tenant"
    return cursors.fingerprint(principal.tenant, scope, {"m": kind, **params})


def list_actions(principal: Principal, *, now: datetime, ports: CataloguePorts) -> ActionList:
    restricted = catalogue_slice(principal)
    if restricted is not None:
        entries = list(_slice(principal, now, ports)["action"].values())
    else:
        entries = _shown(
            principal.tenant, ports.store.all_actions(principal.tenant, now=int(now.timestamp())), now, ports
        )
    return ActionList(
        actions=[
            ActionEntry(action=e.key.id, first_seen_at=from_epoch_millis(e.first_ms or e.seen_ms))
            for e in sorted(entries, key=lambda e: e.key.id.encode())
        ]
    )


def list_actors(
    principal: Principal,
    *,
    q: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: CataloguePorts,
) -> ActorPage:
    entries, next_cursor = _page(principal, "actor", None, q, limit, cursor, now, ports)
    return ActorPage(
        actors=[
            ActorEntry(
                id=e.key.id,
                type=e.data.type or "user",
                name=e.data.name,
                email=e.data.email,
                last_seen_at=from_epoch_millis(e.seen_ms),
            )
            for e in entries
        ],
        next_cursor=next_cursor,
    )


def list_targets(
    principal: Principal,
    *,
    target_type: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: CataloguePorts,
) -> TargetPage:
    entries, next_cursor = _page(principal, "target", target_type, q, limit, cursor, now, ports)
    return TargetPage(
        targets=[
            TargetEntry(
                type=e.key.type, id=e.key.id, name=e.data.name, last_seen_at=from_epoch_millis(e.seen_ms)
            )
            for e in entries
        ],
        next_cursor=next_cursor,
    )


def _page(
    principal: Principal,
    kind: Kind,
    target_type: str | None,
    q: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: CataloguePorts,
) -> tuple[list[Entry], str | None]:
    prefix = _query(q)
    restricted = catalogue_slice(principal) is not None
    fp = _fingerprint(principal, restricted, kind, q=prefix, type=target_type)
    state = cursors.decode(cursor, fp) if cursor else {}
    if restricted:
        return _slice_page(principal, kind, target_type, prefix, limit, state, fp, now, ports)
    after = state.get("p") if cursor else None
    if cursor and (not isinstance(after, str) or not 0 < len(after) <= 1100):
        raise BadRequestError("invalid cursor")
    entries, position = ports.store.search(
        principal.tenant,
        kind,
        prefix=prefix,
        after=after,
        limit=limit,
        now=int(now.timestamp()),
        target_type=target_type,
    )
    entries = _shown(principal.tenant, entries, now, ports)
    return entries, None if position is None else cursors.encode(fp, {"p": position})


def _shown(tenant: str, entries: list[Entry], now: datetime, ports: CataloguePorts) -> list[Entry]:
    """The entries to show: certain ones, and the others whose events index holds a live event."""
    now_s = int(now.timestamp())
    unsure = [e for e in entries if not certain(e, now_s)]
    if not unsure:
        return entries
    query = ports.query()
    live = {e.key for e in unsure if _live(tenant, e.key, now_s, query)}
    return [e for e in entries if certain(e, now_s) or e.key in live]


def _live(tenant: str, key: EntryKey, now_s: int, query: QueryPorts) -> bool:
    """Whether a live event of the tenant carries `key`: the newest entries of its index stream
    (the newest event expires last, unless the retention was shortened since: LIVE_CHECK of them)."""
    dimension: Dimension = key.kind
    value = target_value(key.type, key.id) if key.kind == "target" else key.id
    read = IndexRead(TimeWindow(), None, now_s, descending=True, limit=LIVE_CHECK)
    return any(
        query.events.query_index(tenant, Stream(dimension, value, shard), read).entries
        for shard in range(query.shard_count)
    )


# --- a restricted credential: what its own events contain --------------------------------------------


def _matches(entry: Entry, prefix: str) -> bool:
    return any(fold(t).startswith(prefix) for t in entry.terms())


def _order(entry: Entry) -> list[str]:
    return [fold(entry.key.id), entry.key.id, entry.key.type]


def _slice_page(
    principal: Principal,
    kind: Kind,
    target_type: str | None,
    prefix: str,
    limit: int,
    state: dict[str, Any],
    fp: str,
    now: datetime,
    ports: CataloguePorts,
) -> tuple[list[Entry], str | None]:
    after = state.get("k")
    well_formed = isinstance(after, list) and len(after) == 3 and all(isinstance(a, str) for a in after)
    if state and not well_formed:
        raise BadRequestError("invalid cursor")
    found = [
        e
        for e in _slice(principal, now, ports)[kind].values()
        if (target_type is None or e.key.type == target_type) and _matches(e, prefix)
    ]
    found = sorted((e for e in found if after is None or _order(e) > after), key=_order)
    page = found[:limit]
    more = len(found) > limit
    return page, cursors.encode(fp, {"k": _order(page[-1])}) if more else None


def _slice(principal: Principal, now: datetime, ports: CataloguePorts) -> dict[Kind, dict[EntryKey, Entry]]:
    """The entries of the caller's latest SLICE_EVENTS visible events (through the query path, so
    every restriction of the principal applies), each as its newest event there says."""
    from activitylog.logic.query import list_events

    query = ports.query()
    events: list[StoredEvent] = []
    cursor: str | None = None
    deadline = time.monotonic() + SLICE_SECONDS
    while len(events) < SLICE_EVENTS and time.monotonic() < deadline:
        page = list_events(
            principal,
            EventFilter(),
            limit=min(SLICE_PAGE, SLICE_EVENTS - len(events)),
            cursor=cursor,
            now=now,
            ports=query,
        )
        events += page.events
        cursor = page.next_cursor
        if cursor is None:
            break
    found: dict[EntryKey, Entry] = {}
    for event in reversed(events):  # oldest first: the newest event's data wins
        occurred = epoch_millis(event.occurred_at)
        expires = int(event.expires_at.timestamp())
        s = Sighting(
            action=event.action,
            actor=(event.actor.id, event.actor.type, event.actor.name, event.actor.email),
            targets=tuple((t.type, t.id, t.name) for t in event.targets),
            occurred_ms=occurred,
            expires=expires,
        )
        for key, entry in entries_of([s]).items():
            earlier = found.get(key)
            found[key] = entry if earlier is None else _merged(earlier, entry)
    by_kind: dict[Kind, dict[EntryKey, Entry]] = {"action": {}, "actor": {}, "target": {}}
    for key, entry in found.items():
        by_kind[key.kind][key] = entry
    return by_kind
