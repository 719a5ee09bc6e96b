"""What each route answers, for the OpenAPI document: its success and every error status it can give,
declared on the route itself (Powertools' `responses=`, `operation_id=`, `security=`). Every error
has the one envelope (API.md "Errors", the `Error` schema), whoever answers it: the handler, the
authorizer, API Gateway's gateway responses or the firewall."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse, OpenAPIResponseHeader

from activitylog.models.answers import Error

JSON = "application/json"
# The routes behind an API key (the security scheme `docs.py` declares as `bearer`).
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

WHY = {
    400: "bad request: an unknown query parameter (named in the message), a malformed value in the "
    "URL, an invalid cursor, or a body that is not JSON",
    401: "missing, unknown or revoked API key, or an unknown or expired viewer token (`unauthorized`)",
    403: "the key lacks this route's scope (`forbidden`)",
    404: "not found",
    409: "conflict",
    410: "gone: the file is older than 7 days",
    413: "the body is larger than this route accepts (`payload_too_large`)",
    415: "the body is not declared `application/json` (`unsupported_media_type`)",
    422: "the request is not valid (`validation_error`): `details` name each problem",
    429: "throttled (`rate_limited`), with `Retry-After` in seconds",
    503: "the data store stayed busy (`unavailable`): retry later",
}
# Answered on any route behind the key: an unknown query parameter, no valid key, throttling, a busy store.
KEYED = (400, 401, 429, 503)
# Answered on any route that takes a body.
BODY = (413, 415, 422)
RETRY_AFTER: dict[str, OpenAPIResponseHeader] = {
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
}


def error(status: int, why: str | None = None) -> OpenAPIResponse:
    answer: OpenAPIResponse = {
        "description": why or WHY[status],
        "content": {JSON: {"model": Error}},
    }
    if status == 429:
        answer["headers"] = RETRY_AFTER
    return answer


def ok(status: int, description: str, model: Any = None) -> dict[int, OpenAPIResponse]:
    """A success with a JSON body of `model`, or with no body at all (`model=None`: 204)."""
    # An empty `content` keeps Powertools from describing the return annotation (`Response[None]`)
    # as a JSON `null` body; docs.py leaves the empty map out of the document.
    return {status: {"description": description, "content": {JSON: {"model": model}} if model else {}}}


def redirect(description: str) -> dict[int, OpenAPIResponse]:
    """A 302 as the download routes give it: a `Location` header and no body."""
    return {
        302: {
            "description": description,
            "content": {},
            "headers": {
                "Location": {
                    "description": "the presigned URL of the file (valid 15 minutes); always sent",
                    "schema": {"type": "string", "format": "uri"},
                },
                "Cache-Control": {"description": "`no-store`", "schema": {"type": "string"}},
            },
        }
    }


def answers(
    success: dict[int, OpenAPIResponse],
    *statuses: int,
    keyed: bool = True,
    body: bool = False,
    why: dict[int, str] | None = None,
) -> dict[int, OpenAPIResponse]:
    """`success` plus the errors: those of every keyed route (unless `keyed=False`), of a route with
    a body (`body=True`), and the route's own `statuses`; `why` words a status for this route."""
    codes = set(statuses) | (set(KEYED) if keyed else set()) | (set(BODY) if body else set())
    why = why or {}
    return {**success, **{code: error(code, why.get(code)) for code in sorted(codes)}}
