"""The route's scope is checked before the body (issue 18, item 10; API.md conventions): a key
without it gets 403 whatever the body holds: an invalid body, garbage, a wrong content type."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Keys

# (method, path, the scope it needs) for every route with a body
BODY_ROUTES = [
    ("POST", "/v1/events", "events:write"),
    ("PUT", "/v1/settings", "logging:manage"),
    ("POST", "/v1/api-keys", "keys:manage"),
    ("POST", "/v1/exports", "exports:manage"),
    ("POST", "/v1/exports/01JD0000000000000000000000/runs", "exports:manage"),
    ("PUT", "/v1/exports/01JD0000000000000000000000/schedule", "exports:manage"),
]
BODIES = [
    ({"Content-Type": "application/json"}, b"{}"),
    ({"Content-Type": "application/json"}, b"{not json"),
    ({"Content-Type": "application/json"}, b'{"unknown": 1}'),
    ({"Content-Type": "text/plain"}, b"hello"),
    ({"Content-Type": "multipart/form-data"}, b"--x"),
]


@pytest.mark.parametrize(("method", "path", "scope"), BODY_ROUTES)
def test_a_key_without_the_routes_scope_gets_403_whatever_the_body(
    keys: Keys, method: str, path: str, scope: str
) -> None:
    others = [
        s
        for s in ("events:read", "events:write", "logging:manage", "keys:manage", "exports:manage")
        if s != scope
    ]
    api = keys.api(scopes=others)
    for headers, body in BODIES:
        answer = api.request(method, path, data=body, headers=headers)
        assert answer.status_code == 403, (headers, body, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "forbidden" and scope in error["message"]
