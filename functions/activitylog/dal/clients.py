"""Lazily created boto3 clients (cold start, and tests that start moto after import)."""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)


@cache
def client(service: str) -> Any:
    import boto3  # deferred: importing boto3 costs ~250 ms at cold start

    return boto3.session.Session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """For tests that switch emulations between cases."""
    client.cache_clear()
