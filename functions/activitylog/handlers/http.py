"""The one place that turns domain errors into HTTP answers, and the shared API resolver setup."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.models.auth import Principal
from activitylog.models.env import Env
from activitylog.models.errors import ServiceError, UnauthorizedError

__all__ = [
    "api_function",
    "build_resolver",
    "envelope",
    "logger",
    "principal_of",
    "raw_error",
    "service_error",
]


def envelope(
    status: int, code: str, message: str, details: list[Any] | None = None, **headers: str
) -> Response:
    body = json.dumps({"error": {"code": code, "message": message, "details": details or []}})
    return Response(status_code=status, content_type="application/json", body=body, headers=headers or None)


def service_error(err: ServiceError) -> Response:
    headers = {"Retry-After": str(getattr(err, "retry_after", ""))} if hasattr(err, "retry_after") else {}
    return envelope(err.status, err.code, err.message, err.details, **headers)


def raw_error(err: ServiceError) -> dict[str, Any]:
    """An error answer built before (or without) the resolver, in the proxy integration's shape."""
    return {
        "statusCode": err.status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": {"code": err.code, "message": err.message, "details": err.details}}),
        "isBase64Encoded": False,
    }


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    """Validation details without the offending input (it may be huge or sensitive)."""
    return {
        "loc": list(error.get("loc", [])),
        "msg": str(error.get("msg", "")),
        "type": error.get("type", ""),
    }


def validation_error(err: RequestValidationError) -> Response:
    errors = [_clean(e) for e in err.errors()]
    if any(e["type"] == "json_invalid" for e in errors):
        return envelope(400, "bad_request", "the body is not valid JSON", errors)
    return envelope(422, "validation_error", "the request is not valid", errors)


def _object_body_only(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Every request body of this API is a JSON object. Powertools' validation unwraps a one-item
    list for a non-list parameter (meant for query strings), so `[{...}]` would pass as `{...}`
    (and a handler reading the raw body would then fail with a 5xx): refuse it here."""
    body = app.current_event.decoded_body if app.current_event.body else ""
    if body and body.lstrip()[:1] == "[":
        return envelope(422, "validation_error", "the body must be a JSON object")
    return next_middleware(app)


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)
    app.use(middlewares=[_object_body_only])
    app.exception_handler(ServiceError)(service_error)
    app.exception_handler(RequestValidationError)(validation_error)

    @app.not_found
    def _not_found(_: Exception) -> Response:
        return envelope(404, "not_found", "no such route")

    @app.exception_handler(RecursionError)
    def _too_deep(_: RecursionError) -> Response:
        return envelope(400, "bad_request", "the body is nested too deeply")

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(_: UnicodeDecodeError) -> Response:
        return envelope(400, "bad_request", "the body is not valid UTF-8")

    return app


def principal_of(app: APIGatewayRestResolver | Router) -> Principal:
    """The caller, from the authorizer's context only (never from the path, query or body)."""
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    tenant = context.get("tenant")
    if not tenant:
        raise UnauthorizedError("missing authorizer context")
    return Principal(
        tenant=str(tenant),
        key_id=str(context.get("key_id", "")),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        actor_id=str(context.get("actor_id") or "") or None,
    )


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def api_function(
    environment: type[Env],
    *routers: Router,
    refuse: Callable[[dict[str, Any]], dict[str, Any] | None] = lambda _: None,
) -> tuple[APIGatewayRestResolver, Handler]:
    """An API function's resolver and Lambda handler, for its entry module to call when it loads:
    the function's environment is validated then (a missing variable fails the cold start), and
    `refuse` may answer a request before the resolver sees it (an oversized body)."""
    wiring.require(environment)
    app = build_resolver(*routers)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        refused = refuse(event)
        return refused if refused is not None else app.resolve(event, context)

    return app, handler
