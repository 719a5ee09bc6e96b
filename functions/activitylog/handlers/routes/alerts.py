"""/v1/alerts[...] (scope alerts:manage; the `Alerts` function)."""
# No `from __future__ import annotations`: Powertools resolves route annotations (Response[...]) at import.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import auditing, http, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import alerts as logic
from activitylog.logic import audit, clock
from activitylog.models.alerts import (
    Alert,
    AlertCreate,
    AlertPage,
    AlertUpdate,
    FiringPage,
    PreviewAnswer,
    PreviewRequest,
)
from activitylog.models.auth import Principal, Scope
from activitylog.models.errors import ForbiddenError

router = Router()
Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]
SCOPE = "Scope alerts:manage (not with a key restricted to an actor, nor a viewer token)."
NOT_FOUND = {404: "no such alert of this tenant"}


def _ports() -> logic.AlertPorts:
    return wiring.container().alert_ports()


def _principal() -> Principal:
    """The caller: a key with alerts:manage that sees every event of the tenant (an alert watches
    the tenant's events, so a key restricted to one actor's may not make one)."""
    principal = principal_of(router)
    if not principal.can(Scope.ALERTS_MANAGE):
        raise ForbiddenError("this key lacks the alerts:manage scope")
    if principal.restricted:
        raise ForbiddenError("a restricted key or viewer token cannot manage alerts")
    return principal


def _audit(principal: Principal, action: str, alert_id: str, **metadata: Any) -> None:
    auditing.record(
        principal.tenant,
        action,
        audit.key_actor(principal),
        targets=[{"type": "alert", "id": alert_id}],
        metadata={k: str(v) for k, v in metadata.items()},
    )


@router.post(
    "/v1/alerts",
    summary="Create an alert",
    description=f"{SCOPE} It evaluates the events accepted from its creation on.",
    operation_id="createAlert",
    security=BEARER,
    responses=answers(
        ok(201, "the alert", Alert),
        403,
        409,
        body=True,
        why={
            409: "the tenant has the most alerts it may have (50)",
            422: "an invalid field, or a destination id that is not one of the tenant's",
        },
    ),
)
@http.requires(Scope.ALERTS_MANAGE)
def create_route(body: Annotated[AlertCreate, Body()]) -> Response[Alert]:
    principal = _principal()
    alert = logic.create(principal.tenant, body, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.alert.created", alert.id, name=alert.name)
    return Response(status_code=201, content_type="application/json", body=alert)


@router.get(
    "/v1/alerts",
    summary="List the tenant's alerts, with their last firing",
    description=SCOPE,
    operation_id="listAlerts",
    security=BEARER,
    responses=answers(ok(200, "every alert (at most 50), oldest first", AlertPage), 403),
)
@http.requires(Scope.ALERTS_MANAGE)
def list_route() -> AlertPage:
    principal = _principal()
    return AlertPage(alerts=logic.list_alerts(principal.tenant, ports=_ports()))


@router.post(
    "/v1/alerts/preview",
    summary="The firings an alert would have produced on the stored events of a range",
    description=f"{SCOPE} The same evaluator as the live alerts, over the range's events in "
    "occurred order; nothing is sent or stored. `complete: false` carries `next_cursor`: ask "
    "for the next page with the same body and `?cursor=`.",
    operation_id="previewAlert",
    security=BEARER,
    responses=answers(ok(200, "a page of firings", PreviewAnswer), 400, 403, body=True),
)
@http.requires(Scope.ALERTS_MANAGE)
def preview_route(body: Annotated[PreviewRequest, Body()], cursor: Cursor = None) -> PreviewAnswer:
    principal = _principal()
    return logic.preview(principal.tenant, body, cursor, now=clock.now(), ports=_ports())


@router.get(
    "/v1/alerts/<alert_id>",
    summary="Get an alert",
    description=SCOPE,
    operation_id="getAlert",
    security=BEARER,
    responses=answers(ok(200, "the alert", Alert), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.ALERTS_MANAGE)
def get_route(alert_id: Id) -> Alert:
    principal = _principal()
    return logic.get(principal.tenant, alert_id, ports=_ports())


@router.put(
    "/v1/alerts/<alert_id>",
    summary="Change an alert (partial update)",
    description=f"{SCOPE} Fields left out keep their value. A change of the filters, grouping, "
    "threshold or cooldown applies to events accepted after it.",
    operation_id="updateAlert",
    security=BEARER,
    responses=answers(
        ok(200, "the alert", Alert),
        403,
        404,
        409,
        body=True,
        why={**NOT_FOUND, 409: "the alert was being changed concurrently: retry"},
    ),
)
@http.requires(Scope.ALERTS_MANAGE)
def put_route(alert_id: Id, body: Annotated[AlertUpdate, Body()]) -> Alert:
    principal = _principal()
    alert = logic.update(principal.tenant, alert_id, body, now=clock.now(), ports=_ports())
    changed = ",".join(sorted(body.model_fields_set))
    if changed:
        _audit(principal, "activitylog.alert.updated", alert.id, changed=changed)
    return alert


@router.delete(
    "/v1/alerts/<alert_id>",
    summary="Delete an alert",
    description=f"{SCOPE} It evaluates nothing more; its firings are no longer listed.",
    operation_id="deleteAlert",
    security=BEARER,
    responses=answers(ok(204, "deleted"), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.ALERTS_MANAGE)
def delete_route(alert_id: Id) -> Response[None]:
    principal = _principal()
    logic.delete(principal.tenant, alert_id, ports=_ports())
    _audit(principal, "activitylog.alert.deleted", alert_id)
    return Response(status_code=204)


@router.get(
    "/v1/alerts/<alert_id>/firings",
    summary="The alert's firings, newest first",
    description=SCOPE,
    operation_id="listFirings",
    security=BEARER,
    responses=answers(ok(200, "a page of firings", FiringPage), 400, 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.ALERTS_MANAGE)
def firings_route(alert_id: Id, limit: Limit = 50, cursor: Cursor = None) -> FiringPage:
    principal = _principal()
    return logic.firings(principal.tenant, alert_id, limit=limit, cursor=cursor, ports=_ports())
