"""Reports end to end in local mode (issue 17; docs/reports.md): answers over HTTP equal
GET /v1/events/count, from the events before any rollup exists and from the rollups the worker
computed (on moto) after; restricted credentials get their slice; tenants see only their own."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from activitylog.logic import clock
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys

NOW = datetime.now(UTC).replace(microsecond=0)
PAST = (NOW - timedelta(days=3)).replace(minute=0, second=0)  # an hour boundary, long sealed


@pytest.fixture
def api(local_stack: LocalService) -> Api:
    return Keys(local_stack).api(unthrottled=True)


def backfill(api: Api, hours: int = 30) -> list[dict[str, Any]]:
    sent = []
    for h in range(hours):
        for k in range(3):
            n = h * 3 + k
            sent.append(
                {
                    "id": f"r-{uuid.uuid4().hex[:10]}",
                    "action": ["user.login", "asset.downloaded", "search"][n % 3],
                    "occurred_at": (PAST + timedelta(hours=h, minutes=7 + 17 * k)).isoformat(),
                    "actor": {"id": f"user-{n % 4}", "name": f"User {n % 4}"},
                    "targets": [{"type": "asset", "id": str(n % 5), "name": f"Asset {n % 5}"}],
                    "context": {"ip": f"203.0.113.{n % 6}"},
                    "outcome": "failure" if n % 7 == 0 else "success",
                    "metadata": {"query": ["cats", "dogs", "birds"][n % 3]},
                }
            )
    for i in range(0, len(sent), 100):
        answer = api.post_events(sent[i : i + 100])
        assert answer.status_code == 200 and answer.json()["accepted"] == len(sent[i : i + 100]), answer.text
    return sent


def report(api: Api, path: str = "activity", **params: Any) -> dict[str, Any]:
    answer = api.request("GET", f"/v1/reports/{path}", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["complete"] and "retry_after_seconds" not in body, body
    return body


def count(api: Api, **params: Any) -> int:
    answer = api.request("GET", "/v1/events/count", params=params)
    assert answer.status_code == 200 and answer.json()["complete"], answer.text
    found: int = answer.json()["count"]
    return found


def rollups_stored(stack: LocalService, tenant: str) -> int:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    items = dynamodb.query(
        TableName=stack.env["ACTIVITYLOG_CONTROL_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}#RU#-#n"}},
    )["Items"]
    return len(items)


def tamper(stack: LocalService, tenant: str, hour: datetime, total: int) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    dynamodb.update_item(
        TableName=stack.env["ACTIVITYLOG_CONTROL_TABLE"],
        Key={"pk": {"S": f"TENANT#{tenant}#RU#-#n"}, "sk": {"S": hour.strftime("%Y-%m-%dT%H:%M:%S.000Z")}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": str(total)}},
    )


def test_reports_equal_the_count_from_events_then_from_rollups(
    api: Api, local_stack: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.request("PUT", "/v1/settings", json={"report_metadata_keys": ["query"]}).status_code == 200
    backfill(api)
    window = {"from": PAST.isoformat(), "to": (PAST + timedelta(hours=30)).isoformat()}
    questions: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("activity", {}, {}),
        ("activity", {"group_by": "actor", "tz": "Europe/Paris"}, {}),
        ("activity", {"group_by": "action", "interval": "hour"}, {"action": "user.*"}),
        ("activity", {"group_by": "target", "tz": "Asia/Kolkata"}, {}),
        ("activity", {"group_by": "metadata.query"}, {}),
        ("activity", {"group_by": "ip", "interval": "week"}, {"outcome": "failure", "q": "user-1"}),
        ("heatmap", {"tz": "America/New_York"}, {}),
    ]
    before = []
    for path, params, filters in questions:
        body = report(api, path, **window, **params, **filters)
        assert body["total"] == count(api, **window, **filters)
        before.append(body)
    by_actor = before[1]
    assert [t["key"] for t in by_actor["top"]] == ["user-0", "user-1", "user-2", "user-3"]
    assert by_actor["top"][0]["label"] == "User 0" and by_actor["distinct"] == 4
    assert sum(e["count"] for e in by_actor["series"]) == by_actor["total"] == 90
    assert before[3]["top"][0]["target"]["type"] == "asset" and before[3]["top"][0]["key"].startswith(
        "asset:"
    )
    assert {t["key"] for t in before[4]["top"]} == {"cats", "dogs", "birds"}
    assert sum(map(sum, before[6]["cells"])) == 90

    # The backfill's hours are computed 15 minutes after it (the router's late messages, delayed
    # on the functions' clock in local mode): move the clock past that and let the pipeline drain.
    assert rollups_stored(local_stack, api.tenant) == 0
    later = datetime.now(UTC) + timedelta(minutes=16)
    monkeypatch.setattr(clock, "now", lambda: later)
    local_stack.drain_streaming(timeout=120)
    assert rollups_stored(local_stack, api.tenant) == 30
    after = [report(api, path, **window, **params, **filters) for path, params, filters in questions]
    assert after == before  # from the rollups now, the same answers

    # They are answered from the rollups: a changed rollup total shows (then it is put back).
    tamper(local_stack, api.tenant, PAST + timedelta(hours=2), 1000)
    assert report(api, **window)["total"] == 90 - 3 + 1000
    tamper(local_stack, api.tenant, PAST + timedelta(hours=2), 3)
    assert report(api, **window)["total"] == 90


def test_restricted_credentials_and_other_tenants(api: Api, keys: Keys, local_stack: LocalService) -> None:
    backfill(api, hours=6)
    window = {"from": PAST.isoformat(), "to": (PAST + timedelta(hours=6)).isoformat()}
    mine = keys.api(api.tenant, scopes=["events:read:self"], actor_id="user-1")
    body = report(mine, **window, group_by="actor")
    assert [t["key"] for t in body["top"]] == ["user-1"] and body["total"] == count(mine, **window) > 0
    minted = api.request(
        "POST", "/v1/viewer-tokens", json={"scopes": ["events:read"], "target": {"type": "asset", "id": "2"}}
    )
    assert minted.status_code == 201, minted.text
    token = Api(api.url, minted.json()["token"], api.tenant)
    body = report(token, **window, group_by="target")
    assert [t["key"] for t in body["top"]] == ["asset:2"] and body["total"] == count(token, **window) > 0
    stranger = keys.api(scopes=["events:read"])
    assert report(stranger, **window)["total"] == 0
    writer = keys.api(api.tenant, scopes=["events:write"])
    assert writer.request("GET", "/v1/reports/activity").status_code == 403
    for bad in ({"tz": "Mars/Olympus"}, {"interval": "month"}, {"group_by": "colour"}, {"top": 0}):
        answer = api.request("GET", "/v1/reports/activity", params=bad)
        assert answer.status_code in (400, 422) and answer.json()["error"]["code"] in (
            "bad_request",
            "validation_error",
        )
