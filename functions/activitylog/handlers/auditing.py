"""Recording the service's own `activitylog.*` events from any API handler (docs: audit trail)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from activitylog.dal.control import ControlTable
from activitylog.dal.events import DynamoEventStore
from activitylog.logic import audit, clock
from activitylog.models.env import function_env


@lru_cache(maxsize=1)
def _control() -> ControlTable:
    return ControlTable(function_env().control_table)


@lru_cache(maxsize=1)
def _events() -> DynamoEventStore:
    return DynamoEventStore(function_env().events_table)


def record(tenant: str, action: str, actor: dict[str, str], **details: Any) -> str:
    """Store one audit event of `tenant` (whatever its logging settings and quota say)."""
    return audit.record(
        _events(),
        _control(),
        _control().get_settings(tenant),
        tenant=tenant,
        action=action,
        actor=actor,
        now=clock.now(),
        **details,
    )
