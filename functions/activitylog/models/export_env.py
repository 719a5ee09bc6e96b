"""Environment of the export functions (docs/components.md), validated on first use."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class ExportEnv(BaseModel):
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=1)
    signing_secret: str = Field(alias="DOWNLOAD_SIGNING_SECRET", min_length=1)
    # https://<api id>.execute-api.<region>.<suffix>/<stage> (local mode: the local gateway)
    api_base_url: str = Field(alias="API_BASE_URL", min_length=1)
    state_machine: str = Field(default="", alias="EXPORT_STATE_MACHINE")  # the Exports function only
    sender: str = Field(default="", alias="SENDER_EMAIL")  # the Notify function only


@lru_cache(maxsize=1)
def export_env() -> ExportEnv:
    return ExportEnv.model_validate(dict(os.environ))
