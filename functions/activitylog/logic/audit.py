"""The audit log's own audit trail: the service records changes to settings, keys, quotas and exports
as events of the tenant (`activitylog.*`), whatever the tenant's logging settings and quota say."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activitylog.logic.ingest import prepare
from activitylog.logic.ports import ActionCatalogue, EventStore
from activitylog.models.auth import Principal
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.settings import TenantSettings

OPERATOR = {"id": "operator", "type": "operator"}
SERVICE = {"id": "activitylog", "type": "service"}  # what the service itself decided (a disable)


def key_actor(principal: Principal) -> dict[str, str]:
    """The credential that made a change: an API key, or a viewer token (its id, never its secret)."""
    return {"id": principal.key_id, "type": "viewer_token" if principal.token else "api_key"}


def record(
    events: EventStore,
    catalogue: ActionCatalogue,
    settings: TenantSettings,
    *,
    tenant: str,
    action: str,
    actor: dict[str, str],
    now: datetime,
    targets: list[dict[str, str]] | None = None,
    metadata: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> str:
    """Store one service event; return its id. Raises when it cannot be stored (the caller's change
    already happened, so the caller answers 503 and the operator sees it in the logs). With
    `event_id` a second record of the same event stores nothing (the first write of an id wins)."""
    raw = {
        **({"id": event_id} if event_id is not None else {}),
        "action": action,
        "actor": actor,
        "targets": targets or [],
        "metadata": metadata or {},
    }
    rejection, event = prepare(0, raw, tenant=tenant, now=now, settings=settings, seen=set(), internal=True)
    if event is None:
        raise ValueError(f"invalid audit event {action}: {rejection}")
    catalogue.add_actions(tenant, {action})  # so that `action=activitylog.*` finds it
    if events.put_events([event]).failed:
        raise StorageUnavailableError("the audit event could not be stored, retry later")
    return event.event_id
