"""Tenant settings: what the tenant chooses (logging settings) and what the operator sets (limits)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from activitylog.models.email import EmailAddress
from activitylog.models.patterns import ACTION_PATTERN
from activitylog.models.text import check_text

DEFAULT_RETENTION_DAYS = 90
MAX_RETENTION_DAYS = 3650
DEFAULT_MONTHLY_QUOTA = 1_000_000
# Notification emails (export runs' outcomes) a tenant may send per UTC day (docs/exports.md): a
# runaway schedule or script cannot burn the account's SES sending quota or reputation. Raisable by
# the operator (`activitylog tenants set-mail-limit`).
DEFAULT_DAILY_MAIL_LIMIT = 100
MAX_PATTERNS = 100
_ACTION = re.compile(ACTION_PATTERN)


def _action_pattern(value: str) -> str:
    name = value[:-2] if value.endswith(".*") else value
    if value != "*" and not _ACTION.fullmatch(name):
        raise ValueError("use an exact action (user.login), a prefix (user.*) or *")
    return value


def _key_pattern(value: str) -> str:
    check_text(value)
    name = value[:-2] if value.endswith(".*") else value
    if value != "*" and (not name or "*" in name or len(name) > 40):
        raise ValueError("use an exact metadata key (1-40 characters), a prefix (key.*) or *")
    return value


ActionPattern = Annotated[str, Field(max_length=102), AfterValidator(_action_pattern)]
KeyPattern = Annotated[str, Field(max_length=42), AfterValidator(_key_pattern)]


def matches(pattern: str, name: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


class _Selection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def selects_everything(self) -> bool:
        """The default (`include: ["*"]`, nothing excluded): ingestion skips the per-name checks."""
        return getattr(self, "include") == ["*"] and not getattr(self, "exclude")  # noqa: B009

    def selects(self, name: str) -> bool:
        include: list[str] = getattr(self, "include")  # noqa: B009 - fields of the subclasses
        exclude: list[str] = getattr(self, "exclude")  # noqa: B009
        return any(matches(p, name) for p in include) and not any(matches(p, name) for p in exclude)


class ActionSelection(_Selection):
    include: list[ActionPattern] = Field(default_factory=lambda: ["*"], max_length=MAX_PATTERNS)
    exclude: list[ActionPattern] = Field(default_factory=list, max_length=MAX_PATTERNS)


class KeySelection(_Selection):
    include: list[KeyPattern] = Field(default_factory=lambda: ["*"], max_length=MAX_PATTERNS)
    exclude: list[KeyPattern] = Field(default_factory=list, max_length=MAX_PATTERNS)


Retention = Annotated[int, Field(ge=1, le=MAX_RETENTION_DAYS)]
MAX_REPORT_KEYS = 10


def _report_key(value: str) -> str:
    check_text(value)
    if not 1 <= len(value) <= 40 or any(ord(c) < 0x20 for c in value):
        raise ValueError("a reportable metadata key is 1-40 characters, no control characters")
    return value


def _distinct_keys(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


ReportKeys = Annotated[
    list[Annotated[str, AfterValidator(_report_key)]],
    Field(max_length=MAX_REPORT_KEYS),
    AfterValidator(_distinct_keys),
]
Emails = Annotated[list[EmailAddress], Field(max_length=50)]


class LoggingSettings(BaseModel):
    """GET/PUT /v1/settings: chosen by the tenant (scope logging:manage)."""

    model_config = ConfigDict(extra="forbid")

    logging_enabled: bool = True
    actions: ActionSelection = Field(default_factory=ActionSelection)
    metadata_keys: KeySelection = Field(default_factory=KeySelection)
    retention_days: Retention = DEFAULT_RETENTION_DAYS
    notification_emails: Emails = Field(
        default_factory=list, description="receive the 80% and 100% monthly quota warnings"
    )
    report_metadata_keys: ReportKeys = Field(
        default_factory=list,
        description="metadata keys reports count from rollups (group_by=metadata.<key>), e.g. query",
    )


class SettingsUpdate(BaseModel):
    """PUT /v1/settings is a partial update: fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    logging_enabled: bool | None = None
    actions: ActionSelection | None = None
    metadata_keys: KeySelection | None = None
    retention_days: Retention | None = None
    notification_emails: Emails | None = None
    report_metadata_keys: ReportKeys | None = None


MAX_SHARDS = 64  # write shards of one tenant (docs/data-model.md, "Hot tenants")


class TenantLimits(BaseModel):
    """Set by the operator (`activitylog tenants ...`), never by the tenant."""

    monthly_quota: int = Field(default=DEFAULT_MONTHLY_QUOTA, ge=0)
    # Write sharding (docs/data-model.md): index partition keys get a shard suffix 0..shard_count-1.
    # Set for very hot tenants; it may only grow, reads merge every shard.
    shard_count: int = Field(default=1, ge=1, le=MAX_SHARDS)
    # Export notification emails per tenant and UTC day (one per run, whatever its recipients).
    daily_mail_limit: int = Field(default=DEFAULT_DAILY_MAIL_LIMIT, ge=0)


class TenantSettings(BaseModel):
    """What ingestion and queries need: both documents together."""

    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    limits: TenantLimits = Field(default_factory=TenantLimits)

    @property
    def retention_days(self) -> int:
        return self.logging.retention_days

    @property
    def shard_count(self) -> int:
        return self.limits.shard_count


class Usage(BaseModel):
    month: str = Field(examples=["2026-11"])
    events_accepted: int
    monthly_quota: int


class Reservation(BaseModel):
    """What reserving room in the month's quota found (one conditional update, dal/usage.py).

    `total`: the month's count after adding, or None when the batch did not fit (nothing added).
    `accepted`: the count as it now is either way. `warned`: the thresholds whose warning has been
    sent (so a crossed threshold not in it is still to announce, however long ago it was crossed).
    `leases`: threshold -> epoch second until which a request holds its warning (sending it, or
    waiting after a failed send before the next try): no request tries before then.
    """

    total: int | None
    accepted: int
    warned: frozenset[str] = frozenset()
    leases: dict[str, int] = Field(default_factory=dict)
