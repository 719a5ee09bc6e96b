"""Integration tests run against the whole local service: the embedded moto server, the resources
of the synthesized CDK template, the real authorizer and handlers behind the local gateway.

One service per test session (synthesis takes seconds); each test uses its own tenants.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from activitylog_ops.local.service import LocalService, create_key
from activitylog_ops.throttle import local_throttles

from tests.integration.console_support import browser, console_url  # noqa: F401  (the console tests' fixtures)

ALL_SCOPES = [
    "events:write",
    "events:read",
    "exports:manage",
    "logging:manage",
    "keys:manage",
    "tokens:create",
    "streams:manage",
    "alerts:manage",
]
_counter = itertools.count()


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalService]:
    service = LocalService(port=0, env_file=None, auto_fire=False)  # tests fire schedules explicitly
    service.start()
    try:
        yield service
    finally:
        service.stop()


@dataclass
class Api:
    """A thin HTTP client for one tenant's key against the local gateway."""

    url: str
    key: str | None
    tenant: str

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def post_events(self, events: list[dict[str, Any]], **kwargs: Any) -> requests.Response:
        return self.request("POST", "/v1/events", json={"events": events}, **kwargs)

    def events(self, **params: Any) -> requests.Response:
        return self.request("GET", "/v1/events", params=params)

    def all_ids(self, **params: Any) -> list[str]:
        ids: list[str] = []
        cursor = None
        for _ in range(500):
            answer = self.events(**params, **({"cursor": cursor} if cursor else {}))
            assert answer.status_code == 200, answer.text
            page = answer.json()
            ids += [e["id"] for e in page["events"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids
        raise AssertionError("pagination did not end")


@dataclass
class Keys:
    """Creates tenants' keys through the project's own key logic, straight into the control table."""

    stack: LocalService

    def api(
        self,
        tenant: str | None = None,
        scopes: list[str] | None = None,
        actor_id: str | None = None,
        *,
        unthrottled: bool = False,
    ) -> Api:
        """A new key (of a new tenant unless `tenant`). The tenant has the default rate limit (50/s,
        burst 100) unless `unthrottled`: tests that send hundreds of requests as fast as they can
        (corpus, fuzzing) get the raised limit an operator would give a load-testing tenant."""
        tenant = tenant or new_tenant()
        dynamodb = boto3.client("dynamodb", endpoint_url=self.stack.env["AWS_ENDPOINT_URL"])
        throttles = local_throttles(self.stack.env)
        if unthrottled:
            throttles.set_limit(tenant, rate=10_000, burst=5_000)
        created = create_key(
            self.stack.env["ACTIVITYLOG_CONTROL_TABLE"],
            dynamodb,
            throttles=throttles,
            tenant=tenant,
            scopes=scopes or ALL_SCOPES,
            actor_id=actor_id,
            name="test",
        )
        return Api(self.stack.env["ACTIVITYLOG_API_URL"], created.key, tenant)


def new_tenant() -> str:
    return f"t{next(_counter)}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def keys(local_stack: LocalService) -> Keys:
    return Keys(local_stack)


@pytest.fixture
def anonymous(local_stack: LocalService) -> Api:
    return Api(local_stack.env["ACTIVITYLOG_API_URL"], None, "")
