"""Lambda `Query`: GET /v1/events, /v1/events/count, /v1/events/{id}; the catalogue (/v1/actions,
/v1/actors, /v1/targets)."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import catalogue
from activitylog.handlers.routes import query as routes
from activitylog.models.env import QueryEnv

ENVIRONMENT = QueryEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router, catalogue.router)
