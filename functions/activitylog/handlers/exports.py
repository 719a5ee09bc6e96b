"""Lambda `Exports`: /v1/exports[...] and the public /v1/downloads/{token}."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers import wiring
from activitylog.handlers.http import build_resolver, logger
from activitylog.handlers.routes import exports as routes
from activitylog.models.env import ExportsEnv

wiring.require(ExportsEnv)
app = build_resolver(routes.router)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
