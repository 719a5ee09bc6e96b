"""PDF export runs end to end in local mode: the API, the CDK-synthesized workflow on moto's Step
Functions, the slices' parts in S3, the PDF drawn by Assemble, downloaded and read back with pypdf."""

from __future__ import annotations

import functools
import hashlib
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import requests
from activitylog.logic.export_workflow import plan
from activitylog_ops.local.service import LocalService
from pypdf import PdfReader

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, download, local_stack_client, mails_to, wait_for_run

NAMES = ["Zoë Ångström", "Ελένη Παπαδοπούλου", "Анна Каренина", "李雷", "سارة أحمد", "דוד לוי"]


@pytest.fixture(scope="module")
def seeded(local_stack: LocalService) -> tuple[Api, datetime]:
    api = Keys(local_stack).api()
    start = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    events = [
        {
            "id": f"p{n:04d}",
            "action": "asset.downloaded" if n % 3 else "user.login",
            "occurred_at": (start + timedelta(minutes=41 * n)).isoformat(),
            "actor": {"id": f"user-{n % 6}", "name": NAMES[n % 6]},
            "targets": [{"type": "asset", "id": str(n % 5), "name": "年度报告" if n % 5 == 0 else None}],
            "changes": [{"field": "status", "before": "draft", "after": "final"}] if n % 4 == 0 else [],
            "description": f"скачал отчёт {n}",
            "context": {"ip": "198.51.100.7"},
        }
        for n in range(90)
    ]
    answer = api.post_events(events)
    assert answer.status_code == 200 and answer.json()["accepted"] == 90
    return api, start


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text().replace("\x00", "") for page in PdfReader(io.BytesIO(pdf)).pages]


def test_a_pdf_export_is_a_report_of_exactly_the_listed_events(
    seeded: tuple[Api, datetime], local_stack: LocalService
) -> None:
    # Given events in six scripts and a PDF export of some of them
    api, start = seeded
    filters = {"actions": ["asset.*"], "from": start.isoformat()}
    recipient = "pdf-reader@example.com"
    # When it is created and its first run finishes
    created = create(api, name="Загрузки Q4", format="pdf", filters=filters, recipients=[recipient])
    assert created["export"]["format"] == "pdf"
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"], timeout=60)
    # Then the download is the PDF, its size and SHA-256 those of the run
    expected = api.all_ids(action="asset.*", order="asc", **{"from": filters["from"]})
    assert run["status"] == "succeeded", run
    assert run["row_count"] == len(expected) == 60
    content = download(api, run)
    assert content.startswith(b"%PDF-") and run["bytes"] == len(content)
    assert run["sha256"] == hashlib.sha256(content).hexdigest()
    pages = text_of(content)
    # a cover, a summary, then the table; the footer's count is the page count
    assert len(pages) >= 3 and f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "Загрузки Q4" in pages[0] and api.tenant in pages[0] and "Actions: asset.*" in pages[0]
    assert f"{created['export']['id']}/runs/{run['id']}" in pages[0]
    assert "60 events" in pages[1] and "Top users" in pages[1]
    table = "\n".join(pages[2:])
    assert table.count("198.51.100.7") == 60
    assert "Анна Каренина" in table and "Ελένη Παπαδοπούλου" in table
    assert "年度报告" in re.sub(r"\s+", "", table) and "status: draft → final" in table
    assert "user.login" not in table  # filtered out
    # And the email names the run's figures like any export's
    (mail,) = mails_to(local_stack, recipient)
    assert "ready" in mail["subject"] and "Rows: 60" in mail["text"]
    # and the slices' parts are gone
    s3 = local_stack_client(local_stack, "s3")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "exportsbucket" in b["Name"])
    assert s3.list_objects_v2(Bucket=bucket, Prefix=f"tmp/{api.tenant}/").get("KeyCount", 0) == 0


def test_the_download_is_named_and_typed_as_a_pdf(seeded: tuple[Api, datetime]) -> None:
    api, _ = seeded
    created = create(api, name="Weekly PDF", format="pdf", filters={"actor_id": "user-1"})
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"], timeout=60)
    assert run["status"] == "succeeded" and run["row_count"] == 15
    answer = api.request("GET", run["download_url"].removeprefix(api.url), allow_redirects=False)
    location: Any = answer.headers["Location"]
    assert answer.status_code == 302 and f"weekly-pdf-{run['id']}.pdf" in location
    file = requests.get(location, timeout=30)
    assert file.headers["Content-Type"] == "application/pdf" and file.content.startswith(b"%PDF-")


def test_a_selection_over_the_cap_fails_with_too_many_rows_for_pdf(
    seeded: tuple[Api, datetime], local_stack: LocalService
) -> None:
    # Given a cap of 20 events (the real one is 10,000: tests/unit/test_export_pdf.py) and 90 events
    api, _ = seeded
    recipient = "too-many@example.com"
    with mock.patch("activitylog.handlers.export_plan.plan", functools.partial(plan, max_pdf_rows=20)):
        created = create(api, format="pdf", recipients=[recipient])
        run = wait_for_run(api, created["export"]["id"], created["run"]["id"], timeout=60)
    # Then the run failed with the code, and a message that suggests CSV
    assert run["status"] == "failed" and run["download_url"] is None
    # (90 events and the service's own activitylog.* events of this tenant: the exports it created)
    assert re.match(r"too_many_rows_for_pdf: the selection holds 9\d events", run["error"]), run["error"]
    assert "at most 20" in run["error"] and "CSV" in run["error"]
    (mail,) = mails_to(local_stack, recipient)
    assert "failed" in mail["subject"] and "too_many_rows_for_pdf" in mail["text"]
