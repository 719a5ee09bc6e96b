"""The one structured logger of every handler (Powertools Logger, JSON). A module of its own so that
a handler that is not an HTTP API (the authorizer) logs without importing the event handler."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="activitylog")
