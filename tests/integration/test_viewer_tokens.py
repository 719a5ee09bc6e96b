"""Viewer tokens through the local gateway (API.md Part 2, "Viewer tokens"): minting, the restriction
on every route a token can call (list, count, get, exports and their files), expiry, tampering,
other tenants, and what a token can never do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import download, wait_for_run

MINTER = ["events:write", "events:read", "exports:manage", "keys:manage", "tokens:create"]


def event(event_id: str, action: str, actor: str, *targets: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "action": action,
        "actor": {"id": actor},
        "targets": [{"type": "asset", "id": t} for t in targets],
    }


EVENTS = [
    event("a7-u1", "asset.viewed", "u1", "7"),
    event("a7-u2", "asset.edited", "u2", "7"),
    event("a8-u1", "asset.viewed", "u1", "8"),
    event("none-u3", "user.login", "u3"),
    event("a8a7-u2", "asset.moved", "u2", "8", "7"),
]


def mint(api: Api, **body: Any) -> requests.Response:
    return api.request("POST", "/v1/viewer-tokens", json={"scopes": ["events:read"], **body})


def as_token(api: Api, token: str) -> Api:
    return Api(api.url, token, api.tenant)


@pytest.fixture(scope="module")
def tenant(local_stack: LocalService) -> Api:
    api = Keys(local_stack).api(scopes=MINTER)
    answer = api.post_events(EVENTS)
    assert answer.status_code == 200 and answer.json()["accepted"] == len(EVENTS), answer.text
    return api


@pytest.fixture(scope="module")
def asset7(tenant: Api) -> tuple[Api, dict[str, Any]]:
    answer = mint(
        tenant,
        scopes=["events:read", "exports:manage"],
        target={"type": "asset", "id": "7"},
        label="asset 7 history for user-42",
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return as_token(tenant, body["token"]), body


def test_minting_answers_exactly_the_contract(tenant: Api, asset7: tuple[Api, dict[str, Any]]) -> None:
    _, body = asset7
    assert set(body) == {"token", "expires_at", "scopes", "actor_id", "target"}
    assert body["token"].startswith("vt_")
    assert body["scopes"] == ["events:read", "exports:manage"]
    assert body["actor_id"] is None and body["target"] == {"type": "asset", "id": "7"}
    expires = datetime.fromisoformat(body["expires_at"])
    assert body["expires_at"].endswith("Z")
    assert timedelta(seconds=890) < expires - datetime.now(UTC) <= timedelta(seconds=900)


def test_a_target_token_lists_counts_and_gets_only_that_targets_events(
    asset7: tuple[Api, dict[str, Any]],
) -> None:
    token, _ = asset7
    assert sorted(token.all_ids()) == ["a7-u1", "a7-u2", "a8a7-u2"]
    counted = token.request("GET", "/v1/events/count").json()
    assert counted == {"count": 3, "complete": True, "next_cursor": None}
    assert token.request("GET", "/v1/events/a7-u1").status_code == 200
    for outside in ("a8-u1", "none-u3", "no-such-event"):
        answer = token.request("GET", f"/v1/events/{outside}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", outside
    # A request filter narrows the restriction, never widens it: another target means events that
    # have both; a filter nothing in the restriction matches finds nothing.
    assert token.all_ids(actor_id="u1") == ["a7-u1"]
    assert token.all_ids(target_type="asset", target_id="8") == ["a8a7-u2"]
    count = token.request("GET", "/v1/events/count", params={"target_type": "asset", "target_id": "8"})
    assert count.json()["count"] == 1 and count.json()["complete"] is True
    assert token.all_ids(target_type="asset", target_id="9") == []
    assert token.all_ids(action="user.login") == []


def test_an_actor_token_sees_only_that_actors_events(tenant: Api) -> None:
    answer = mint(tenant, actor_id="u1")
    assert answer.status_code == 201, answer.text
    token = as_token(tenant, answer.json()["token"])
    assert sorted(token.all_ids()) == ["a7-u1", "a8-u1"]
    assert token.all_ids(actor_id="u2") == []
    assert token.request("GET", "/v1/events/a7-u2").status_code == 404
    both = mint(tenant, actor_id="u1", target={"type": "asset", "id": "7"})
    assert sorted(as_token(tenant, both.json()["token"]).all_ids()) == ["a7-u1"]  # not a8a7-u2 (u2)


def test_a_token_export_holds_only_the_restricted_events(
    tenant: Api, asset7: tuple[Api, dict[str, Any]]
) -> None:
    token, _ = asset7
    created = token.request("POST", "/v1/exports", json={"name": "Asset 7", "format": "jsonl"})
    assert created.status_code == 202, created.text
    export, run = created.json()["export"], created.json()["run"]
    assert (export["filters"]["target_type"], export["filters"]["target_id"]) == ("asset", "7")
    finished = wait_for_run(token, export["id"], run["id"])
    assert finished["status"] == "succeeded" and finished["row_count"] == 3
    lines = download(token, finished).decode("utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["a7-u1", "a7-u2", "a8a7-u2"]
    # The token's own changes are recorded with the token (its id) as the actor.
    audit = tenant.events(action="activitylog.export.created").json()["events"]
    (made,) = [e for e in audit if ("export", export["id"]) in {(t["type"], t["id"]) for t in e["targets"]}]
    assert made["actor"]["type"] == "viewer_token" and made["actor"]["id"]
    # Another target cannot be stored with the restriction: refused, never stored wider.
    outside = token.request(
        "POST",
        "/v1/exports",
        json={"name": "x", "format": "csv", "filters": {"target_type": "asset", "target_id": "8"}},
    )
    assert outside.status_code == 422 and outside.json()["error"]["code"] == "validation_error"


def test_a_token_sees_only_exports_within_its_restriction(
    tenant: Api, asset7: tuple[Api, dict[str, Any]]
) -> None:
    token, _ = asset7
    whole = tenant.request("POST", "/v1/exports", json={"name": "Everything", "format": "csv"}).json()
    export_id, run_id = whole["export"]["id"], whole["run"]["id"]
    wait_for_run(tenant, export_id, run_id)
    for method, path in [
        ("GET", f"/v1/exports/{export_id}"),
        ("POST", f"/v1/exports/{export_id}/runs"),
        ("GET", f"/v1/exports/{export_id}/runs"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}/download"),
        ("GET", f"/v1/exports/{export_id}/schedule"),
        ("DELETE", f"/v1/exports/{export_id}/schedule"),
        ("DELETE", f"/v1/exports/{export_id}"),
    ]:
        answer = token.request(method, path, allow_redirects=False)
        assert answer.status_code == 404, (method, path, answer.text)
    listed = [e["name"] for e in token.request("GET", "/v1/exports").json()["exports"]]
    assert "Everything" not in listed and "Asset 7" in listed
    assert tenant.request("GET", f"/v1/exports/{export_id}").status_code == 200


def test_minting_is_recorded_without_the_token(tenant: Api) -> None:
    answer = mint(tenant, actor_id="u9", ttl_seconds=60, label="audit me")
    secret = answer.json()["token"]
    keys = tenant.request("GET", "/v1/api-keys").json()["api_keys"]
    (key_id,) = [k["id"] for k in keys if tenant.key and tenant.key.startswith(k["prefix"])]
    events = tenant.events(action="activitylog.viewer_token.created").json()["events"]
    (event,) = [e for e in events if e["metadata"].get("label") == "audit me"]
    assert event["actor"]["id"] == key_id and event["actor"]["type"] == "api_key"
    assert event["targets"] == []
    assert event["metadata"]["scopes"] == "events:read" and event["metadata"]["actor_id"] == "u9"
    assert event["metadata"]["expires_at"] == answer.json()["expires_at"]
    assert secret not in json.dumps(event) and secret[3:] not in json.dumps(event)


def test_a_token_can_never_mint_tokens_create_keys_write_or_read_settings(
    asset7: tuple[Api, dict[str, Any]],
) -> None:
    token, _ = asset7
    refused = [
        mint(token),
        token.request("POST", "/v1/api-keys", json={"name": "x", "scopes": ["events:read"]}),
        token.post_events([{"action": "user.login", "actor": {"id": "u1"}}]),
        token.request("PUT", "/v1/settings", json={"retention_days": 1}),
        token.request("GET", "/v1/settings"),  # the tenant's notification addresses are not its slice
        token.request("GET", "/v1/usage"),
        token.request("GET", "/v1/api-keys"),
    ]
    for answer in refused:
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden", answer.text


def test_a_token_is_never_wider_than_its_minting_key(tenant: Api, keys: Keys) -> None:
    reader = keys.api(tenant=tenant.tenant, scopes=["events:read", "tokens:create"])
    wider = mint(reader, scopes=["events:read", "exports:manage"])
    assert wider.status_code == 403 and wider.json()["error"]["code"] == "forbidden"
    for scopes in (["events:write"], ["tokens:create"], ["keys:manage"], ["nonsense"]):
        answer = mint(tenant, scopes=scopes)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error", scopes
    for bad in ({"ttl_seconds": 59}, {"ttl_seconds": 86_401}, {"ttl_seconds": "900"}, {"extra": 1}):
        answer = mint(tenant, **bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert mint(tenant, scopes=["events:read:self"]).status_code == 422  # whose events?
    no_scope = keys.api(tenant=tenant.tenant, scopes=["events:read"])
    assert mint(no_scope).status_code == 403


def test_an_actor_key_mints_only_its_own_actors_tokens(tenant: Api, keys: Keys) -> None:
    own = keys.api(tenant=tenant.tenant, scopes=["events:read:self", "tokens:create"], actor_id="u1")
    assert mint(own, scopes=["events:read:self"], actor_id="u2").status_code == 403
    answer = mint(own, scopes=["events:read:self"])
    assert answer.status_code == 201 and answer.json()["actor_id"] == "u1"
    assert sorted(as_token(tenant, answer.json()["token"]).all_ids()) == ["a7-u1", "a8-u1"]


def test_revoking_the_minting_key_ends_its_tokens(tenant: Api, keys: Keys) -> None:
    minter = keys.api(tenant=tenant.tenant, scopes=["events:read", "tokens:create"])
    answer = mint(minter)
    assert answer.status_code == 201, answer.text
    token = as_token(tenant, answer.json()["token"])
    assert token.request("GET", "/v1/events/count").status_code == 200
    key_id = next(
        k["id"]
        for k in tenant.request("GET", "/v1/api-keys").json()["api_keys"]
        if k["prefix"] == minter.key[:12]
    )
    assert tenant.request("DELETE", f"/v1/api-keys/{key_id}").status_code in (200, 204)
    refused = token.request("GET", "/v1/events/count")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"


def test_an_expired_token_is_refused_at_once(tenant: Api) -> None:
    body = mint(tenant, ttl_seconds=60).json()
    token = as_token(tenant, body["token"])
    assert token.events().status_code == 200
    expires = datetime.fromisoformat(body["expires_at"])
    for moment in (expires, expires + timedelta(days=1)):
        with mock.patch("activitylog.logic.clock.now", return_value=moment):
            answer = token.events()
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
    with mock.patch("activitylog.logic.clock.now", return_value=expires - timedelta(milliseconds=1)):
        assert token.events().status_code == 200


def test_tampered_tokens_are_unauthorized(tenant: Api) -> None:
    real = mint(tenant).json()["token"]
    tampered = [real[:i] + ("A" if real[i] != "A" else "B") + real[i + 1 :] for i in range(len(real))]
    tampered += [real + "A", real + "=", real[:-1], "vt_", "vt_" + "A" * 43, real.upper(), real + "\u00e9"]
    for token in tampered:
        answer = as_token(tenant, token).events()
        assert answer.status_code == 401, token
        assert answer.json()["error"]["code"] == "unauthorized"
    assert as_token(tenant, real).events().status_code == 200


def test_another_tenants_token_sees_nothing_of_this_tenant(tenant: Api, keys: Keys) -> None:
    other = keys.api(scopes=MINTER)
    token = as_token(other, mint(other, scopes=["events:read"]).json()["token"])
    seen = token.request("GET", "/v1/events").json()["events"]
    assert [e["action"] for e in seen] == ["activitylog.viewer_token.created"]  # its own tenant's only
    for event_id in ("a7-u1", "none-u3"):
        assert token.request("GET", f"/v1/events/{event_id}").status_code == 404
