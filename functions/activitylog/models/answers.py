"""The error answer's body, for the OpenAPI document (apart from models/errors.py, which the
authorizer loads on every cold start without any pydantic model)."""

from __future__ import annotations

from pydantic import BaseModel

from activitylog.models.events import ErrorBody


class Error(BaseModel):
    """The body of every error answer, whatever the status: `code` is a stable snake_case word."""

    error: ErrorBody
