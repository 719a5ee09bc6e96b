"""Recording the service's own `activitylog.*` events from any API handler (docs: audit trail)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import stores
from activitylog.logic import audit, clock


def record(tenant: str, action: str, actor: dict[str, str], **details: Any) -> str:
    """Store one audit event of `tenant` (whatever its logging settings and quota say)."""
    return audit.record(
        stores.events(),
        stores.control(),
        stores.control().get_settings(tenant),
        tenant=tenant,
        action=action,
        actor=actor,
        now=clock.now(),
        **details,
    )
