"""Lambda `Admin`: GET/PUT /v1/settings, GET /v1/usage, POST/GET/DELETE /v1/api-keys."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import admin as routes
from activitylog.models.env import AdminEnv

ENVIRONMENT = AdminEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router)
