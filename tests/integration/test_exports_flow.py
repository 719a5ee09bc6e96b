"""Export runs end to end over HTTP: the CDK-synthesized workflow on moto's Step Functions engine."""

from __future__ import annotations

import gzip
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys

TERMINAL = {"succeeded", "failed", "expired"}


def wait_for_run(api: Api, export_id: str, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = api.request("GET", f"/v1/exports/{export_id}/runs/{run_id}")
        assert answer.status_code == 200, answer.text
        run: dict[str, Any] = answer.json()
        if run["status"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run still {run['status']} after {timeout} s"
        time.sleep(0.1)


def seed(api: Api, count: int, *, start: datetime, step: timedelta) -> None:
    events = [
        {
            "id": f"e{n:04d}",
            "action": "asset.downloaded" if n % 3 else "user.login",
            "occurred_at": (start + step * n).isoformat(),
            "actor": {"id": f"user-{n % 4}", "name": 'Zoë, "the" admin' if n == 1 else f"User {n}"},
            "targets": [{"type": "asset", "id": str(n % 5), "name": "=cmd|' /C calc'!A0"}],
            "description": "line one\nline two" if n == 2 else None,
        }
        for n in range(count)
    ]
    for first in range(0, len(events), 100):
        answer = api.post_events(events[first : first + 100])
        assert answer.status_code == 200 and answer.json()["accepted"] == len(events[first : first + 100])


def create(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.request("POST", "/v1/exports", json={"name": "Audit Q4", "format": "csv", **body})
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    return created


def download(api: Api, run: dict[str, Any]) -> bytes:
    answer = api.request("GET", run["download_url"].removeprefix(api.url), allow_redirects=False)
    assert answer.status_code == 302, answer.text
    file = requests.get(answer.headers["Location"], timeout=30)  # a plain GET, no credentials
    assert file.status_code == 200
    return file.content


def mails_to(stack: LocalService, address: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The mail to `address`, waiting for the first (Notify runs just after the run is marked)."""
    deadline = time.monotonic() + timeout
    while True:
        listed = requests.get(stack.env["ACTIVITYLOG_API_URL"] + "/_local/mail", timeout=10).json()
        found = [m for m in listed if address in m["to"]]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def seeded(local_stack: LocalService) -> tuple[Api, datetime]:
    api = Keys(local_stack).api()
    start = (datetime.now(UTC) - timedelta(days=5)).replace(microsecond=0)
    seed(api, 150, start=start, step=timedelta(minutes=37))  # ~4 days: several slices
    return api, start


@pytest.mark.parametrize(("fmt", "compression"), [("csv", "none"), ("jsonl", "gzip")])
def test_a_run_exports_exactly_what_the_query_lists(
    seeded: tuple[Api, datetime], local_stack: LocalService, fmt: str, compression: str
) -> None:
    # Given events over several days and an export filtered like a GET /v1/events
    api, start = seeded
    filters = {"actions": ["asset.*"], "from": (start + timedelta(hours=3)).isoformat()}
    recipient = f"auditor-{fmt}@example.com"

    # When the export is created and its first run finishes
    created = create(api, format=fmt, compression=compression, filters=filters, recipients=[recipient])
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"])

    # Then the file holds exactly the listed events, oldest first, with matching row count and hash
    expected = api.all_ids(action="asset.*", order="asc", **{"from": filters["from"]})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == len(expected) > 0
    content = download(api, run)
    assert run["bytes"] == len(content)
    import hashlib

    assert run["sha256"] == hashlib.sha256(content).hexdigest()
    if compression == "gzip":
        content = gzip.decompress(content)
    if fmt == "csv":
        assert content.startswith(b"\xef\xbb\xbfid,occurred_at")
        text = content.decode("utf-8-sig")
        import csv
        import io

        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert [r[0] for r in rows[1:]] == expected
        assert all(r[11].startswith("'=") for r in rows[1:])  # formula neutralised
    else:
        assert [json.loads(line)["id"] for line in content.splitlines()] == expected
    # And the recipient got an email with the figures and a tokenised link
    (mail,) = mails_to(local_stack, recipient)
    assert "Audit Q4" in mail["subject"] and "ready" in mail["subject"]
    assert f"Rows: {len(expected):,}" in mail["text"]
    assert "/v1/downloads/" in mail["text"] and "/v1/downloads/" in mail["html"]
    link = next(w for w in mail["text"].split() if "/v1/downloads/" in w)
    via_link = requests.get(link, allow_redirects=False, timeout=10)
    assert via_link.status_code == 302
    assert requests.get(via_link.headers["Location"], timeout=10).content == download(api, run)


def test_an_empty_result_is_a_file_with_the_header_only(seeded: tuple[Api, datetime]) -> None:
    api, _ = seeded
    created = create(api, filters={"actor_id": "nobody"})
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"])
    assert run["status"] == "succeeded" and run["row_count"] == 0
    assert download(api, run).startswith(b"\xef\xbb\xbfid,")


def test_a_failing_slice_fails_the_run_tells_the_recipients_and_leaves_no_file(
    seeded: tuple[Api, datetime], local_stack: LocalService
) -> None:
    api, _ = seeded
    recipient = "failure@example.com"
    with mock.patch(
        "activitylog.handlers.export_slice.write_slice", side_effect=RuntimeError("disk on fire")
    ):
        created = create(api, recipients=[recipient])
        run = wait_for_run(api, created["export"]["id"], created["run"]["id"])
    assert run["status"] == "failed" and "disk on fire" in run["error"]
    assert run["download_url"] is None
    answer = api.request("GET", f"/v1/exports/{created['export']['id']}/runs/{run['id']}/download")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"
    (mail,) = mails_to(local_stack, recipient)
    assert "failed" in mail["subject"] and "disk on fire" in mail["text"]
    s3 = local_stack_client(local_stack, "s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "exportsbucket" in b["Name"])
    for prefix in (f"exports/{api.tenant}/{created['export']['id']}/", f"tmp/{api.tenant}/"):
        assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0) == 0


def test_files_expire_after_seven_days(seeded: tuple[Api, datetime]) -> None:
    api, _ = seeded
    created = create(api, filters={"actor_id": "user-1"})
    export_id, run_id = created["export"]["id"], created["run"]["id"]
    run = wait_for_run(api, export_id, run_id)
    assert run["status"] == "succeeded"
    later = datetime.now(UTC) + timedelta(days=7, minutes=1)
    with mock.patch("activitylog.logic.clock.now", return_value=later):
        expired = api.request("GET", f"/v1/exports/{export_id}/runs/{run_id}").json()
        gone = api.request("GET", f"/v1/exports/{export_id}/runs/{run_id}/download")
    assert expired["status"] == "expired" and expired["download_url"] is None
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "gone"


def local_stack_client(stack: LocalService, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
