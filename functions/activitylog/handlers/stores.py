"""The data-access adapters every handler shares, created on first use (one per container)."""

from __future__ import annotations

from functools import lru_cache

from activitylog.dal.control import ControlTable
from activitylog.dal.events import DynamoEventStore
from activitylog.models.env import function_env


@lru_cache(maxsize=1)
def control() -> ControlTable:
    return ControlTable(function_env().control_table)


@lru_cache(maxsize=1)
def events() -> DynamoEventStore:
    return DynamoEventStore(function_env().events_table)


def reset() -> None:
    """For tests and local mode: forget adapters made with an earlier configuration."""
    control.cache_clear()
    events.cache_clear()
