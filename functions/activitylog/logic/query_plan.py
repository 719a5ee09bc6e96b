"""Which index streams serve a query, and the filters checked on each event (docs/data-model.md).

Each request reads the index that serves its most selective key filter (target > actor > action >
time), one Query per index partition ("stream": a value in one write shard, or each action matched
by `prefix.*`). Filters that no key serves (outcome, q, a second key filter) are applied to the
fetched events, and every filter is checked again on the event itself (index keys hold digests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activitylog.models.auth import Principal, Scope
from activitylog.models.errors import ForbiddenError
from activitylog.models.events import StoredEvent
from activitylog.models.filters import EventFilter
from activitylog.models.query import Stream, target_value
from activitylog.models.text import epoch_millis


@dataclass(frozen=True, slots=True)
class Plan:
    streams: tuple[Stream, ...]
    residual: bool  # some filter is not served by the index keys


def visible_filters(principal: Principal, filters: EventFilter) -> EventFilter | None:
    """Apply the caller's restriction (a key's actor; a viewer token's actor and target); None means
    the caller can see nothing of this query (the request asks outside the restriction)."""
    if not principal.can(Scope.EVENTS_READ):
        if not principal.can(Scope.EVENTS_READ_SELF):
            raise ForbiddenError("this key lacks the events:read or events:read:self scope")
        if not principal.actor_id:
            raise ForbiddenError("events:read:self needs a key restricted to an actor")
    return restrict(principal, filters)


def restrict(principal: Principal, filters: EventFilter) -> EventFilter | None:
    """`filters` within what the principal may see, whatever its scopes (exports use it too)."""
    target = principal.target
    return filters.within(
        actor_id=principal.actor_id,
        target_type=target.type if target else None,
        target_id=target.id if target else None,
    )


def expand_actions(patterns: Sequence[str], known: Callable[[], set[str]]) -> list[str]:
    exact = [p for p in patterns if not p.endswith(".*")]
    prefixes = [p[:-1] for p in patterns if p.endswith(".*")]
    names = set(exact)
    if prefixes:
        names |= {a for a in known() if a.startswith(tuple(prefixes))}
    return sorted(names)


def plan(filters: EventFilter, *, shard_count: int, known_actions: Callable[[], set[str]]) -> Plan:
    shards = range(shard_count)
    used: str
    if filters.target_type is not None and filters.target_id is not None:
        used, values = "target", [target_value(filters.target_type, filters.target_id)]
    elif filters.actor_id is not None:
        used, values = "actor", [filters.actor_id]
    elif filters.actions:
        used, values = "action", expand_actions(filters.actions, known_actions)
    else:
        used, values = "time", [""]
    streams = tuple(Stream(used, v, s) for v in values for s in shards)  # type: ignore[arg-type]
    key_filters = {
        "target": filters.target_type is not None,
        "actor": filters.actor_id is not None,
        "action": bool(filters.actions),
    }
    residual = (
        filters.also_target is not None
        or filters.outcome is not None
        or bool(filters.q)
        or any(on for name, on in key_filters.items() if name != used)
    )
    return Plan(streams=streams, residual=residual)


def matches(event: StoredEvent, filters: EventFilter, now_ms: int) -> bool:
    """`matches_document` on a model (its API JSON shape)."""
    return matches_document(event.model_dump(mode="json"), filters, now_ms)


def matches_document(event: dict[str, Any], filters: EventFilter, now_ms: int) -> bool:
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
    if filters.also_target is not None and not any(
        (t["type"], t["id"]) == filters.also_target for t in event.get("targets", ())
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
