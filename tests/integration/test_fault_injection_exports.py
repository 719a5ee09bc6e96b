"""A failure in each export step (on the CDK-synthesized workflow running on moto): the run ends
`failed` (or succeeds after a retry), never stays `running`, and no partial file is downloadable."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from activitylog.models.errors import StorageUnavailableError
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, download, local_stack_client, seed, wait_for_run

STEPS = {
    "plan": "activitylog.handlers.export_plan.plan",
    "slice": "activitylog.handlers.export_slice.write_slice",
    "assemble": "activitylog.handlers.export_assemble.assemble_run",
}


@pytest.fixture(scope="module")
def seeded(local_stack: LocalService) -> Api:
    api = Keys(local_stack).api()
    seed(
        api, 60, start=(datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0), step=timedelta(hours=1)
    )
    return api


def objects(stack: LocalService, tenant: str, export_id: str) -> list[str]:
    s3 = local_stack_client(stack, "s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "exportsbucket" in b["Name"])
    keys: list[str] = []
    for prefix in (f"exports/{tenant}/{export_id}/", f"tmp/{tenant}/{export_id}/"):
        keys += [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return keys


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_failing_step_fails_the_run_and_leaves_nothing_downloadable(
    seeded: Api, local_stack: LocalService, step: str
) -> None:
    # Given a step that raises
    with mock.patch(STEPS[step], side_effect=RuntimeError(f"injected {step} failure")):
        created = create(seeded, name=f"fails in {step}")
        run = wait_for_run(seeded, created["export"]["id"], created["run"]["id"])
    # Then the run is failed with the reason, and there is no file and no temporary left
    export_id = created["export"]["id"]
    assert run["status"] == "failed" and f"injected {step} failure" in run["error"], run
    assert run["download_url"] is None and run["finished_at"] is not None
    answer = seeded.request("GET", f"/v1/exports/{export_id}/runs/{run['id']}/download")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
    assert objects(local_stack, seeded.tenant, export_id) == []
    # And the export still works once the fault is gone
    again = seeded.request("POST", f"/v1/exports/{export_id}/runs")
    assert again.status_code == 202
    assert wait_for_run(seeded, export_id, again.json()["id"])["status"] == "succeeded"


def test_a_throttled_slice_is_retried_and_the_run_succeeds(seeded: Api) -> None:
    from activitylog.handlers import export_slice

    real = export_slice.write_slice
    calls: list[int] = []

    def throttled_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise StorageUnavailableError("injected throttling")
        return real(*args, **kwargs)

    with mock.patch("activitylog.handlers.export_slice.write_slice", side_effect=throttled_once):
        created = create(seeded, name="retried", format="jsonl")
        run = wait_for_run(seeded, created["export"]["id"], created["run"]["id"], timeout=60)
    assert run["status"] == "succeeded", run
    lines = download(seeded, run).splitlines()
    assert len(lines) == run["row_count"] >= 60
    assert len(calls) >= 2  # the first attempt failed and was retried by the state machine


def test_a_failing_success_email_leaves_the_run_succeeded_and_downloadable(seeded: Api) -> None:
    with mock.patch("activitylog.handlers.export_notify.notify", side_effect=RuntimeError("SES down")):
        created = create(seeded, name="mail fails", recipients=["nobody@example.com"])
        run = wait_for_run(seeded, created["export"]["id"], created["run"]["id"])
    assert run["status"] == "succeeded", run
    content = download(seeded, run)
    assert len(content) == run["bytes"] > 0


def test_deleting_an_export_while_a_slice_writes_leaves_no_file_behind(
    seeded: Api, local_stack: LocalService
) -> None:
    # Given an export whose first slice completes its temporary object just after the export is
    # deleted (DELETE removes the files it finds; this object is written after it looked)
    from activitylog.dal.export_files import S3MultipartSink

    real_complete = S3MultipartSink.complete
    state: dict[str, Any] = {}

    def complete_after_the_delete(sink: S3MultipartSink, parts: list[tuple[int, str]]) -> None:
        if sink.key.startswith("tmp/") and "deleted" not in state:
            state["deleted"] = seeded.request("DELETE", f"/v1/exports/{state['export_id']}").status_code
        real_complete(sink, parts)
        state.setdefault("written", sink.key)

    with mock.patch.object(S3MultipartSink, "complete", complete_after_the_delete):
        answer = seeded.request(
            "POST", "/v1/exports", json={"name": "deleted midway", "format": "csv", "run_now": False}
        )
        state["export_id"] = export_id = answer.json()["export"]["id"]
        assert seeded.request("POST", f"/v1/exports/{export_id}/runs").status_code == 202
        deadline = time.monotonic() + 60
        while "written" not in state and time.monotonic() < deadline:
            time.sleep(0.2)
    assert state.get("deleted") == 204 and state["written"].startswith(f"tmp/{seeded.tenant}/{export_id}/")
    # Then once the run's execution has ended (its Fail step), nothing of the export is in S3
    deadline = time.monotonic() + 60
    while objects(local_stack, seeded.tenant, export_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert objects(local_stack, seeded.tenant, export_id) == []
