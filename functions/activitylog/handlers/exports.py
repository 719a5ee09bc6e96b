"""Lambda `Exports`: /v1/exports[...] and the public /v1/downloads/{token}."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import exports as routes
from activitylog.models.env import ExportsEnv

ENVIRONMENT = ExportsEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router)
