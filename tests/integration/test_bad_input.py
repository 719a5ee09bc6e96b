"""Every malformed request gets the documented 4xx error envelope, never a 5xx, and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Api, Keys

GOOD = {"action": "user.login", "actor": {"id": "u1"}}


def assert_error(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["details"], list)


RAW_BODIES = [
    ("not json", b"{nope", 400, "bad_request"),
    ("empty body", b"", 422, "validation_error"),
    ("json array", b"[]", 422, "validation_error"),
    ("no events key", b'{"items": []}', 422, "validation_error"),
    ("events not a list", b'{"events": {"a": 1}}', 422, "validation_error"),
    ("zero events", b'{"events": []}', 422, "validation_error"),
    ("101 events", json.dumps({"events": [GOOD] * 101}).encode(), 422, "validation_error"),
    ("unknown envelope field", json.dumps({"events": [GOOD], "x": 1}).encode(), 422, "validation_error"),
    ("deep nesting", b'{"events": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "bad_request"),
    (
        "over 1 MiB",
        json.dumps({"events": [{**GOOD, "description": "x" * (1024 * 1024)}]}).encode(),
        413,
        "payload_too_large",
    ),
    (
        "invalid utf-8",
        b'{"events": [{"action": "user.login", "actor": {"id": "\xff\xfe"}}]}',
        400,
        "bad_request",
    ),
]


@pytest.mark.parametrize(("name", "raw", "status", "code"), RAW_BODIES, ids=[r[0] for r in RAW_BODIES])
def test_malformed_bodies(keys: Keys, name: str, raw: bytes, status: int, code: str) -> None:
    api = keys.api()
    answer = api.request("POST", "/v1/events", data=raw, headers={"Content-Type": "application/json"})
    assert_error(answer, status, code)
    assert api.request("GET", "/v1/events/count").json()["count"] == 0


BAD_EVENTS = [
    ("wrong type", {**GOOD, "actor": "u1"}),
    ("over-long action", {**GOOD, "action": "a" * 101}),
    ("over-long description", {**GOOD, "description": "d" * 1001}),
    ("invalid ip", {**GOOD, "context": {"ip": "1.2.3"}}),
    ("unknown field", {**GOOD, "severity": "high"}),
    ("lone surrogate", {**GOOD, "description": "\ud800"}),
    ("nul", {**GOOD, "actor": {"id": "a\x00b"}}),
    ("huge number", {**GOOD, "metadata": {"n": 10**40}}),
    ("path traversal id", {**GOOD, "id": "../../etc/passwd"}),
    ("too many targets", {**GOOD, "targets": [{"type": "a", "id": str(i)} for i in range(11)]}),
]


@pytest.mark.parametrize(("name", "bad"), BAD_EVENTS, ids=[b[0] for b in BAD_EVENTS])
def test_bad_events_are_rejected_one_by_one(keys: Keys, name: str, bad: dict[str, Any]) -> None:
    api = keys.api()
    answer = api.post_events([bad, GOOD])
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert results[0]["status"] == "rejected" and results[0]["error"]["code"] == "validation_error"
    assert results[1]["status"] == "accepted"
    assert api.request("GET", "/v1/events/count").json()["count"] == 1


QUERIES = [
    ("limit 0", "/v1/events?limit=0", 422, "validation_error"),
    ("limit 201", "/v1/events?limit=201", 422, "validation_error"),
    ("limit text", "/v1/events?limit=ten", 422, "validation_error"),
    ("bad from", "/v1/events?from=yesterday", 422, "validation_error"),
    ("from without offset", "/v1/events?from=2026-11-01T00:00:00", 422, "validation_error"),
    ("from after to", "/v1/events?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", 400, "bad_request"),
    ("target_id alone", "/v1/events?target_id=7", 400, "bad_request"),
    ("bad order", "/v1/events?order=up", 422, "validation_error"),
    ("bad outcome", "/v1/events?outcome=meh", 422, "validation_error"),
    ("bad action", "/v1/events?action=Not%20An%20Action", 422, "validation_error"),
    ("garbage cursor", "/v1/events?cursor=%25%25%25", 400, "bad_request"),
    ("base64 junk cursor", "/v1/events?cursor=eyJ2IjoxfQ", 400, "bad_request"),
    ("count garbage cursor", "/v1/events/count?cursor=abc", 400, "bad_request"),
    ("nul in q", "/v1/events?q=a%00b", 400, "bad_request"),
    ("unknown event", "/v1/events/nope", 404, "not_found"),
    ("traversal id", "/v1/events/..%2F..%2Fsecret", 404, "not_found"),
    ("unknown route", "/v1/nothing-here", 404, "not_found"),
]


@pytest.mark.parametrize(("name", "path", "status", "code"), QUERIES, ids=[q[0] for q in QUERIES])
def test_malformed_queries(keys: Keys, name: str, path: str, status: int, code: str) -> None:
    assert_error(keys.api().request("GET", path), status, code)


def test_cursor_of_other_filters_or_tenant_is_refused(keys: Keys) -> None:
    a, b = keys.api(), keys.api()
    for api in (a, b):
        assert api.post_events([{**GOOD, "id": f"e{i}"} for i in range(5)]).json()["accepted"] == 5
    cursor = a.events(limit=2).json()["next_cursor"]
    assert cursor
    assert_error(a.events(limit=2, cursor=cursor, actor_id="u1"), 400, "bad_request")
    assert_error(b.events(limit=2, cursor=cursor), 400, "bad_request")
    assert a.events(limit=2, cursor=cursor).status_code == 200


def test_authentication_and_scopes(keys: Keys, anonymous: Api) -> None:
    assert_error(anonymous.request("GET", "/v1/events"), 401, "unauthorized")
    bad = Api(anonymous.url, "alk_not-a-real-key", "")
    assert_error(bad.request("GET", "/v1/events"), 401, "unauthorized")
    assert_error(bad.post_events([GOOD]), 401, "unauthorized")
    writer = keys.api(scopes=["events:write"])
    assert writer.post_events([GOOD]).status_code == 200
    assert_error(writer.request("GET", "/v1/events"), 403, "forbidden")
    assert_error(writer.request("GET", "/v1/events/count"), 403, "forbidden")
    reader = keys.api(scopes=["events:read"])
    assert_error(reader.post_events([GOOD]), 403, "forbidden")


def test_public_routes_need_no_key(anonymous: Api) -> None:
    assert anonymous.request("GET", "/v1/health").json() == {"status": "ok"}
    assert anonymous.request("GET", "/v1/openapi.json").status_code == 200
    docs = anonymous.request("GET", "/v1/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
