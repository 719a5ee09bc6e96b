"""Lambda `Admin`: GET/PUT /v1/settings, GET /v1/usage, POST/GET/DELETE /v1/api-keys."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers import wiring
from activitylog.handlers.http import build_resolver, logger
from activitylog.handlers.routes import admin as routes
from activitylog.models.env import AdminEnv

wiring.require(AdminEnv)
app = build_resolver(routes.router)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
