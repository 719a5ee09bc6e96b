"""Scheduled exports over HTTP: the schedule API, the emulated EventBridge Scheduler, local firing.

moto stores schedules but never fires them; `POST /_local/schedules/{export id}/fire?at=...` on the
local gateway does what Scheduler does at a firing (same target, same Input, same Fire handler).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, download, wait_for_run

SCHEDULE = {"expression": "cron(0 6 * * ? *)", "timezone": "Europe/Oslo", "window": "P1D", "settle": "PT0S"}


def put(api: Api, export_id: str, **body: Any) -> requests.Response:
    return api.request("PUT", f"/v1/exports/{export_id}/schedule", json={**SCHEDULE, **body})


def fire(stack: LocalService, export_id: str, at: datetime) -> dict[str, Any]:
    answer = requests.post(
        stack.env["ACTIVITYLOG_API_URL"] + f"/_local/schedules/{export_id}/fire",
        params={"at": at.strftime("%Y-%m-%dT%H:%M:%SZ")},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    fired: dict[str, Any] = answer.json()
    return fired


def scheduler(stack: LocalService) -> Any:
    return boto3.client("scheduler", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")


def emulated_schedules(stack: LocalService, export_id: str) -> list[dict[str, Any]]:
    client = scheduler(stack)
    found = []
    for group in client.list_schedule_groups()["ScheduleGroups"]:
        for summary in client.list_schedules(GroupName=group["Name"])["Schedules"]:
            if summary["Name"].startswith(export_id):
                found.append(client.get_schedule(GroupName=group["Name"], Name=summary["Name"]))
    return found


def runs(api: Api, export_id: str) -> list[dict[str, Any]]:
    answer = api.request("GET", f"/v1/exports/{export_id}/runs")
    assert answer.status_code == 200, answer.text
    listed: list[dict[str, Any]] = answer.json()["runs"]
    return listed


@pytest.fixture
def export(keys: Keys) -> tuple[Api, str]:
    api = keys.api()
    created = create(api, filters={"actions": ["user.login"]})
    wait_for_run(api, created["export"]["id"], created["run"]["id"])  # the first, immediate run
    return api, created["export"]["id"]


def test_put_get_delete_schedule_and_the_emulated_scheduler_follows(
    export: tuple[Api, str], local_stack: LocalService
) -> None:
    api, export_id = export
    # When a schedule is PUT
    answer = put(api, export_id, settle="PT15M")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {k: body[k] for k in SCHEDULE} == {**SCHEDULE, "settle": "PT15M"}
    assert body["enabled"] is True and body["export_id"] == export_id
    # Then GET answers the same, and Scheduler holds an ENABLED schedule targeting the Fire function
    assert api.request("GET", f"/v1/exports/{export_id}/schedule").json() == body
    (stored,) = emulated_schedules(local_stack, export_id)
    assert stored["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert stored["ScheduleExpressionTimezone"] == "Europe/Oslo"
    assert stored["State"] == "ENABLED"
    target = stored["Target"]
    assert "ExportFire" in target["Arn"] and target["DeadLetterConfig"]["Arn"].startswith("arn:aws:sqs:")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert json.loads(target["Input"]) == {
        "tenant": api.tenant,
        "export_id": export_id,
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    # When it is replaced (pause) / Then both sides follow, created_at is kept
    paused = put(api, export_id, enabled=False, expression="rate(1 hour)", window="PT1H").json()
    assert paused["enabled"] is False and paused["created_at"] == body["created_at"]
    (stored,) = emulated_schedules(local_stack, export_id)
    assert (stored["State"], stored["ScheduleExpression"]) == ("DISABLED", "rate(1 hour)")
    # When it is deleted / Then it is gone from both, and a second DELETE is 404
    assert api.request("DELETE", f"/v1/exports/{export_id}/schedule").status_code == 204
    assert emulated_schedules(local_stack, export_id) == []
    assert api.request("GET", f"/v1/exports/{export_id}/schedule").status_code == 404
    assert api.request("DELETE", f"/v1/exports/{export_id}/schedule").status_code == 404
    # And the changes are in the tenant's audit trail
    audited = api.events(action="activitylog.export.*", order="asc", limit=200).json()["events"]
    actions = [
        e["action"] for e in audited if {"type": "export", "id": export_id, "name": None} in e["targets"]
    ]
    assert actions.count("activitylog.export.schedule_updated") == 2
    assert actions.count("activitylog.export.schedule_deleted") == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expression": "cron(0 6 * * *)"}, "expression"),
        ({"expression": "cron(0 6 * * * *)"}, "expression"),
        ({"expression": "rate(1 hours)"}, "expression"),
        ({"expression": "rate(30 seconds)"}, "expression"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"window": "PT30M"}, "window"),
        ({"window": "P93D"}, "window"),
        ({"window": "P1M"}, "window"),
        ({"settle": "PT7H"}, "settle"),
        ({"enabled": "maybe"}, "enabled"),
        ({"tenant": "someone-else"}, "tenant"),
    ],
)
def test_invalid_schedules_are_422_with_the_error_envelope(
    export: tuple[Api, str], local_stack: LocalService, change: dict[str, Any], field: str
) -> None:
    api, export_id = export
    answer = put(api, export_id, **change)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert any(field in d["loc"] for d in error["details"]), error
    assert emulated_schedules(local_stack, export_id) == []  # nothing reached Scheduler


def test_a_fired_schedule_runs_the_window_ending_at_the_scheduled_time(
    keys: Keys, local_stack: LocalService
) -> None:
    # Given logins every 30 minutes over the last three days
    api = keys.api()
    now = datetime.now(UTC).replace(microsecond=0)
    at = now.replace(minute=0, second=0) - timedelta(hours=2)
    events = [
        {
            "id": f"e{n:03d}",
            "action": "user.login",
            "actor": {"id": "u1"},
            "occurred_at": (now - n * timedelta(minutes=30)).isoformat(),
        }
        for n in range(144)
    ]
    for first in range(0, len(events), 100):
        posted = api.post_events(events[first : first + 100])
        assert posted.status_code == 200 and posted.json()["accepted"] == len(events[first : first + 100]), (
            posted.text[:600]
        )
    created = create(api, filters={"actions": ["user.login"]})
    export_id = created["export"]["id"]
    wait_for_run(api, export_id, created["run"]["id"])
    assert put(api, export_id, timezone="America/New_York").status_code == 200
    # When Scheduler fires for a time two hours ago (a late delivery)
    fired = fire(local_stack, export_id, at)
    assert fired["fired"] is True and fired["result"]["outcome"] == "started"
    run = wait_for_run(api, export_id, fired["result"]["run_id"])
    # Then the run succeeded with exactly the events of [at - 1 calendar day, at)
    assert run["status"] == "succeeded", run
    expected = sorted(
        e["id"] for e in events if at - timedelta(days=1) <= datetime.fromisoformat(e["occurred_at"]) < at
    )
    rows = list(csv.reader(io.StringIO(download(api, run).decode("utf-8-sig"), newline="")))
    assert sorted(r[0] for r in rows[1:]) == expected and len(expected) == 48
    assert run["row_count"] == 48


def test_a_duplicate_firing_starts_one_run(export: tuple[Api, str], local_stack: LocalService) -> None:
    api, export_id = export
    assert put(api, export_id).status_code == 200
    at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = fire(local_stack, export_id, at)
    second = fire(local_stack, export_id, at)
    assert first["result"]["outcome"] == "started"
    assert second["result"] == {**first["result"], "outcome": "duplicate"}
    wait_for_run(api, export_id, first["result"]["run_id"])
    assert [r["id"] for r in runs(api, export_id)].count(first["result"]["run_id"]) == 1
    assert len(runs(api, export_id)) == 2  # the immediate run and one scheduled run


def test_a_paused_schedule_starts_nothing(export: tuple[Api, str], local_stack: LocalService) -> None:
    api, export_id = export
    assert put(api, export_id, enabled=False).status_code == 200
    fired = fire(local_stack, export_id, datetime.now(UTC).replace(second=0, microsecond=0))
    assert fired["fired"] is False
    assert len(runs(api, export_id)) == 1  # only the immediate run of the export's creation


def test_deleting_the_export_removes_its_schedule(export: tuple[Api, str], local_stack: LocalService) -> None:
    api, export_id = export
    assert put(api, export_id).status_code == 200
    assert len(emulated_schedules(local_stack, export_id)) == 1
    assert api.request("DELETE", f"/v1/exports/{export_id}").status_code == 204
    assert emulated_schedules(local_stack, export_id) == []


def test_another_tenants_schedule_is_404(
    export: tuple[Api, str], keys: Keys, local_stack: LocalService
) -> None:
    api, export_id = export
    assert put(api, export_id).status_code == 200
    intruder = keys.api()
    for method in ("GET", "DELETE"):
        assert intruder.request(method, f"/v1/exports/{export_id}/schedule").status_code == 404
    assert intruder.request("PUT", f"/v1/exports/{export_id}/schedule", json=SCHEDULE).status_code == 404
    # And the owner's schedule is untouched
    (stored,) = emulated_schedules(local_stack, export_id)
    assert stored["State"] == "ENABLED" and stored["ScheduleExpression"] == SCHEDULE["expression"]


def test_the_schedule_routes_need_exports_manage(export: tuple[Api, str], keys: Keys) -> None:
    _, export_id = export
    reader = keys.api(scopes=["events:read"])
    assert reader.request("GET", f"/v1/exports/{export_id}/schedule").status_code == 403


def test_a_run_waits_for_its_settle_time_before_reading(
    export: tuple[Api, str], local_stack: LocalService
) -> None:
    # Given a schedule that lets late events settle for 4 seconds
    api, export_id = export
    assert put(api, export_id, settle="PT4S", window="PT1H").status_code == 200
    at = datetime.now(UTC).replace(microsecond=0)
    # When it fires now / Then the workflow waits (Settle state) before the run is read and finished
    fired = fire(local_stack, export_id, at)
    run = wait_for_run(api, export_id, fired["result"]["run_id"])
    assert run["status"] == "succeeded", run
    # (moto truncates a Wait to whole seconds: allow one second less than the settle time)
    assert datetime.fromisoformat(run["finished_at"]) >= at + timedelta(seconds=3)
