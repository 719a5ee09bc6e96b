"""POST /v1/exports with run_now false starts nothing (201, run null); runs are listed newest first
by creation, also when a run's id sorts otherwise (a scheduled run's id encodes its scheduled time)
(issue 13, items 12 and 14)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from activitylog.dal.exports import DynamoExportStore
from activitylog.models.exports import RunRecord
from activitylog_ops.local.service import LocalService
from ulid import ULID

from tests.integration.conftest import Keys


def test_run_now_false_creates_the_export_only(keys: Keys) -> None:
    api = keys.api()
    answer = api.request(
        "POST", "/v1/exports", json={"name": "for a schedule", "format": "csv", "run_now": False}
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["run"] is None and body["export"]["name"] == "for a schedule"
    runs = api.request("GET", f"/v1/exports/{body['export']['id']}/runs").json()
    assert runs == {"runs": [], "next_cursor": None}
    default = api.request("POST", "/v1/exports", json={"name": "now", "format": "csv"})
    assert default.status_code == 202 and default.json()["run"]["status"] == "queued"


def test_runs_are_listed_newest_first_by_creation(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    export = api.request(
        "POST", "/v1/exports", json={"name": "ordered", "format": "csv", "run_now": False}
    ).json()
    export_id = export["export"]["id"]
    started = api.request("POST", f"/v1/exports/{export_id}/runs").json()
    # A run created after it whose id sorts before it (as a scheduled run's id for an earlier time)
    created = datetime.now(UTC) + timedelta(seconds=5)
    late = RunRecord(
        id=str(ULID.from_datetime(created - timedelta(days=1))),
        export_id=export_id,
        status="failed",
        created_at=created,
    )
    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    DynamoExportStore(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], dynamodb).put_run(api.tenant, late)
    assert late.id < started["id"]

    listed = api.request("GET", f"/v1/exports/{export_id}/runs").json()
    assert [r["id"] for r in listed["runs"]] == [late.id, started["id"]]
    # and page by page, in the same order
    first = api.request("GET", f"/v1/exports/{export_id}/runs", params={"limit": 1}).json()
    assert [r["id"] for r in first["runs"]] == [late.id] and first["next_cursor"]
    second = api.request(
        "GET", f"/v1/exports/{export_id}/runs", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert [r["id"] for r in second["runs"]] == [started["id"]] and second["next_cursor"] is None
