"""API.md "Conventions" through the local gateway, on every route: JSON bodies only (415 otherwise,
also for a malformed type), unknown query parameters refused (400, named), methods a route does not
define (405 with Allow), and one JSON encoder for every answer (UTF-8, no `\\u` escapes)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from activitylog.handlers.docs import openapi_schema

from tests.integration.conftest import Api, Keys

DOCUMENT = openapi_schema()
# (method, path template) of every operation the document declares
OPERATIONS = sorted(
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method in ("get", "post", "put", "delete", "patch")
)
WITH_BODY = [(m, p) for m, p in OPERATIONS if "requestBody" in DOCUMENT["paths"][p][m.lower()]]
BODY_OF = {
    "/v1/events": {"events": [{"action": "user.login", "actor": {"id": "u1"}}]},
    "/v1/exports": {"name": "n", "format": "csv"},
    "/v1/api-keys": {"name": "n", "scopes": ["events:read"]},
    "/v1/settings": {"retention_days": 30},
    "/v1/exports/{export_id}/schedule": {"expression": "rate(1 day)"},
    "/v1/viewer-tokens": {"scopes": ["events:read"], "ttl_seconds": 900},
    "/v1/destinations": {"name": "n", "type": "webhook", "url": "http://127.0.0.1:9/hook"},
    "/v1/destinations/{destination_id}": {"name": "n"},
    "/v1/destinations/{destination_id}/replays": {
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-02T00:00:00Z",
    },
    "/v1/alerts": {"name": "n", "threshold": {"count": 3, "window": "PT10M"}},
    "/v1/alerts/{alert_id}": {"name": "n"},
    "/v1/alerts/preview": {
        "alert": {"name": "n", "threshold": {"count": 3, "window": "PT10M"}},
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-02T00:00:00Z",
    },
}
WRONG_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",  # curl -d's default
    "multipart/form-data",  # no boundary: malformed
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/json; charset=latin-1",
    "application/jsonx",
    ";;;",
]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def assert_error(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.text[:300])
    assert answer.headers["Content-Type"].startswith("application/json")
    error: dict[str, Any] = answer.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and isinstance(error["details"], list)
    return error


def test_every_route_with_a_body_is_listed() -> None:
    # The parametrisations below are not vacuous: they cover the document's bodies
    assert {p for _, p in WITH_BODY} == set(BODY_OF)


@pytest.mark.parametrize("content_type", WRONG_TYPES)
@pytest.mark.parametrize(("method", "path"), WITH_BODY)
def test_a_body_that_is_not_declared_json_is_a_415_envelope(
    keys: Keys, method: str, path: str, content_type: str
) -> None:
    # Given a valid JSON body (form fields that would even validate: name=n&format=csv)
    api = keys.api()
    form = "&".join(f"{k}={v}" for k, v in BODY_OF[path].items() if isinstance(v, str | int))
    for body in (requests.compat.json.dumps(BODY_OF[path]), form):
        # When it is declared as another media type
        answer = api.request(method, concrete(path), data=body, headers={"Content-Type": content_type})

        # Then 415 in the envelope, and nothing was done
        assert_error(answer, 415, "unsupported_media_type")
    assert api.request("GET", "/v1/api-keys").json()["api_keys"][1:] == []
    assert api.request("GET", "/v1/exports").json()["exports"] == []
    assert api.request("GET", "/v1/destinations").json()["destinations"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", None])
def test_json_bodies_are_taken_with_or_without_a_declared_type(keys: Keys, content_type: str | None) -> None:
    api = keys.api()
    headers = {"Content-Type": content_type} if content_type else {}
    body = requests.compat.json.dumps(BODY_OF["/v1/exports"]).encode()
    answer = api.request("POST", "/v1/exports", data=body, headers=headers)
    if content_type is None:  # requests sets none for bytes
        assert "Content-Type" not in answer.request.headers
    assert answer.status_code == 202, answer.text


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_a_malformed_content_type_is_never_a_server_error(keys: Keys, method: str, path: str) -> None:
    api = keys.api()
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=", "", "a/b; c"):
        answer = api.request(method, concrete(path), data=b"", headers={"Content-Type": content_type})
        assert 400 <= answer.status_code < 500 or answer.status_code in (200, 204, 302), answer.text[:300]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_an_unknown_query_parameter_is_a_400_naming_it(keys: Keys, method: str, path: str) -> None:
    api = keys.api()
    body = BODY_OF.get(path)
    answer = api.request(method, concrete(path) + "?actorid=user-42", json=body)

    error = assert_error(answer, 400, "bad_request")
    assert "actorid" in error["message"]
    assert error["details"][0]["loc"] == ["query", "actorid"]


def test_a_misspelt_filter_does_not_list_everything(keys: Keys) -> None:
    # Given events of two actors
    api = keys.api()
    api.post_events([{"action": "user.login", "actor": {"id": a}} for a in ("user-42", "user-7")])

    # When the filter is misspelt, then refused; spelt right, then filtered
    assert_error(api.events(actorid="user-42"), 400, "bad_request")
    assert [e["actor"]["id"] for e in api.events(actor_id="user-42").json()["events"]] == ["user-42"]
    # declared parameters still work, under their aliases and repeated
    listed = api.request("GET", "/v1/events?from=2020-01-01T00:00:00Z&action=user.login&action=x.*")
    assert listed.status_code == 200, listed.text


def test_public_routes_refuse_unknown_parameters_too(anonymous: Api) -> None:
    assert anonymous.request("GET", "/v1/health").status_code == 200
    assert_error(anonymous.request("GET", "/v1/health?verbose=1"), 400, "bad_request")
    assert_error(anonymous.request("GET", "/v1/downloads/abc?x=1"), 400, "bad_request")


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "CONNECT"])
def test_a_method_a_route_does_not_define_is_a_405_with_allow(keys: Keys, method: str) -> None:
    api = keys.api()
    for path, allow in (  # OPTIONS: every path's CORS preflight (tests/integration/test_cors.py)
        ("/v1/events", "GET, OPTIONS, POST"),
        ("/v1/events/count", "GET, OPTIONS"),
        ("/v1/exports/x1/schedule", "DELETE, GET, OPTIONS, PUT"),
        ("/v1/health", "GET, OPTIONS"),
    ):
        answer = api.request(method, path)
        assert_error(answer, 405, "method_not_allowed")
        assert answer.headers["Allow"] == allow


def test_every_answer_is_utf8_json_without_escapes(keys: Keys) -> None:
    # Given non-ASCII text in an event and in an export's name
    api = keys.api()
    name = "Zoë Ærø ✓"
    api.post_events([{"action": "user.login", "actor": {"id": "z", "name": name}}])
    created = api.request("POST", "/v1/exports", json={"name": name, "format": "csv"})

    # When it comes back from each kind of answer, then as UTF-8 text, never as \\u escapes
    answers = [
        created,
        api.request("GET", f"/v1/exports/{created.json()['export']['id']}"),
        api.request("GET", "/v1/exports"),
        api.events(),
        api.request("POST", "/v1/api-keys", json={"name": name, "scopes": ["events:read"]}),
    ]
    for answer in answers:
        assert answer.status_code < 300, answer.text
        assert name.encode("utf-8") in answer.content, answer.content[:300]
        assert b"\\u00eb" not in answer.content
    # and an error's message too (the field name it quotes)
    refused = api.request("POST", "/v1/exports", json={"name": "n", "format": "csv", "naïve": 1})
    assert refused.status_code == 422 and "naïve".encode() in refused.content, refused.content
