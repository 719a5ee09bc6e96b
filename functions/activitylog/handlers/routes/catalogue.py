"""GET /v1/actions, /v1/actors, /v1/targets: the catalogue behind the console's pickers (the `Query`
function). Scope events:read (the tenant's catalogue) or events:read:self (what its own events hold)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import catalogue, clock
from activitylog.models import filters as f
from activitylog.models.catalogue import (
    CATALOGUE_PAGE,
    MAX_CATALOGUE_PAGE,
    QUERY_LENGTH,
    ActionList,
    ActorPage,
    TargetPage,
)

router = Router()

SCOPES = "Scope events:read, or events:read:self (then only what the key's own events contain)."
Prefix = Annotated[
    str | None,
    Query(max_length=QUERY_LENGTH, description="case-insensitive prefix of the id, name or email"),
]
TargetPrefix = Annotated[
    str | None, Query(max_length=QUERY_LENGTH, description="case-insensitive prefix of the id or name")
]
TargetType = Annotated[
    str | None, Query(min_length=1, max_length=f.TARGET_TYPE_LENGTH, description="only targets of this type")
]
Limit = Annotated[int, Query(ge=1, le=MAX_CATALOGUE_PAGE)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


@router.get(
    "/v1/actions",
    summary="Every action the tenant has stored, by name",
    description=SCOPES + " Not paginated.",
    operation_id="listActions",
    security=BEARER,
    responses=answers(ok(200, "the actions", ActionList), 403, 422),
)
def actions_route() -> ActionList:
    principal = principal_of(router)
    ports = wiring.container().catalogue_ports(principal.tenant)
    return catalogue.list_actions(principal, now=clock.now(), ports=ports)


@router.get(
    "/v1/actors",
    summary="The actors of the log, by prefix",
    description=SCOPES + " Name and email are the latest ones seen for each actor id.",
    operation_id="listActors",
    security=BEARER,
    responses=answers(ok(200, "a page of actors", ActorPage), 403, 422),
)
def actors_route(q: Prefix = None, limit: Limit = CATALOGUE_PAGE, cursor: Cursor = None) -> ActorPage:
    principal = principal_of(router)
    ports = wiring.container().catalogue_ports(principal.tenant)
    return catalogue.list_actors(principal, q=q, limit=limit, cursor=cursor, now=clock.now(), ports=ports)


@router.get(
    "/v1/targets",
    summary="The targets of the log, by type and prefix",
    description=SCOPES,
    operation_id="listTargets",
    security=BEARER,
    responses=answers(ok(200, "a page of targets", TargetPage), 403, 422),
)
def targets_route(
    type: TargetType = None,
    q: TargetPrefix = None,
    limit: Limit = CATALOGUE_PAGE,
    cursor: Cursor = None,
) -> TargetPage:
    principal = principal_of(router)
    ports = wiring.container().catalogue_ports(principal.tenant)
    return catalogue.list_targets(
        principal, target_type=type, q=q, limit=limit, cursor=cursor, now=clock.now(), ports=ports
    )
