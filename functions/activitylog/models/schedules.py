"""Scheduled exports: the API's Schedule, its stored record and the Fire function's input (API.md)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from activitylog.models.schedule_syntax import check_expression, check_settle, check_timezone, check_window
from activitylog.models.text import Timestamp

Expression = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(check_expression)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_timezone)]
Window = Annotated[str, Field(min_length=2, max_length=32), AfterValidator(check_window)]
Settle = Annotated[str, Field(min_length=2, max_length=32), AfterValidator(check_settle)]

# What EventBridge Scheduler substitutes in the target's Input at each firing (UTC, seconds).
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


class ScheduleRequest(BaseModel):
    """PUT /v1/exports/{export_id}/schedule: the whole schedule (a PUT replaces it)."""

    model_config = ConfigDict(extra="forbid")

    expression: Expression
    timezone: TimeZone = "UTC"
    window: Window
    settle: Settle = "PT15M"
    enabled: bool = True


class Schedule(BaseModel):
    export_id: str
    expression: str
    timezone: str
    window: str
    settle: str
    enabled: bool
    created_at: Timestamp
    updated_at: Timestamp


class FireEvent(BaseModel):
    """The Input of the schedule's target; `scheduled_time` is Scheduler's scheduled time."""

    tenant: str = Field(min_length=1, max_length=63)
    export_id: str = Field(min_length=1, max_length=64)
    scheduled_time: Timestamp


class FireResult(BaseModel):
    outcome: str  # started | duplicate | skipped
    run_id: str | None = None
    reason: str | None = None
