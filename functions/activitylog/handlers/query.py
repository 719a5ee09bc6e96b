"""Lambda `Query`: GET /v1/events, /v1/events/count, /v1/events/{id}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime

from activitylog.handlers import stores
from activitylog.handlers.http import build_resolver, logger, principal_of
from activitylog.logic import clock
from activitylog.logic.cache import TtlCache
from activitylog.logic.query import QueryPorts, check_range, count_events, get_event, list_events
from activitylog.models.errors import BadRequestError
from activitylog.models.events import EventCount, EventPage, StoredEvent
from activitylog.models.patterns import ACTION_PATTERN
from activitylog.models.query import EventFilters
from activitylog.models.settings import TenantSettings
from activitylog.models.text import check_text, to_millis

router = Router()
_settings: TtlCache[TenantSettings] = TtlCache(ttl=60)
ACTION_FILTER = ACTION_PATTERN[:-1] + r"(\.\*)?$"


def _ports(tenant: str) -> QueryPorts:
    settings = _settings.get(tenant, lambda: stores.control().get_settings(tenant))
    return QueryPorts(
        events=stores.events(),
        known_actions=lambda: stores.control().known_actions(tenant),
        shard_count=settings.shard_count,
    )


ActorId = Annotated[str | None, Query(min_length=1, max_length=256)]
Actions = Annotated[
    list[Annotated[str, Query(max_length=102, pattern=ACTION_FILTER)]] | None,
    Query(description="exact action or `prefix.*`; repeat for any of several", max_length=20),
]
TargetType = Annotated[str | None, Query(min_length=1, max_length=64)]
TargetId = Annotated[str | None, Query(min_length=1, max_length=256)]
Outcome = Annotated[Literal["success", "failure"] | None, Query()]
From = Annotated[AwareDatetime | None, Query(alias="from", description="inclusive, RFC 3339 with offset")]
To = Annotated[AwareDatetime | None, Query(description="exclusive, RFC 3339 with offset")]
Text = Annotated[str | None, Query(min_length=1, max_length=200, description="case-insensitive free text")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


def _filters(
    actor_id: str | None,
    action: list[str] | None,
    target_type: str | None,
    target_id: str | None,
    outcome: Literal["success", "failure"] | None,
    from_: datetime | None,
    to: datetime | None,
    q: str | None,
    order: Literal["desc", "asc"],
) -> EventFilters:
    if target_id is not None and target_type is None:
        raise BadRequestError("target_id needs target_type")
    if target_type is not None and target_id is None:
        raise BadRequestError("target_type needs target_id")
    for text in (actor_id, target_type, target_id, q, *(action or [])):
        if text is not None:
            try:
                check_text(text)
            except ValueError as err:
                raise BadRequestError(str(err)) from None
    filters = EventFilters(
        actor_id=actor_id,
        actions=tuple(dict.fromkeys(action or [])),
        target_type=target_type,
        target_id=target_id,
        outcome=outcome,
        from_=to_millis(from_) if from_ else None,
        to=to_millis(to) if to else None,
        q=q,
        order=order,
    )
    check_range(filters)
    return filters


@router.get(
    "/v1/events", summary="List events, newest first", description="Scope events:read or events:read:self."
)
def list_route(
    actor_id: ActorId = None,
    action: Actions = None,
    target_type: TargetType = None,
    target_id: TargetId = None,
    outcome: Outcome = None,
    from_: From = None,
    to: To = None,
    q: Text = None,
    order: Annotated[Literal["desc", "asc"], Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> EventPage:
    principal = principal_of(router)
    filters = _filters(actor_id, action, target_type, target_id, outcome, from_, to, q, order)
    return list_events(
        principal, filters, limit=limit, cursor=cursor, now=clock.now(), ports=_ports(principal.tenant)
    )


@router.get(
    "/v1/events/count",
    summary="Count events",
    description="complete=false with next_cursor when counting ran out of time: call again and add up.",
)
def count_route(
    actor_id: ActorId = None,
    action: Actions = None,
    target_type: TargetType = None,
    target_id: TargetId = None,
    outcome: Outcome = None,
    from_: From = None,
    to: To = None,
    q: Text = None,
    cursor: Cursor = None,
) -> EventCount:
    principal = principal_of(router)
    filters = _filters(actor_id, action, target_type, target_id, outcome, from_, to, q, "desc")
    return count_events(principal, filters, cursor=cursor, now=clock.now(), ports=_ports(principal.tenant))


@router.get("/v1/events/<id>", summary="Get one event")
def get_route(id: Annotated[str, Path(min_length=1, max_length=128)]) -> StoredEvent:
    principal = principal_of(router)
    return get_event(principal, id, now=clock.now(), ports=_ports(principal.tenant))


app = build_resolver(router)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
