"""/v1/destinations[...] (scope streams:manage; the `Destinations` function)."""
# No `from __future__ import annotations`: Powertools resolves route annotations (Response[...]) at import.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import auditing, http, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import audit, clock
from activitylog.logic import destinations as logic
from activitylog.models.auth import Principal, Scope
from activitylog.models.destinations import (
    DeliveryAnswer,
    DeliveryPage,
    Destination,
    DestinationCreate,
    DestinationCreated,
    DestinationPage,
    DestinationUpdate,
    ReplayAnswer,
    ReplayRequest,
    SecretRotated,
    TestResult,
)
from activitylog.models.errors import ForbiddenError

router = Router()
Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]
SCOPE = "Scope streams:manage (not with a key restricted to an actor, nor a viewer token)."
NOT_FOUND = {404: "no such destination (or delivery, or replay) of this tenant"}


def _ports() -> logic.DestinationPorts:
    return wiring.container().destination_ports()


def _principal() -> Principal:
    """The caller: a key with streams:manage that sees every event of the tenant (a destination
    receives the tenant's events, so a key restricted to one actor's may not make one)."""
    principal = principal_of(router)
    if not principal.can(Scope.STREAMS_MANAGE):
        raise ForbiddenError("this key lacks the streams:manage scope")
    if principal.restricted:
        raise ForbiddenError("a restricted key or viewer token cannot manage destinations")
    return principal


def _audit(principal: Principal, action: str, destination_id: str, **metadata: Any) -> None:
    auditing.record(
        principal.tenant,
        action,
        audit.key_actor(principal),
        targets=[{"type": "destination", "id": destination_id}],
        metadata={k: str(v) for k, v in metadata.items()},
    )


