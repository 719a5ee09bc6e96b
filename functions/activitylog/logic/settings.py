"""GET/PUT /v1/settings and GET /v1/usage."""

from __future__ import annotations

from datetime import datetime

from activitylog.logic import audit, quota
from activitylog.logic.ports import EventStore, LimitsAdmin, SettingsAdmin, UsageStore
from activitylog.models.errors import ConflictError, InvalidInputError
from activitylog.models.settings import MAX_SHARDS, LoggingSettings, SettingsUpdate, TenantLimits, Usage

ATTEMPTS = 3


def update_settings(
    store: SettingsAdmin, tenant: str, update: SettingsUpdate
) -> tuple[LoggingSettings, list[str]]:
    """Partial update with optimistic concurrency; returns the new settings and the changed fields."""
    changes = update.model_dump(exclude_none=True)
    for _ in range(ATTEMPTS):
        current, version = store.get_logging_settings(tenant)
        merged = LoggingSettings.model_validate({**current.model_dump(), **changes})
        changed = [k for k in changes if getattr(current, k) != getattr(merged, k)]
        if not changed:
            return current, []
        try:
            store.put_logging_settings(tenant, merged, version=version)
        except ConflictError:
            continue
        return merged, changed
    raise ConflictError("the settings are being changed concurrently: retry")


def usage(store: UsageStore, limits: TenantLimits, tenant: str, now: datetime) -> Usage:
    month = quota.month_of(now)
    return Usage(
        month=month, events_accepted=store.accepted(tenant, month), monthly_quota=limits.monthly_quota
    )


def _record_operator_change(
    store: LimitsAdmin,
    events: EventStore,
    tenant: str,
    action: str,
    change: dict[str, int | float],
    now: datetime,
) -> None:
    """The tenant's audit trail records every operator change of its limits."""
    audit.record(
        events,
        store,
        store.get_settings(tenant),
        tenant=tenant,
        action=action,
        actor=audit.OPERATOR,
        now=now,
        targets=[{"type": "tenant", "id": tenant}],
        metadata=change,
    )


def record_rate_limit_change(
    store: LimitsAdmin, events: EventStore, tenant: str, *, rate: float, burst: int, now: datetime
) -> None:
    """Operator only (the CLI changes the tenant's usage plan on API Gateway, then records it here)."""
    _record_operator_change(
        store,
        events,
        tenant,
        "activitylog.rate_limit.updated",
        {"rate_limit": rate, "burst_limit": burst},
        now,
    )


def set_monthly_quota(
    store: LimitsAdmin, events: EventStore, tenant: str, monthly_quota: int, *, now: datetime
) -> None:
    """Operator only (the CLI): never reachable with a tenant's API key."""
    if monthly_quota < 0:
        raise InvalidInputError("the monthly quota cannot be negative")
    store.set_monthly_quota(tenant, monthly_quota)
    _record_operator_change(
        store, events, tenant, "activitylog.quota.updated", {"monthly_quota": monthly_quota}, now
    )


def raise_shard_count(
    store: LimitsAdmin, events: EventStore, tenant: str, count: int, *, now: datetime
) -> None:
    """Operator only (the CLI): spread a hot tenant's index writes over `count` shards
    (docs/data-model.md, "Hot tenants"). Shards may only grow."""
    if not 1 <= count <= MAX_SHARDS:
        raise InvalidInputError(f"the shard count must be between 1 and {MAX_SHARDS}")
    if not store.raise_shard_count(tenant, count):
        current = store.get_settings(tenant).limits.shard_count
        raise ConflictError(
            f"the shard count may only grow: it is {current}; reads query every shard up to it"
        )
    _record_operator_change(store, events, tenant, "activitylog.shards.updated", {"shard_count": count}, now)


def set_daily_mail_limit(
    store: LimitsAdmin, events: EventStore, tenant: str, limit: int, *, now: datetime
) -> None:
    """Operator only (the CLI): the tenant's notification emails per UTC day (docs/exports.md)."""
    if limit < 0:
        raise InvalidInputError("the daily mail limit cannot be negative")
    store.set_daily_mail_limit(tenant, limit)
    _record_operator_change(
        store, events, tenant, "activitylog.mail_limit.updated", {"daily_mail_limit": limit}, now
    )
