"""Lambda `Query`: GET /v1/events, /v1/events/count, /v1/events/{id}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers import wiring
from activitylog.handlers.http import build_resolver, logger
from activitylog.handlers.routes import query as routes
from activitylog.models.env import QueryEnv

wiring.require(QueryEnv)
app = build_resolver(routes.router)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
