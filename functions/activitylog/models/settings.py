"""A tenant's settings as ingestion and queries need them."""

from __future__ import annotations

from pydantic import BaseModel, Field

DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650


class TenantSettings(BaseModel):
    retention_days: int = Field(default=DEFAULT_RETENTION_DAYS, ge=1, le=MAX_RETENTION_DAYS)
    # Write sharding (docs/data-model.md): index partition keys get a shard suffix 0..shard_count-1.
    # Set by the operator for very hot tenants; it may only grow, reads merge every shard.
    shard_count: int = Field(default=1, ge=1, le=64)
