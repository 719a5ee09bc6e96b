"""Exports: tenant isolation, download tokens, validation, and the watchdog (handler called directly)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, mails_to, wait_for_run


@pytest.fixture(scope="module")
def finished(local_stack: LocalService) -> tuple[Api, dict[str, Any], str]:
    api = Keys(local_stack).api()
    api.post_events([{"action": "user.login", "actor": {"id": "u1"}}])
    recipient = f"iso-{api.tenant}@example.com"
    created = create(api, recipients=[recipient])
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"])
    assert run["status"] == "succeeded"
    (mail,) = mails_to(local_stack, recipient)
    link = next(w for w in mail["text"].split() if "/v1/downloads/" in w)
    return api, run, link


def test_another_tenant_cannot_see_exports_runs_or_files(
    finished: tuple[Api, dict[str, Any], str], keys: Keys
) -> None:
    owner, run, _ = finished
    other = keys.api()
    export_id, run_id = run["export_id"], run["id"]
    for method, path in [
        ("GET", f"/v1/exports/{export_id}"),
        ("DELETE", f"/v1/exports/{export_id}"),
        ("POST", f"/v1/exports/{export_id}/runs"),
        ("GET", f"/v1/exports/{export_id}/runs"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}/download"),
    ]:
        answer = other.request(method, path, allow_redirects=False)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"
    assert other.request("GET", "/v1/exports").json() == {"exports": [], "next_cursor": None}
    assert owner.request("GET", f"/v1/exports/{export_id}").status_code == 200


def test_tampered_tokens_are_not_found_and_the_real_one_redirects(
    finished: tuple[Api, dict[str, Any], str],
) -> None:
    _, _, link = finished
    assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
    body, signature = link.rsplit("/", 1)[1].split(".")
    base = link.rsplit("/", 1)[0]
    flipped = "A" if body[5] != "A" else "B"
    for token in (f"{body[:5]}{flipped}{body[6:]}.{signature}", f"{body}.{signature[:-3]}", "nonsense", body):
        answer = requests.get(f"{base}/{token}", allow_redirects=False, timeout=10)
        assert answer.status_code == 404, token
        assert answer.json()["error"]["code"] == "not_found"


def test_tokens_expire_with_the_file(finished: tuple[Api, dict[str, Any], str]) -> None:
    from datetime import UTC, datetime, timedelta
    from unittest import mock

    _, _, link = finished
    with mock.patch(
        "activitylog.logic.clock.now", return_value=datetime.now(UTC) + timedelta(days=7, hours=1)
    ):
        answer = requests.get(link, allow_redirects=False, timeout=10)
    assert answer.status_code == 410 and answer.json()["error"]["code"] == "gone"


def test_export_requests_are_validated(keys: Keys) -> None:
    api = keys.api()
    bad = [
        {"name": "", "format": "csv"},
        {"name": "x", "format": "xlsx"},
        {"name": "x", "format": "csv", "recipients": ["a@example.com\r\nBcc: evil@example.com"]},
        {"name": "x", "format": "csv", "recipients": ["not-an-address"]},
        {"name": "x", "format": "csv", "recipients": [f"u{n}@example.com" for n in range(51)]},
        {"name": "x", "format": "csv", "filters": {"target_id": "7"}},
        {
            "name": "x",
            "format": "csv",
            "filters": {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        },
        {"name": "x", "format": "csv", "filters": {"actions": ["Bad Action"]}},
        {"name": "x\nBcc: y", "format": "csv"},
    ]
    for body in bad:
        answer = api.request("POST", "/v1/exports", json=body)
        assert answer.status_code == 422, (body, answer.text)
    no_scope = keys.api(scopes=["events:read"])
    assert no_scope.request("GET", "/v1/exports").status_code == 403


def test_watchdog_fails_a_run_whose_execution_died(keys: Keys) -> None:
    from activitylog.handlers import export_watchdog, wiring
    from activitylog.models.exports import RunRecord
    from activitylog_ops.local.invoker import LambdaContext

    context = LambdaContext("ExportWatchdog", "arn:aws:lambda:us-east-1:123456789012:function:w", 512, 60)

    api = keys.api()
    created = create(api)
    export_id = created["export"]["id"]
    run = wait_for_run(api, export_id, created["run"]["id"])
    # Given a run left "running" (its execution timed out, which skips every Catch)
    stuck = RunRecord(
        id="01JD0000000000000000000000", export_id=export_id, status="running", created_at=run["created_at"]
    )
    wiring.container().export_store.put_run(api.tenant, stuck)
    event = {
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "detail": {
            "status": "TIMED_OUT",
            "name": stuck.id,
            "input": json.dumps({"tenant": api.tenant, "export_id": export_id, "run_id": stuck.id}),
        },
    }
    # When the watchdog gets the status change (twice: EventBridge delivers at least once)
    first = export_watchdog.handler(event, context)
    second = export_watchdog.handler(event, context)
    # Then the run is failed with a readable reason, once; a finished run is left alone
    assert first["failed"] is True and second["failed"] is False
    failed = api.request("GET", f"/v1/exports/{export_id}/runs/{stuck.id}").json()
    assert failed["status"] == "failed" and "time limit" in failed["error"]
    event["detail"]["input"] = json.dumps({"tenant": api.tenant, "export_id": export_id, "run_id": run["id"]})
    assert export_watchdog.handler(event, context)["failed"] is False
    assert api.request("GET", f"/v1/exports/{export_id}/runs/{run['id']}").json()["status"] == "succeeded"
    assert export_watchdog.handler({"detail": {"status": "FAILED", "input": "{}"}}, context) == {
        "failed": False
    }
