"""Lambda `Ingest`: POST /v1/events."""

from __future__ import annotations

import base64
from typing import Any

from activitylog.handlers import metrics
from activitylog.handlers.http import api_function, raw_error
from activitylog.handlers.routes import ingest as routes
from activitylog.models.env import IngestEnv
from activitylog.models.errors import PayloadTooLargeError
from activitylog.models.events import MAX_BODY_BYTES


def _too_large(event: dict[str, Any]) -> dict[str, Any] | None:
    """Bodies over 1 MiB are refused before the resolver parses them."""
    body = event.get("body") or ""
    size = (
        len(base64.b64decode(body))
        if event.get("isBase64Encoded")
        else len(body.encode("utf-8", "surrogatepass"))
    )
    return raw_error(PayloadTooLargeError("the body is larger than 1 MiB")) if size > MAX_BODY_BYTES else None


ENVIRONMENT = IngestEnv  # what this function is given (docs/components.md, "Environment")
app, _handler = api_function(ENVIRONMENT, routes.router, refuse=_too_large)
handler = metrics.flushed(_handler)  # the events counted by the route (routes/ingest.py)
