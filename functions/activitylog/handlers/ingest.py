"""Lambda `Ingest`: POST /v1/events."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers import wiring
from activitylog.handlers.http import build_resolver, logger, raw_error
from activitylog.handlers.routes import ingest as routes
from activitylog.models.env import IngestEnv
from activitylog.models.errors import PayloadTooLargeError
from activitylog.models.events import MAX_BODY_BYTES

wiring.require(IngestEnv)
app = build_resolver(routes.router)


def _body_bytes(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    return (
        len(base64.b64decode(body))
        if event.get("isBase64Encoded")
        else len(body.encode("utf-8", "surrogatepass"))
    )


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if _body_bytes(event) > MAX_BODY_BYTES:
        return raw_error(PayloadTooLargeError("the body is larger than 1 MiB"))
    return app.resolve(event, context)
