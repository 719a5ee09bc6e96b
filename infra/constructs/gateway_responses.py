"""Gateway responses: API Gateway's own refusals carry the API.md error envelope.

`MISSING_AUTHENTICATION_TOKEN` is what a REST API answers for a route that does not exist (a missing
key on an existing route goes to the TOKEN authorizer and becomes `UNAUTHORIZED`), so it becomes 404.

Every one of them carries the CORS headers (`CORS_HEADERS`): the API answers any origin (API.md
"Console", Embedding; bearer credentials, never cookies), and a browser shows a script no status at
all, not even a 401 or a 429, from an answer without `Access-Control-Allow-Origin`. The functions'
answers carry the same (handlers/http.py), and the local gateway's refusals (local/cors.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import aws_apigateway as apigw

JSON = "application/json"
CORS_ALLOW_ORIGIN = "*"
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key"
# The contract's response headers a script may read (the CORS-safelisted ones need no listing).
CORS_EXPOSE_HEADERS = "Allow, Location, Retry-After, WWW-Authenticate"
CORS_MAX_AGE = "7200"  # seconds a browser may keep a preflight's answer (Chromium's cap: 2 hours)
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", CORS_ALLOW_ORIGIN),
    ("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS),
)


def literal(value: str) -> str:
    """A header value as API Gateway's mapping expressions spell a constant."""
    return f"'{value}'"


@dataclass(frozen=True, kw_only=True)
class Envelope:
    construct_id: str
    type: apigw.ResponseType
    code: str
    message: str
    status: str | None = None  # None keeps the status API Gateway chose (DEFAULT_4XX / DEFAULT_5XX)
    headers: tuple[tuple[str, str], ...] = ()


ENVELOPES = (
    Envelope(
        construct_id="Unauthorized",
        type=apigw.ResponseType.UNAUTHORIZED,
        status="401",
        code="unauthorized",
        message="Missing or invalid API key.",
        headers=(("WWW-Authenticate", "'Bearer'"),),
    ),
    Envelope(
        construct_id="AccessDenied",
        type=apigw.ResponseType.ACCESS_DENIED,
        status="403",
        code="forbidden",
        message="This API key may not perform this request.",
    ),
    Envelope(
        # The authorizer named a tenant whose API Gateway key is missing or in no plan of this stage
        # (the tenant's first credential was not made with the operator's tools): an operator's fix,
        # `activitylog tenants sync-rate-limits` (docs/operations.md).
        construct_id="InvalidUsageKey",
        type=apigw.ResponseType.INVALID_API_KEY,
        status="403",
        code="forbidden",
        message="This tenant has no rate limit configured; ask the service's operator.",
    ),
    Envelope(
        construct_id="UnknownRoute",
        type=apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        status="404",
        code="not_found",
        message="No such route.",
    ),
    Envelope(
        construct_id="ResourceNotFound",
        type=apigw.ResponseType.RESOURCE_NOT_FOUND,
        status="404",
        code="not_found",
        message="No such route.",
    ),
    Envelope(
        construct_id="RequestTooLarge",
        type=apigw.ResponseType.REQUEST_TOO_LARGE,
        status="413",
        code="payload_too_large",
        message="The request body is too large.",
    ),
    Envelope(
        construct_id="Throttled",
        type=apigw.ResponseType.THROTTLED,
        status="429",
        code="rate_limited",
        message="Too many requests; retry after the number of seconds in Retry-After.",
        headers=(("Retry-After", "'1'"),),
    ),
    Envelope(
        construct_id="QuotaExceeded",
        type=apigw.ResponseType.QUOTA_EXCEEDED,
        status="429",
        code="quota_exceeded",
        message="Request quota exceeded; retry later.",
        headers=(("Retry-After", "'60'"),),
    ),
    Envelope(
        construct_id="UnsupportedMediaType",
        type=apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
        status="415",
        code="unsupported_media_type",
        message="Send JSON bodies with Content-Type: application/json.",
    ),
    Envelope(
        construct_id="Default4xx",
        type=apigw.ResponseType.DEFAULT_4_XX,
        code="bad_request",
        message="The request could not be processed.",
    ),
    Envelope(
        construct_id="Default5xx",
        type=apigw.ResponseType.DEFAULT_5_XX,
        code="internal_error",
        message="Internal error; this is a bug and has been logged.",
    ),
)


def envelope_body(*, code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": []}}, separators=(",", ":"))


def add_gateway_responses(api: apigw.RestApi) -> None:
    for envelope in ENVELOPES:
        api.add_gateway_response(
            envelope.construct_id,
            type=envelope.type,
            status_code=envelope.status,
            response_headers={**{k: literal(v) for k, v in CORS_HEADERS}, **dict(envelope.headers)},
            templates={JSON: envelope_body(code=envelope.code, message=envelope.message)},
        )
