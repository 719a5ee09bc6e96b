"""Lambda `Docs`: health, the OpenAPI document of the whole API and its Swagger UI (no API key).

There is one document: `GET /v1/openapi.json` serves it and `GET /v1/docs` embeds the same one. Its
server is where the request reached the API (the local gateway, an API Gateway stage, a custom
domain), so "Try it out" and clients generated from it call the routes that answer.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers.http import build_resolver, logger
from activitylog.handlers.routes import (
    admin,
    alerts,
    catalogue,
    destinations,
    exports,
    ingest,
    query,
    reports,
)
from activitylog.handlers.routes.answers import answers, ok
from activitylog.models.env import DocsEnv

TITLE = "Activity Log API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Multi-tenant activity log: send events, browse and count them, export them. Every route except "
    "health, the documents and `/v1/downloads/{token}` needs `Authorization: Bearer <api key>` "
    '(Authorize). Every error has the body `{"error": {"code", "message", "details"}}`; a method '
    "a path does not define answers 405 `method_not_allowed` with an `Allow` header. CORS: every "
    "path also answers `OPTIONS` (the preflight, 204, no key; not listed per path), and every answer "
    "allows any origin (`Access-Control-Allow-Origin: *`; credentials are bearer tokens, never "
    "cookies). The narrative reference is docs/api.md in the repository."
)
ENVIRONMENT = DocsEnv  # nothing: the routers are imported without their functions' environment
# Powertools ships Swagger UI's script and style sheet; the page carries them inline (no CDN).
SWAGGER_UI = Path(aws_lambda_powertools.event_handler.__file__).parent / "openapi" / "swagger_ui"
router = Router()


@router.get(
    "/v1/health",
    summary="Liveness",
    operation_id="getHealth",
    responses=answers(ok(200, "the service answers", dict[str, str]), 400, 429, keyed=False),
)
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/v1/openapi.json",
    summary="This OpenAPI document",
    description="Its server is the address this request reached the API at.",
    operation_id="getOpenApiDocument",
    responses=answers(
        ok(200, "the OpenAPI 3.1 document", dict[str, Any]),
        400,
        429,
        keyed=False,
        why={400: "an unknown query parameter"},
    ),
)
def openapi_document() -> dict[str, Any]:
    return document(base_url(router.current_event))


@router.get("/v1/docs", include_in_schema=False)
def swagger_ui() -> Response[str]:
    spec = json.dumps(document(base_url(router.current_event)), ensure_ascii=False)
    # `</` inside the inline script would end it early (a description could hold `</script>`)
    page = generate_swagger_html(spec.replace("</", "<\\/"), *_swagger_assets(), "", None, False)
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=page)


# The document is generated from every area's routes and models; only this Lambda serves it.
app = build_resolver(
    ingest.router,
    query.router,
    catalogue.router,
    admin.router,
    exports.router,
    destinations.router,
    alerts.router,
    reports.router,
    router,
)
app.configure_openapi(
    title=TITLE,
    version=VERSION,
    description=DESCRIPTION,
    security_schemes={"bearer": HTTPBearer(description="an Activity Log API key")},
)


def base_url(proxy_event: BaseProxyEvent) -> str:
    """Where this request reached the API, from the request itself: `requestContext.path` is the path
    as the client sent it (with the stage on an execute-api host, a custom domain's base path, or
    nothing), the resource path is the route's own; what the first has before the second is the
    prefix, behind the Host the request came to (API Gateway routes on it, so it is the API's)."""
    event = APIGatewayProxyEvent(proxy_event.raw_event)
    params = event.path_parameters or {}
    route = re.sub(r"\{([^}+]+)\+?\}", lambda m: params.get(m[1], m[0]), event.resource or event.path)
    seen = event.request_context.path or event.path
    prefix = seen[: -len(route)] if route and seen.endswith(route) else ""
    host = event.headers.get("host") or event.headers.get("Host")
    if not host:
        return prefix or "/"  # relative to wherever the document was fetched from
    scheme = event.headers.get("x-forwarded-proto") or event.headers.get("X-Forwarded-Proto") or "http"
    return f"{scheme}://{host}{prefix}"


def document(server: str) -> dict[str, Any]:
    """The one document, with `server` as its only server."""
    schema = openapi_schema()
    return {"openapi": schema["openapi"], "info": schema["info"], "servers": [{"url": server}], **schema}


@lru_cache(maxsize=1)
def openapi_schema() -> dict[str, Any]:
    """The document as the routes declare it, without a server (which depends on the request)."""
    schema = json.loads(app.get_openapi_json_schema())
    schema.pop("servers", None)
    _drop_framework_validation_errors(schema)
    _drop_unused_schemas(schema)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for response in operation.get("responses", {}).values():
                if response.get("content") == {}:
                    del response["content"]  # no body (204, 302): routes/answers.py `ok`, `redirect`
    return schema


def _drop_framework_validation_errors(schema: dict[str, Any]) -> None:
    """Powertools adds a 422 `HTTPValidationError` to every validated route: the API never answers
    that shape. A route that can answer 422 declares it with the envelope (routes/answers.py)."""
    framework = "#/components/schemas/HTTPValidationError"
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {})
            for status in [s for s, r in responses.items() if framework in json.dumps(r)]:
                del responses[status]


def _drop_unused_schemas(schema: dict[str, Any]) -> None:
    """Only the schemas the paths reach (Powertools also adds `ValidationError` and friends)."""
    schemas = schema.get("components", {}).get("schemas", {})
    reached: set[str] = set()
    todo = [schema.get("paths", {})]
    while todo:
        for name in re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(todo.pop())):
            if name not in reached and name in schemas:
                reached.add(name)
                todo.append(schemas[name])
    for name in set(schemas) - reached:
        del schemas[name]


@lru_cache(maxsize=1)
def _swagger_assets() -> tuple[str, str]:
    return (
        (SWAGGER_UI / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        (SWAGGER_UI / "swagger-ui.min.css").read_text(encoding="utf-8"),
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
