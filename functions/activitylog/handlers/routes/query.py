"""GET /v1/events, /v1/events/count, /v1/events/{id} (the `Query` function)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, ValidationError

from activitylog.handlers import wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import clock
from activitylog.logic.query import count_events, get_event, list_events
from activitylog.models import filters as f
from activitylog.models.errors import BadRequestError
from activitylog.models.events import EventCount, EventPage, StoredEvent
from activitylog.models.filters import EventFilter, Order, Outcome
from activitylog.models.text import Timestamp

router = Router()

# The filter's query parameters, described for the OpenAPI document with the model's own limits;
# `EventFilter` checks them (and how they combine) once more.
ActorId = Annotated[str | None, Query(min_length=1, max_length=f.ACTOR_ID_LENGTH)]
Actions = Annotated[
    list[Annotated[str, Query(max_length=f.ACTION_FILTER_LENGTH, pattern=f.ACTION_FILTER)]] | None,
    Query(description="exact action or `prefix.*`; repeat for any of several", max_length=f.MAX_ACTIONS),
]
TargetType = Annotated[str | None, Query(min_length=1, max_length=f.TARGET_TYPE_LENGTH)]
TargetId = Annotated[str | None, Query(min_length=1, max_length=f.TARGET_ID_LENGTH)]
OutcomeParam = Annotated[Outcome | None, Query()]
From = Annotated[Timestamp | None, Query(alias="from", description="inclusive, RFC 3339 with offset")]
To = Annotated[Timestamp | None, Query(description="exclusive, RFC 3339 with offset")]
Text = Annotated[
    str | None, Query(min_length=1, max_length=f.TEXT_LENGTH, description="case-insensitive free text")
]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


M = TypeVar("M", bound=BaseModel)


def from_query(model: type[M], **params: Any) -> M:
    """Query parameters as `model` (the ones given); a broken rule is a 400 (the URL is wrong)."""
    try:
        return model.model_validate({k: v for k, v in params.items() if v is not None})
    except ValidationError as err:
        problem = err.errors(include_url=False, include_input=False)[0]
        raise BadRequestError(str(problem["msg"]).removeprefix("Value error, ")) from None


def event_filter(**params: Any) -> EventFilter:
    """The query string's filters as the one filter model."""
    return from_query(EventFilter, **params)


# query parameter -> (EventFilter field, annotation); every one is optional
_FILTER_PARAMS: dict[str, tuple[str, Any]] = {
    "actor_id": ("actor_id", ActorId),
    "action": ("actions", Actions),
    "target_type": ("target_type", TargetType),
    "target_id": ("target_id", TargetId),
    "outcome": ("outcome", OutcomeParam),
    "from_": ("from_", From),
    "to": ("to", To),
    "q": ("q", Text),
}
R = TypeVar("R")


def filtered(route: Callable[..., R]) -> Callable[..., R]:
    """A route that takes `filters: EventFilter` answers the filter's query parameters: they are
    declared here once (for validation and the OpenAPI document) and arrive as one EventFilter."""
    own = [p for name, p in inspect.signature(route).parameters.items() if name != "filters"]
    declared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, (_, annotation) in _FILTER_PARAMS.items()
    ]

    @functools.wraps(route)
    def with_filters(**params: Any) -> R:
        values = {field: params.pop(name, None) for name, (field, _) in _FILTER_PARAMS.items()}
        return route(filters=event_filter(**values), **params)

    with_filters.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        declared + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own],  # filters first
        return_annotation=inspect.signature(route).return_annotation,
    )
    return with_filters


@router.get(
    "/v1/events",
    summary="List events, newest first",
    description="Scope events:read or events:read:self.",
    operation_id="listEvents",
    security=BEARER,
    responses=answers(ok(200, "a page of events", EventPage), 403, 422),
)
@filtered
def list_route(
    filters: EventFilter,
    order: Annotated[Order, Query()] = "desc",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> EventPage:
    principal = principal_of(router)
    ports = wiring.container().query_ports(principal.tenant)
    return list_events(
        principal, filters, order=order, limit=limit, cursor=cursor, now=clock.now(), ports=ports
    )


@router.get(
    "/v1/events/count",
    summary="Count events",
    description="complete=false with next_cursor when counting ran out of time: call again and add up.",
    operation_id="countEvents",
    security=BEARER,
    responses=answers(ok(200, "the count (or a partial count and a cursor)", EventCount), 403, 422),
)
@filtered
def count_route(filters: EventFilter, cursor: Cursor = None) -> EventCount:
    principal = principal_of(router)
    ports = wiring.container().query_ports(principal.tenant)
    return count_events(principal, filters, cursor=cursor, now=clock.now(), ports=ports)


@router.get(
    "/v1/events/<id>",
    summary="Get one event",
    operation_id="getEvent",
    security=BEARER,
    responses=answers(ok(200, "the event", StoredEvent), 403, 404, 422),
)
def get_route(id: Annotated[str, Path(min_length=1, max_length=128)]) -> StoredEvent:
    principal = principal_of(router)
    return get_event(principal, id, now=clock.now(), ports=wiring.container().query_ports(principal.tenant))
