"""Recording the service's own `activitylog.*` events from any API handler (docs: audit trail)."""

from __future__ import annotations

from typing import Any

from activitylog.handlers import wiring
from activitylog.logic import audit, clock


def record(tenant: str, action: str, actor: dict[str, str], **details: Any) -> str:
    """Store one audit event of `tenant` (whatever its logging settings and quota say)."""
    c = wiring.container()
    return audit.record(
        c.events,
        c.control,
        c.control.get_settings(tenant),
        tenant=tenant,
        action=action,
        actor=actor,
        now=clock.now(),
        **details,
    )
