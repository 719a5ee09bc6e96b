"""The data-access adapters every handler shares, created on first use (one per container).

Each adapter's module is imported on first use too: a handler that never asks for one does not load
it (the authorizer only reads API keys, and skips the settings and events models at cold start).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from activitylog.models.env import function_env

if TYPE_CHECKING:
    from activitylog.dal.api_keys import ApiKeyTable
    from activitylog.dal.control import ControlTable
    from activitylog.dal.events import DynamoEventStore


@lru_cache(maxsize=1)
def control() -> ControlTable:
    from activitylog.dal.control import ControlTable

    return ControlTable(function_env().control_table)


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyTable:
    """The control table's API keys only."""
    from activitylog.dal.api_keys import ApiKeyTable

    return ApiKeyTable(function_env().control_table)


@lru_cache(maxsize=1)
def events() -> DynamoEventStore:
    from activitylog.dal.events import DynamoEventStore

    return DynamoEventStore(function_env().events_table)


def reset() -> None:
    """For tests and local mode: forget adapters made with an earlier configuration."""
    control.cache_clear()
    api_keys.cache_clear()
    events.cache_clear()
