"""Settings, usage, quota and API keys over HTTP (issue #4), through the real authorizer and handlers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests
from activitylog.dal.control import ControlTable
from activitylog.dal.events import DynamoEventStore
from activitylog.handlers import wiring
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.settings import set_monthly_quota
from activitylog.models.errors import QuotaExceededError
from activitylog.models.settings import TenantLimits, TenantSettings
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys

DEFAULTS = {
    "logging_enabled": True,
    "actions": {"include": ["*"], "exclude": []},
    "metadata_keys": {"include": ["*"], "exclude": []},
    "retention_days": 90,
    "notification_emails": [],
    "report_metadata_keys": [],
}


def events(prefix: str, n: int, action: str = "user.login") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i}", "action": action, "actor": {"id": "u1"}} for i in range(n)]


def set_quota(stack: LocalService, tenant: str, quota: int) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    control = ControlTable(stack.env["ACTIVITYLOG_CONTROL_TABLE"], dynamodb)
    store = DynamoEventStore(stack.env["ACTIVITYLOG_EVENTS_TABLE"], dynamodb)
    set_monthly_quota(control, store, tenant, quota, now=datetime.now(UTC))


def audit_actions(api: Api) -> list[str]:
    page = api.events(action="activitylog.*", limit=200).json()
    return [e["action"] for e in page["events"]]


def test_settings_defaults_and_partial_updates(keys: Keys) -> None:
    api = keys.api()
    assert api.request("GET", "/v1/settings").json() == DEFAULTS
    first = api.request("PUT", "/v1/settings", json={"retention_days": 30})
    assert first.status_code == 200 and first.json() == {**DEFAULTS, "retention_days": 30}
    second = api.request("PUT", "/v1/settings", json={"actions": {"include": ["user.*"]}}).json()
    assert second["retention_days"] == 30 and second["actions"] == {"include": ["user.*"], "exclude": []}
    assert api.request("GET", "/v1/settings").json() == second
    assert audit_actions(api) == ["activitylog.settings.updated"] * 2


@pytest.mark.parametrize(
    "body",
    [
        {"retention_days": 0},
        {"retention_days": 3651},
        {"logging_enabled": True, "unknown": 1},
        {"actions": {"include": ["Not.Valid"]}},
        {"metadata_keys": {"include": ["a*b"]}},
        {"notification_emails": ["x@example.com\r\nBcc: y@example.com"]},
        {"report_metadata_keys": [f"k{i}" for i in range(11)]},
        {"report_metadata_keys": ["a" * 41]},
        {"report_metadata_keys": ["tab\there"]},
        {"monthly_quota": 10},
        [],
    ],
)
def test_invalid_settings_are_422(keys: Keys, body: Any) -> None:
    api = keys.api()
    answer = api.request("PUT", "/v1/settings", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "validation_error"
    assert api.request("GET", "/v1/settings").json() == DEFAULTS


def test_settings_need_logging_manage_to_change(keys: Keys) -> None:
    reader = keys.api(scopes=["events:read"])
    assert reader.request("GET", "/v1/settings").status_code == 200
    answer = reader.request("PUT", "/v1/settings", json={"retention_days": 7})
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"


def test_ingestion_sees_a_change_within_the_cache_time(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    api = keys.api()
    assert api.post_events(events("a", 1)).json()["accepted"] == 1  # settings now cached
    api.request("PUT", "/v1/settings", json={"logging_enabled": False})
    later = time.monotonic() + wiring.SETTINGS_CACHE_SECONDS + 1
    monkeypatch.setattr(wiring.container().settings_cache, "clock", lambda: later)
    answer = api.post_events(events("b", 1)).json()
    assert answer["results"][0] == {"index": 0, "id": "b0", "status": "skipped", "reason": "logging_disabled"}
    # The service's own events are recorded whatever the settings say.
    assert "activitylog.settings.updated" in audit_actions(api)


def test_metadata_selection_and_new_retention(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    api = keys.api()
    api.request("PUT", "/v1/settings", json={"metadata_keys": {"exclude": ["secret"]}, "retention_days": 7})
    monkeypatch.setattr(wiring.container().settings_cache, "clock", lambda: time.monotonic() + 3600)
    body = [
        {"id": "m", "action": "user.login", "actor": {"id": "u"}, "metadata": {"secret": "s", "plan": "p"}}
    ]
    assert api.post_events(body).json()["accepted"] == 1
    stored = api.request("GET", "/v1/events/m").json()
    assert stored["metadata"] == {"plan": "p"}
    received = datetime.fromisoformat(stored["received_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(stored["expires_at"].replace("Z", "+00:00"))
    assert 7 * 86400 <= (expires - received).total_seconds() < 7 * 86400 + 1


def test_usage_counts_accepted_events_only(keys: Keys) -> None:
    api = keys.api()
    api.post_events(events("e", 3))
    api.post_events(events("e", 2))  # re-sent: accepted again, counted once
    api.request("PUT", "/v1/settings", json={"retention_days": 60})  # an audit event: not counted
    usage = api.request("GET", "/v1/usage").json()
    assert usage == {
        "month": datetime.now(UTC).strftime("%Y-%m"),
        "events_accepted": 3,
        "monthly_quota": 1000000,
    }


def test_quota_refuses_a_whole_batch_with_retry_after(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    set_quota(local_stack, api.tenant, 5)
    assert api.post_events(events("q", 4)).json()["accepted"] == 4
    refused = api.post_events(events("r", 2))
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "quota_exceeded"
    assert 0 < int(refused.headers["Retry-After"]) <= 31 * 86400
    assert api.request("GET", "/v1/events/count", params={"action": "user.login"}).json()["count"] == 4
    assert api.post_events(events("q", 4)).json()["accepted"] == 4  # re-sent ids never count
    assert api.post_events(events("r", 1)).json()["accepted"] == 1
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == 5
    assert "activitylog.quota.updated" in audit_actions(api)


def test_concurrent_ingestion_never_passes_the_quota(keys: Keys, local_stack: LocalService) -> None:
    """Threads run the ingestion logic side by side (the local gateway, like one Lambda container,
    serves one request per function at a time), each with its own clients, against the emulation."""
    api = keys.api()
    set_quota(local_stack, api.tenant, 50)
    endpoint = local_stack.env["AWS_ENDPOINT_URL"]
    settings = TenantSettings(limits=TenantLimits(monthly_quota=50))

    def send(n: int) -> int:
        dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=endpoint)
        control = ControlTable(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], dynamodb)
        store = DynamoEventStore(local_stack.env["ACTIVITYLOG_EVENTS_TABLE"], dynamodb)
        ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
        try:
            answer = ingest(
                events(f"c{n}-", 7), tenant=api.tenant, now=datetime.now(UTC), settings=settings, ports=ports
            )
        except QuotaExceededError:
            return 0
        return answer.accepted

    with ThreadPoolExecutor(max_workers=12) as pool:
        accepted = sum(pool.map(send, range(12)))  # 84 events offered at once
    stored = api.request("GET", "/v1/events/count", params={"action": "user.login"}).json()["count"]
    usage = api.request("GET", "/v1/usage").json()["events_accepted"]
    assert accepted == stored == usage == 49  # 7 batches of 7 fit, an eighth would pass 50


def test_quota_over_http_answers_429_under_load(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    set_quota(local_stack, api.tenant, 20)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda n: api.post_events(events(f"h{n}-", 3)), range(10)))
    assert sorted({a.status_code for a in answers}) == [200, 429]
    assert sum(a.json()["accepted"] for a in answers if a.status_code == 200) == 18
    assert api.request("GET", "/v1/events/count", params={"action": "user.login"}).json()["count"] == 18


def test_api_key_lifecycle(keys: Keys) -> None:
    admin = keys.api()
    created = admin.request("POST", "/v1/api-keys", json={"name": "ci", "scopes": ["events:read"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "key", "name", "scopes", "actor_id", "created_at"}
    new = Api(admin.url, body["key"], admin.tenant)
    assert new.events().status_code == 200
    listed = admin.request("GET", "/v1/api-keys").json()
    mine = next(k for k in listed["api_keys"] if k["id"] == body["id"])
    assert mine["prefix"] == body["key"][:12] and mine["scopes"] == ["events:read"]
    assert mine["last_used_at"] is not None
    assert body["key"] not in str(listed)
    assert admin.request("DELETE", f"/v1/api-keys/{body['id']}").status_code == 204
    assert new.events().status_code == 401
    assert admin.request("DELETE", f"/v1/api-keys/{body['id']}").status_code == 404
    assert "activitylog.api_key.revoked" in audit_actions(admin)
    assert "activitylog.api_key.created" in audit_actions(admin)


def test_api_keys_are_per_tenant_and_never_escalate(keys: Keys) -> None:
    a, b = keys.api(), keys.api()
    other = b.request("POST", "/v1/api-keys", json={"name": "b", "scopes": ["events:read"]}).json()
    assert a.request("DELETE", f"/v1/api-keys/{other['id']}").status_code == 404
    assert other["id"] not in str(a.request("GET", "/v1/api-keys").json())
    limited = keys.api(scopes=["keys:manage", "events:read"])
    escalate = limited.request("POST", "/v1/api-keys", json={"name": "x", "scopes": ["events:write"]})
    assert escalate.status_code == 403 and escalate.json()["error"]["details"] == ["events:write"]
    unknown = limited.request("POST", "/v1/api-keys", json={"name": "x", "scopes": ["events:delete"]})
    assert unknown.status_code == 422
    actor_write = a.request(
        "POST", "/v1/api-keys", json={"name": "x", "scopes": ["events:write"], "actor_id": "u"}
    )
    assert actor_write.status_code == 422
    actor = a.request("POST", "/v1/api-keys", json={"name": "x", "scopes": ["events:read"], "actor_id": "u"})
    assert actor.status_code == 201 and actor.json()["scopes"] == ["events:read:self"]
    no_manage = keys.api(scopes=["events:read"])
    assert no_manage.request("GET", "/v1/api-keys").status_code == 403


def test_a_key_cannot_revoke_a_key_with_more_power_than_it_holds(keys: Keys) -> None:
    # Given a tenant's full admin key and a narrower admin key of the same tenant
    full = keys.api()
    narrow = keys.api(tenant=full.tenant, scopes=["keys:manage", "events:read"])
    strong = full.request("POST", "/v1/api-keys", json={"name": "ingest", "scopes": ["events:write"]}).json()
    reader = full.request(
        "POST", "/v1/api-keys", json={"name": "self", "scopes": ["events:read"], "actor_id": "u"}
    )
    # When the narrow key tries to revoke the key holding events:write / Then 403, and it still works
    refused = narrow.request("DELETE", f"/v1/api-keys/{strong['id']}")
    assert refused.status_code == 403 and refused.json()["error"]["details"] == ["events:write"]
    assert Api(full.url, strong["key"], full.tenant).post_events([]).status_code != 401
    # But it may revoke a key within its own power (events:read covers events:read:self)
    assert narrow.request("DELETE", f"/v1/api-keys/{reader.json()['id']}").status_code == 204
    assert full.request("DELETE", f"/v1/api-keys/{strong['id']}").status_code == 204


def test_pagination_of_keys(keys: Keys) -> None:
    admin = keys.api()
    for i in range(4):
        admin.request("POST", "/v1/api-keys", json={"name": f"k{i}", "scopes": ["events:read"]})
    seen, cursor = [], None
    while True:
        page = admin.request(
            "GET", "/v1/api-keys", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += [k["name"] for k in page.json()["api_keys"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ["test", "k0", "k1", "k2", "k3"]
    assert keys.api().request("GET", "/v1/api-keys", params={"cursor": cursor or "x"}).status_code == 400


def test_quota_warnings_are_emailed_once_per_threshold(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    admin = f"quota-{api.tenant}@example.com"
    api.request("PUT", "/v1/settings", json={"notification_emails": [admin]})
    set_quota(local_stack, api.tenant, 10)
    for batch in range(6):
        api.post_events(events(f"w{batch}-", 2))  # 2, 4, ..., 10 accepted, then refused
    mail = requests.get(f"{local_stack.env['ACTIVITYLOG_API_URL']}/_local/mail", timeout=10).json()
    mine = [m for m in mail if admin in m["to"]]
    assert len(mine) == 2, mine
    assert "reached its monthly quota" in mine[0]["subject"]  # newest first
    assert "passed 80% of its monthly quota" in mine[1]["subject"]
    assert "10 events" in mine[0]["text"] and "quota_exceeded" in mine[0]["text"]