@router.post(
    "/v1/destinations",
    summary="Create a streaming destination (webhook, s3 or eventbridge)",
    description=f"{SCOPE} The signing secret is shown only in this answer. A webhook URL whose host "
    "is, or resolves to, a non-public address is refused (`destination_not_allowed`).",
    operation_id="createDestination",
    security=BEARER,
    responses=answers(
        ok(201, "the destination and its signing secret", DestinationCreated),
        403,
        409,
        body=True,
        why={
            409: "the tenant has the most destinations it may have (20)",
            422: "an invalid field (`validation_error`) or a webhook URL that is not allowed "
            "(`destination_not_allowed`)",
        },
    ),
)
@http.requires(Scope.STREAMS_MANAGE)
def create_route(body: Annotated[DestinationCreate, Body()]) -> Response[DestinationCreated]:
    principal = _principal()
    destination, secret = logic.create(principal.tenant, body, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.destination.created", destination.id, type=destination.type)
    answer = DestinationCreated(destination=destination, secret=secret)
    return Response(status_code=201, content_type="application/json", body=answer)


@router.get(
    "/v1/destinations",
    summary="List the tenant's destinations",
    description=SCOPE,
    operation_id="listDestinations",
    security=BEARER,
    responses=answers(ok(200, "every destination (at most 20)", DestinationPage), 403),
)
@http.requires(Scope.STREAMS_MANAGE)
def list_route() -> DestinationPage:
    principal = _principal()
    return DestinationPage(destinations=logic.list_all(principal.tenant, now=clock.now(), ports=_ports()))


@router.get(
    "/v1/destinations/<destination_id>",
    summary="Get a destination, with its state and lag",
    description=SCOPE,
    operation_id="getDestination",
    security=BEARER,
    responses=answers(ok(200, "the destination", Destination), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.STREAMS_MANAGE)
def get_route(destination_id: Id) -> Destination:
    principal = _principal()
    return logic.get(principal.tenant, destination_id, now=clock.now(), ports=_ports())


@router.put(
    "/v1/destinations/<destination_id>",
    summary="Change a destination (partial update)",
    description=f"{SCOPE} Fields left out keep their value; the type cannot change. "
    '`{"enabled": true}` re-enables a disabled destination (events accepted meanwhile are not '
    "delivered, except by a replay).",
    operation_id="updateDestination",
    security=BEARER,
    responses=answers(
        ok(200, "the destination", Destination),
        403,
        404,
        409,
        body=True,
        why={**NOT_FOUND, 409: "the destination was being changed concurrently: retry"},
    ),
)
@http.requires(Scope.STREAMS_MANAGE)
def put_route(destination_id: Id, body: Annotated[DestinationUpdate, Body()]) -> Destination:
    principal = _principal()
    destination, changed = logic.update(
        principal.tenant, destination_id, body, now=clock.now(), ports=_ports()
    )
    if changed:
        _audit(principal, "activitylog.destination.updated", destination.id, changed=",".join(changed))
    return destination


@router.delete(
    "/v1/destinations/<destination_id>",
    summary="Delete a destination",
    description=f"{SCOPE} Nothing is delivered to it after the delete, queued deliveries included.",
    operation_id="deleteDestination",
    security=BEARER,
    responses=answers(ok(204, "deleted"), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.STREAMS_MANAGE)
def delete_route(destination_id: Id) -> Response[None]:
    principal = _principal()
    logic.delete(principal.tenant, destination_id, ports=_ports())
    _audit(principal, "activitylog.destination.deleted", destination_id)
    return Response(status_code=204)


@router.post(
    "/v1/destinations/<destination_id>/rotate-secret",
    summary="Issue a new signing secret",
    description=f"{SCOPE} The previous secret stays valid for 24 hours: until then every delivery "
    "carries a signature for each valid secret.",
    operation_id="rotateDestinationSecret",
    security=BEARER,
    responses=answers(
        ok(200, "the new secret, shown only here", SecretRotated), 403, 404, 409, 422, why=NOT_FOUND
    ),
)
@http.requires(Scope.STREAMS_MANAGE)
def rotate_route(destination_id: Id) -> SecretRotated:
    principal = _principal()
    secret = logic.rotate_secret(principal.tenant, destination_id, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.destination.secret_rotated", destination_id)
    return SecretRotated(secret=secret)


@router.post(
    "/v1/destinations/<destination_id>/test",
    summary="Deliver one test message now",
    description=f'{SCOPE} Sends `{{"type": "activitylog.test", ...}}` and answers how it went.',
    operation_id="testDestination",
    security=BEARER,
    responses=answers(ok(200, "what the attempt came to", TestResult), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.STREAMS_MANAGE)
def test_route(destination_id: Id) -> TestResult:
    principal = _principal()
    result = logic.test(principal.tenant, destination_id, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.destination.tested", destination_id, status=result.status)
    return result


@router.get(
    "/v1/destinations/<destination_id>/deliveries",
    summary="The destination's deliveries, newest first",
    description=SCOPE,
    operation_id="listDeliveries",
    security=BEARER,
    responses=answers(ok(200, "a page of deliveries", DeliveryPage), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.STREAMS_MANAGE)
def deliveries_route(destination_id: Id, limit: Limit = 50, cursor: Cursor = None) -> DeliveryPage:
    principal = _principal()
    return logic.deliveries(principal.tenant, destination_id, limit=limit, cursor=cursor, ports=_ports())


@router.post(
    "/v1/destinations/<destination_id>/deliveries/<delivery_id>/retry",
    summary="Retry a failed delivery now",
    description=f"{SCOPE} One attempt, at once; if it fails the delivery is `failed` again.",
    operation_id="retryDelivery",
    security=BEARER,
    responses=answers(
        ok(202, "the delivery, queued", DeliveryAnswer),
        403,
        404,
        409,
        422,
        why={**NOT_FOUND, 409: "the delivery is not failed, or the destination is paused or disabled"},
    ),
)
@http.requires(Scope.STREAMS_MANAGE)
def retry_route(destination_id: Id, delivery_id: Id) -> Response[DeliveryAnswer]:
    principal = _principal()
    record = logic.retry(principal.tenant, destination_id, delivery_id, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.destination.delivery_retried", destination_id, delivery=record.id)
    answer = DeliveryAnswer(delivery=logic.public(record))
    return Response(status_code=202, content_type="application/json", body=answer)


@router.post(
    "/v1/destinations/<destination_id>/replays",
    summary="Re-send every stored event received in [from, to) that the filters select",
    description=f"{SCOPE} The events go out as ordinary deliveries carrying the replay's id.",
    operation_id="startReplay",
    security=BEARER,
    responses=answers(
        ok(202, "the replay, running", ReplayAnswer),
        403,
        404,
        409,
        body=True,
        why={**NOT_FOUND, 409: "the destination is paused or disabled: enable it first"},
    ),
)
@http.requires(Scope.STREAMS_MANAGE)
def replay_route(destination_id: Id, body: Annotated[ReplayRequest, Body()]) -> Response[ReplayAnswer]:
    principal = _principal()
    replay = logic.start_replay(principal.tenant, destination_id, body, now=clock.now(), ports=_ports())
    _audit(principal, "activitylog.destination.replayed", destination_id, replay=replay.id)
    return Response(status_code=202, content_type="application/json", body=ReplayAnswer(replay=replay))


@router.get(
    "/v1/destinations/<destination_id>/replays/<replay_id>",
    summary="Get a replay",
    description=SCOPE,
    operation_id="getReplay",
    security=BEARER,
    responses=answers(ok(200, "the replay", ReplayAnswer), 403, 404, 422, why=NOT_FOUND),
)
@http.requires(Scope.STREAMS_MANAGE)
def get_replay_route(destination_id: Id, replay_id: Id) -> ReplayAnswer:
    principal = _principal()
    return ReplayAnswer(replay=logic.get_replay(principal.tenant, destination_id, replay_id, ports=_ports()))
