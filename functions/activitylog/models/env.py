"""Environment of the functions, validated once at cold start (on first use)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class FunctionEnv(BaseModel):
    events_table: str = Field(alias="EVENTS_TABLE", min_length=1)
    control_table: str = Field(alias="CONTROL_TABLE", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)
    # The verified SES sender of notification emails (quota warnings, export notices).
    sender_email: str | None = Field(default=None, alias="SENDER_EMAIL")


@lru_cache(maxsize=1)
def function_env() -> FunctionEnv:
    return FunctionEnv.model_validate(dict(os.environ))
