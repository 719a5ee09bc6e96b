"""Lambda `Destinations`: /v1/destinations[...] (streaming destinations, their ledger and replays)."""

from __future__ import annotations

from activitylog.handlers.http import api_function
from activitylog.handlers.routes import destinations as routes
from activitylog.models.env import DestinationsEnv

ENVIRONMENT = DestinationsEnv  # what this function is given (docs/components.md, "Environment")
app, handler = api_function(ENVIRONMENT, routes.router)
