"""boto3 clients, created lazily (cold start, and tests that start moto after import).

The composition root (`activitylog.handlers.wiring`) creates the clients of its adapters with
`new_client` and keeps them for as long as it lives; `client` is the shared fallback of adapters
made without one (the operator CLI, tests).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=10)
# boto3's default presigns with the legacy SigV2, which SSE-KMS objects refuse and which ignores the region.
SIGV4 = Config(signature_version="s3v4")


def new_client(service: str, config: Config | None = None) -> Any:
    import boto3  # deferred: importing boto3 costs ~250 ms at cold start

    return boto3.session.Session().client(service, config=_CONFIG.merge(config) if config else _CONFIG)


@cache
def client(service: str) -> Any:
    return new_client(service)


def reset_clients() -> None:
    """For tests that switch emulations between cases."""
    client.cache_clear()


class ClientOf:
    """An adapter's client, as a class attribute: the client the adapter was given (its `_client`),
    or on first use the shared one of `service` (adapters made without one: the CLI, tests)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __get__(self, adapter: Any, owner: type | None = None) -> Any:
        if adapter._client is None:
            adapter._client = client(self.service)
        return adapter._client
