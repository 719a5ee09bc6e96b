"""Environment of the schedule-related code (docs/components.md), validated on first use."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class SchedulerEnv(BaseModel):
    """The Exports function: where it creates schedules and what they invoke."""

    group: str = Field(alias="SCHEDULE_GROUP", min_length=1)
    role_arn: str = Field(alias="SCHEDULER_ROLE_ARN", min_length=1)
    target_arn: str = Field(alias="SCHEDULE_TARGET_ARN", min_length=1)  # the Fire function
    dead_letter_arn: str = Field(alias="SCHEDULE_DLQ_ARN", min_length=1)


class FireEnv(BaseModel):
    """The Fire function: the workflow it starts."""

    state_machine: str = Field(alias="EXPORT_STATE_MACHINE", min_length=1)


@lru_cache(maxsize=1)
def scheduler_env() -> SchedulerEnv:
    return SchedulerEnv.model_validate(dict(os.environ))


@lru_cache(maxsize=1)
def fire_env() -> FireEnv:
    return FireEnv.model_validate(dict(os.environ))
