"""Lambda `Docs`: health, the OpenAPI document of the whole API and its Swagger UI (no API key)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers.http import build_resolver, logger
from activitylog.handlers.routes import admin, exports, ingest, query
from activitylog.models.env import DocsEnv

TITLE = "Activity Log API"
VERSION = "1.0.0"
PUBLIC_PATHS = {"/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/downloads/{token}"}
# Public routes answer errors too (the token is the credential), in the same envelope.
PUBLIC_ERRORS = {"/v1/downloads/{token}": {"404", "410", "422", "429"}}
GONE_PATHS = {"/v1/downloads/{token}", "/v1/exports/{export_id}/runs/{run_id}/download"}
ENVIRONMENT = DocsEnv  # nothing: the routers are imported without their functions' environment
router = Router()


@router.get("/v1/health", summary="Liveness")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/openapi.json", summary="This OpenAPI document")
def openapi_document() -> dict[str, Any]:
    return openapi_schema()


# The document is generated from every area's routes and models; only this Lambda serves it.
app = build_resolver(ingest.router, query.router, admin.router, exports.router, router)
app.enable_swagger(path="/v1/docs", title=TITLE, version=VERSION)


@lru_cache(maxsize=1)
def openapi_schema() -> dict[str, Any]:
    schema = json.loads(
        app.get_openapi_json_schema(
            title=TITLE,
            version=VERSION,
            description="Multi-tenant activity log: send events, browse and count them. "
            "Every route except health and the documents needs `Authorization: Bearer <api key>`.",
            security_schemes={"bearer": HTTPBearer(description="an Activity Log API key")},
            security=[{"bearer": []}],
        )
    )
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            if path in PUBLIC_PATHS:
                operation["security"] = []
            codes = PUBLIC_ERRORS.get(path, set()) if path in PUBLIC_PATHS else set(_ERRORS) - {"410"}
            if path in GONE_PATHS:
                codes.add("410")
            operation.setdefault("responses", {}).update(_error_responses(codes))
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = _error_schema()
    return schema


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {}},
                },
            }
        },
    }


_ERRORS = {
    "400": "bad request (bad JSON, bad cursor)",
    "401": "missing or unknown API key",
    "403": "the key lacks this route's scope",
    "404": "not found",
    "409": "conflict",
    "410": "gone: the file is older than 7 days",
    "413": "body too large",
    "422": "validation error",
    "429": "rate limited or quota exceeded",
}


def _error_responses(codes: set[str]) -> dict[str, Any]:
    ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {code: {"description": text, **ref} for code, text in _ERRORS.items() if code in codes}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
