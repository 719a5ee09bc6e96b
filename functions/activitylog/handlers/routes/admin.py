"""GET/PUT /v1/settings, GET /v1/usage, POST/GET/DELETE /v1/api-keys, POST /v1/viewer-tokens
(the `Admin` function)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import auditing, http, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes import viewer_tokens
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.logic import audit, clock
from activitylog.logic.keys import create_key_for, list_keys, revoke_key
from activitylog.logic.settings import update_settings, usage
from activitylog.models.auth import ApiKeyRecord, Principal, Scope
from activitylog.models.errors import ForbiddenError
from activitylog.models.keys import ApiKeyCreate, ApiKeyCreated, ApiKeyPage, ApiKeyView
from activitylog.models.settings import LoggingSettings, SettingsUpdate, Usage

router = Router()
viewer_tokens.register(router)  # POST /v1/viewer-tokens (routes/viewer_tokens.py)


def _key_holder() -> Principal:
    """The caller of a route any valid key may call, but no viewer token: a token embedded in a
    vendor's page reads its slice of events and exports, never the tenant's settings (the
    notification addresses) or usage."""
    principal = principal_of(router)
    if principal.token:
        raise ForbiddenError("a viewer token reads events and exports only")
    return principal


def _audit(principal: Principal, action: str, **details: Any) -> None:
    auditing.record(principal.tenant, action, audit.key_actor(principal), **details)


@router.get(
    "/v1/settings",
    summary="The tenant's logging settings",
    description="Any valid key (not a viewer token).",
    operation_id="getSettings",
    security=BEARER,
    responses=answers(
        ok(200, "the settings", LoggingSettings), 403, why={403: "a viewer token (`forbidden`)"}
    ),
)
def get_settings() -> LoggingSettings:
    return wiring.container().control.get_logging_settings(_key_holder().tenant)[0]


@router.put(
    "/v1/settings",
    summary="Change logging settings (partial update)",
    description="Scope logging:manage. Fields left out keep their value. Ingestion sees the change "
    "within 60 seconds; a new retention applies to events accepted after the change.",
    operation_id="updateSettings",
    security=BEARER,
    responses=answers(
        ok(200, "the whole settings document", LoggingSettings),
        403,
        409,
        body=True,
        why={409: "the settings were being changed concurrently: retry"},
    ),
)
@http.requires(Scope.LOGGING_MANAGE)
def put_settings(body: Annotated[SettingsUpdate, Body()]) -> LoggingSettings:
    principal = principal_of(router)
    if not principal.can(Scope.LOGGING_MANAGE):
        raise ForbiddenError("this key lacks the logging:manage scope")
    settings, changed = update_settings(wiring.container().control, principal.tenant, body)
    if changed:
        _audit(
            principal,
            "activitylog.settings.updated",
            targets=[{"type": "settings", "id": principal.tenant}],
            metadata={"changed": ",".join(changed)},
        )
    return settings


@router.get(
    "/v1/usage",
    summary="This month's accepted events and quota",
    description="Any valid key (not a viewer token).",
    operation_id="getUsage",
    security=BEARER,
    responses=answers(ok(200, "this month's usage", Usage), 403, why={403: "a viewer token (`forbidden`)"}),
)
def get_usage() -> Usage:
    tenant, control = _key_holder().tenant, wiring.container().control
    return usage(control, control.get_limits(tenant), tenant, clock.now())


def _view(record: ApiKeyRecord) -> ApiKeyView:
    return ApiKeyView.model_validate(record.model_dump())


@router.post(
    "/v1/api-keys",
    summary="Create an API key",
    description="Scope keys:manage. The key is shown only in this answer; a key can grant only scopes "
    "its creator holds. With actor_id the key can only read that actor's own events.",
    operation_id="createApiKey",
    security=BEARER,
    responses=answers(
        ok(201, "the new key (its secret `key` is shown only here)", ApiKeyCreated),
        403,
        body=True,
        why={
            403: "the key lacks keys:manage, or asks for scopes it does not hold (`forbidden`)",
            422: "unknown scopes, or another invalid field (`validation_error`)",
        },
    ),
)
@http.requires(Scope.KEYS_MANAGE)
def post_api_key(body: Annotated[ApiKeyCreate, Body()]) -> Response[ApiKeyCreated]:
    principal = principal_of(router)
    created = create_key_for(
        principal,
        wiring.container().control,
        name=body.name,
        scopes=body.scopes,
        actor_id=body.actor_id,
        now=clock.now(),
    )
    _audit(
        principal,
        "activitylog.api_key.created",
        targets=[{"type": "api_key", "id": created.id, "name": body.name}],
        metadata={"scopes": " ".join(s.value for s in created.record.scopes)},
    )
    answer = ApiKeyCreated.model_validate({**created.record.model_dump(), "key": created.key})
    return Response(status_code=201, content_type="application/json", body=answer)


@router.get(
    "/v1/api-keys",
    summary="List API keys (never their secrets)",
    description="Scope keys:manage.",
    operation_id="listApiKeys",
    security=BEARER,
    responses=answers(ok(200, "a page of keys", ApiKeyPage), 403, 422),
)
def get_api_keys(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> ApiKeyPage:
    records, next_cursor = list_keys(
        principal_of(router), wiring.container().control, limit=limit, cursor=cursor
    )
    return ApiKeyPage(api_keys=[_view(r) for r in records], next_cursor=next_cursor)


@router.delete(
    "/v1/api-keys/<key_id>",
    summary="Revoke an API key",
    description="Scope keys:manage. Takes effect within the authorizer's cache time (60 seconds).",
    operation_id="revokeApiKey",
    security=BEARER,
    responses=answers(
        ok(204, "revoked"),
        403,
        404,
        422,
        why={403: "the key lacks keys:manage, or the key to revoke has scopes it does not hold"},
    ),
)
def delete_api_key(key_id: Annotated[str, Path(min_length=1, max_length=64)]) -> Response[None]:
    principal = principal_of(router)
    record = revoke_key(principal, wiring.container().control, key_id)
    _audit(
        principal,
        "activitylog.api_key.revoked",
        targets=[{"type": "api_key", "id": record.id, "name": record.name}],
    )
    return Response(status_code=204)
