"""Lambda `Alerts`: /v1/alerts[...] (definitions, firings, preview)."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import alerts as routes
from activitylog.models.env import AlertsEnv

ENVIRONMENT = AlertsEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router)
