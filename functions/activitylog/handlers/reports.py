"""Lambda `Reports`: GET /v1/reports/activity and /v1/reports/heatmap (docs/reports.md)."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import reports as routes
from activitylog.models.env import ReportsEnv

ENVIRONMENT = ReportsEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router)
