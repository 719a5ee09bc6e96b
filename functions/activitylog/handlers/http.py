"""The one place that turns domain errors into HTTP answers, and the shared API resolver setup."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import CORSConfig, ResponseBuilder, Route
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.shared.json_encoder import Encoder

from activitylog.handlers import wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.models.auth import Principal, Scope, TargetRef
from activitylog.models.env import Env
from activitylog.models.errors import ServiceError, UnauthorizedError
from activitylog.models.text import epoch_millis, from_epoch_millis

__all__ = [
    "api_function",
    "build_resolver",
    "envelope",
    "logger",
    "principal_of",
    "raw_error",
    "service_error",
    "to_json",
]

JSON = "application/json"
# CORS for any origin (API.md "Console", Embedding): credentials are bearer tokens in a header, never
# cookies, so `*` and no Allow-Credentials. Powertools adds these to every answer of a request that
# carries `Origin` (every cross-origin browser request does); API Gateway's own answers carry the same
# (infra/constructs/gateway_responses.py), and answers its preflights (OPTIONS MOCK, api.py).
CORS = CORSConfig(
    allow_origin="*",
    allow_headers=["Idempotency-Key"],  # with Powertools' own: Authorization, Content-Type, ...
    expose_headers=["Allow", "Location", "Retry-After", "WWW-Authenticate"],
    max_age=7200,
    allow_credentials=False,
)


def to_json(value: Any) -> str:
    """The one JSON encoder of every answer (the resolver's serializer, the error envelopes): compact,
    non-ASCII text as itself (UTF-8 on the wire, `Zoë` not `Zo\\u00eb`), as the ingest answer's
    `model_dump_json` writes it. A lone surrogate (only ever in an error's echo of a field name)
    cannot be UTF-8, so such an answer is written with `\\u` escapes instead."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=Encoder)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":"), cls=Encoder)
    return text


def envelope(
    status: int, code: str, message: str, details: list[Any] | None = None, **headers: str
) -> Response:
    body = to_json({"error": {"code": code, "message": message, "details": details or []}})
    return Response(status_code=status, content_type=JSON, body=body, headers=headers or None)


def service_error(err: ServiceError) -> Response:
    headers = {"Retry-After": str(getattr(err, "retry_after", ""))} if hasattr(err, "retry_after") else {}
    return envelope(err.status, err.code, err.message, err.details, **headers)


def raw_error(err: ServiceError) -> dict[str, Any]:
    """An error answer built before (or without) the resolver, in the proxy integration's shape."""
    return {
        "statusCode": err.status,
        "headers": {"Content-Type": JSON, **CORS.to_dict("*")},  # no resolver: always, as the gateway's
        "body": to_json({"error": {"code": err.code, "message": err.message, "details": err.details}}),
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


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    kind, *params = content_type.split(";")
    pairs = (p.partition("=") for p in params)
    return kind.strip().lower(), {k.strip().lower(): v.strip().strip('"').lower() for k, _, v in pairs}


def unsupported_body(event: Any, route: Route) -> Response | None:
    """A route that takes a body reads JSON only: another declared type (text/plain, curl's default
    form encoding, multipart with or without its boundary) is a 415, never parsed as form fields."""
    if not route.dependant.body_params:
        return None
    declared = (event.headers or {}).get("content-type", "").strip()
    if not declared:
        return None  # no declared type: read as JSON, as Powertools does
    kind, params = _media_type(declared)
    if kind == JSON and params.get("charset", "utf-8") in ("utf-8", "utf8"):
        return None
    return envelope(
        415,
        "unsupported_media_type",
        f"the body must be JSON (Content-Type: {JSON}), not {declared[:100]!r}",
    )


def unknown_parameters(event: Any, route: Route) -> Response | None:
    """Query parameters the route does not declare are refused, as bodies refuse unknown fields: a
    misspelt filter (`?actorid=`) must not silently list everything. The names come from the route's
    own declaration (Powertools' dependant: aliases such as `from`), the same one the document shows."""
    if not route.include_in_schema:
        return None  # Powertools' own routes (Swagger UI) read parameters of their own
    declared = {param.alias for param in route.dependant.query_params}
    unknown = sorted(set(event.resolved_query_string_parameters or {}) - declared)
    if not unknown:
        return None
    names = ", ".join(repr(name[:100]) for name in unknown[:10])
    allowed = ", ".join(sorted(declared)) or "none"
    return envelope(
        400,
        "bad_request",
        f"unknown query parameter {names} (this route takes: {allowed})",
        [
            {"loc": ["query", name[:100]], "msg": "unknown query parameter", "type": "extra_forbidden"}
            for name in unknown[:10]
        ],
    )


F = TypeVar("F", bound=Callable[..., Any])


def requires(scope: Scope) -> Callable[[F], F]:
    """The route's scope, checked before anything about the request (API.md: "The route's scope is
    checked before the body: a key without it -> 403 whatever the body holds"). The route's own
    check stays where it is; this one only comes first. Put it below the `@router.<method>`."""

    def mark(route_function: F) -> F:
        route_function.required_scope = scope  # type: ignore[attr-defined]
        return route_function

    return mark


def _authorizer_context(app: APIGatewayRestResolver | Router) -> dict[str, Any]:
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    return context if isinstance(context, dict) else {}


def _expiry(context: dict[str, Any]) -> int | None:
    """A viewer token's expiry (epoch ms) from the authorizer's context; None for an API key.
    Anything unreadable counts as already expired (a token is refused rather than kept alive)."""
    if context.get("credential") != "viewer_token" and not context.get("expires_at"):
        return None
    try:
        return int(str(context.get("expires_at", "")))
    except ValueError:
        return 0


def _expired(context: dict[str, Any]) -> bool:
    """API Gateway caches the authorizer's answer (60 s per Authorization value): a viewer token is
    refused from its `expires_at` on here, whatever the cache still says (API.md "Viewer tokens")."""
    expiry = _expiry(context)
    return expiry is not None and epoch_millis(clock.now()) >= expiry


def _token_expired(app: APIGatewayRestResolver) -> Response | None:
    if _expired(_authorizer_context(app)):
        return envelope(401, "unauthorized", "this viewer token has expired")
    return None


def _missing_scope(app: APIGatewayRestResolver, route: Route) -> Response | None:
    scope: Scope | None = getattr(route.func, "required_scope", None)
    if scope is None:
        return None
    context = _authorizer_context(app)
    if scope.value in str(context.get("scopes", "")).split():
        return None
    return envelope(403, "forbidden", f"this key lacks the {scope.value} scope")


class ApiResolver(APIGatewayRestResolver):
    """The resolver of every API function. Its request checks run once the route is known and before
    Powertools' validation middleware, which runs first of all middlewares and would otherwise parse
    a form or multipart body as fields (or fail on a multipart type without a boundary)."""

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:
        refused = (
            _token_expired(self)
            or _missing_scope(self, route)
            or unsupported_body(self.current_event, route)
            or unknown_parameters(self.current_event, route)
        )
        if refused is not None:
            return self._response_builder_class(response=refused, serializer=self._serializer, route=route)
        return super()._call_route(route, route_arguments)


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = ApiResolver(enable_validation=True, serializer=to_json, cors=CORS)
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
    """The caller, from the authorizer's context only (never from the path, query or body), with
    a viewer token's restriction; an expired token is refused (401) whatever the cache says."""
    context = _authorizer_context(app)
    tenant = context.get("tenant")
    if not tenant:
        raise UnauthorizedError("missing authorizer context")
    if _expired(context):
        raise UnauthorizedError("this viewer token has expired")
    expiry = _expiry(context)
    target_type, target_id = str(context.get("target_type") or ""), str(context.get("target_id") or "")
    return Principal(
        tenant=str(tenant),
        key_id=str(context.get("key_id", "")),
        scopes=frozenset(str(context.get("scopes", "")).split()),
        actor_id=str(context.get("actor_id") or "") or None,
        target=TargetRef(target_type, target_id) if target_type and target_id else None,
        expires_at=from_epoch_millis(expiry) if expiry is not None else None,
        token=expiry is not None,
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
