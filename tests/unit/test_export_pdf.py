"""The PDF export format: the report's pages read back with pypdf, its summary, and the workflow's
10,000-event cap (plan, slice and assemble over in-memory ports)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import export_pdf, export_workflow
from activitylog.logic.export_pdf import ReportInfo, render_pdf
from activitylog.logic.export_pdf_summary import change_lines, filters_in_words, summarise
from activitylog.logic.export_workflow import (
    MAX_PDF_ROWS,
    WorkflowPorts,
    assemble_run,
    check_pdf_rows,
    plan,
    reason,
    slice_ref,
    write_slice,
)
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import QueryPorts
from activitylog.models.errors import TooManyRowsForPdfError
from activitylog.models.exports import Export, RunRecord, WorkflowInput
from activitylog.models.filters import EventFilter
from activitylog.models.settings import TenantSettings
from pypdf import PdfReader

from tests.fakes import FakeControl, FakeEventStore, FakeExports, MemoryFiles

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
START = NOW - timedelta(days=3)
TENANT, EXPORT_ID, RUN_ID = "acme", "01KEXPORT0000000000000000A", "01KRUN00000000000000000000"
NAMES = ["Zoë Ångström", "Ελένη Παπαδοπούλου", "Анна Каренина", "李雷", "سارة أحمد", "דוד לוי"]


def event(n: int, *, at: datetime | None = None) -> dict[str, Any]:
    """A StoredEvent as the API shows it (what the slices' JSON Lines hold)."""
    stamp = (
        (at or START + timedelta(minutes=13 * n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
    return {
        "id": f"e{n:05d}",
        "action": ["asset.downloaded", "user.login", "document.updated"][n % 3],
        "occurred_at": stamp,
        "actor": {"id": f"user-{n % 6}", "type": "user", "name": NAMES[n % 6], "email": None},
        "targets": [{"type": "asset", "id": str(n % 4), "name": "报告" if n % 4 == 0 else None}],
        "context": {"ip": "203.0.113.9", "user_agent": None, "location": None, "session_id": None},
        "changes": [{"field": "status", "before": "draft", "after": "final"}] if n % 3 == 2 else [],
        "description": f"описание {n}" if n % 3 == 0 else None,
        "outcome": "failure" if n % 5 == 0 else "success",
        "metadata": {},
        "received_at": stamp,
        "expires_at": stamp,
    }


def info(**changes: Any) -> ReportInfo:
    base: dict[str, Any] = {
        "export_name": "Отчёт Q4 — 下载",
        "export_id": EXPORT_ID,
        "run_id": RUN_ID,
        "tenant": TENANT,
        "filters": EventFilter(actions=["asset.*"], outcome="success"),
        "range_from": START,
        "range_to": NOW,
        "generated_at": NOW,
    }
    return ReportInfo(**{**base, **changes})


def pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squeezed(text: str) -> str:
    """pypdf puts spaces (or NULs) between CJK glyphs: compare without them."""
    return re.sub(r"[\s\x00]+", "", text)


def test_the_report_has_a_cover_a_summary_and_the_events_in_every_script() -> None:
    # Given 200 events whose users write in six scripts
    events = [event(n) for n in range(200)]
    # When they are drawn
    pdf = render_pdf(info(), events)
    text = pages(pdf)
    # Then the cover names the export, tenant, filters, range, time, count and where the digest is
    assert pdf.startswith(b"%PDF-")
    cover = text[0]
    for expected in (
        "Activity report",
        "Отчёт Q4",
        "acme",
        "Actions: asset.*",
        "Outcome: success",
        "2026-11-20T10:00:00.000Z to 2026-11-23T10:00:00.000Z",
        "Generated",
        "200",
        f"{EXPORT_ID}/runs/{RUN_ID}",
        "SHA-256",
    ):
        assert expected in cover, expected
    assert "下载" in squeezed(cover)
    # the summary: totals and the three top lists
    summary = text[1]
    assert "200 events · 160 succeeded · 40 failed · 6 users" in summary
    for title in ("Events per day, UTC", "Top users", "Top actions", "Top resources"):
        assert title in summary
    # the table: every event once, in every script (pypdf reads Latin, Greek, Cyrillic, CJK)
    table = "\n".join(text[2:])
    assert table.count("203.0.113.9") == 200
    for name in NAMES[:3]:
        assert name in table
    assert "李雷" in squeezed(table) and "报告" in squeezed(table)
    assert "status: draft → final" in table.replace("\x00", "") and "описание 3" in table
    # and the page count: the footer's "Page n of N" on the last page is the document's own count
    count = len(text)
    assert count >= 4 and f"Page {count} of {count}" in text[-1] and "Page 1 of" in text[0]


def test_the_fonts_for_arabic_hebrew_and_chinese_are_embedded() -> None:
    reader = PdfReader(io.BytesIO(render_pdf(info(), [event(n) for n in range(12)])))
    fonts = {
        str(font["/BaseFont"]).split("+")[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert {
        "NotoSans",
        "NotoSansBold",
        "NotoNaskhArabic",
        "NotoSansHebrew",
        "NotoSansSChineseRegular",
    } <= fonts


def test_an_empty_selection_is_a_three_page_report_that_says_so() -> None:
    text = pages(render_pdf(info(filters=EventFilter()), []))
    assert len(text) == 3
    assert "All events (no filter)" in text[0]
    assert "0 events" in text[1]
    assert "No event matches" in text[2]


def test_the_summary_is_exact_for_the_file() -> None:
    # Given events on two of four days, one user far more active
    events = [event(n, at=START + timedelta(hours=1)) for n in range(5)]
    events += [event(7, at=START + timedelta(days=2, hours=3))] * 3
    summary = summarise(events, START, NOW)
    # Then every day of the range is a bar (empty ones too) and the bars add up to the total
    assert [d for d, _ in summary.series] == [date(2026, 11, 20) + timedelta(days=k) for k in range(4)]
    assert [n for _, n in summary.series] == [5, 0, 3, 0]
    assert summary.total == sum(n for _, n in summary.series) == 8
    assert summary.top_users[0].label == "Ελένη Παπαδοπούλου (user-1)" and summary.top_users[0].count == 4
    assert summary.top_actions[0].label == "user.login" and summary.top_actions[0].count == 5
    assert summary.failures == 1 and summary.users == 5


def test_long_ranges_are_drawn_per_week_then_per_month() -> None:
    assert summarise([], START - timedelta(days=200), NOW).bucket == "week"
    yearly = summarise([], START - timedelta(days=2000), NOW)
    assert yearly.bucket == "month" and all(d.day == 1 for d, _ in yearly.series)


def test_changes_and_filters_read_as_words() -> None:
    assert change_lines([{"field": "role", "before": None, "after": {"admin": True}}]) == [
        'role: (none) → {"admin":true}'
    ]
    words = filters_in_words(EventFilter(actor_id="u-1", target_type="asset", target_id="7", q="x"))
    assert words == ["User: u-1", "Resource: asset 7", "Text contains: “x”"]


def test_missing_fonts_fail_loudly(tmp_path: Any) -> None:
    with pytest.raises(export_pdf.FontsMissingError, match=r"NotoSans-Regular\.ttf"):
        render_pdf(info(), [], fonts=[tmp_path])


# --- the workflow: slices write JSON Lines, Assemble draws the PDF, at most 10,000 events -----------


def raw(n: int) -> dict[str, Any]:
    return {
        "id": f"e{n:05d}",
        "action": "asset.downloaded",
        "occurred_at": (START + timedelta(seconds=7 * n)).isoformat(),
        "actor": {"id": f"user-{n % 3}", "name": NAMES[n % 6]},
        "targets": [{"type": "asset", "id": str(n % 4)}],
    }


class Stack:
    """Events ingested into the fake store, one PDF export and its queued run."""

    def __init__(self, count: int, *, compression: str = "none") -> None:
        self.store, self.control = FakeEventStore(), FakeControl()
        ports = IngestPorts(
            events=self.store, catalogue=self.control, known_actions=set(), usage=self.control
        )
        settings = TenantSettings()
        for first in range(0, count, 100):
            answer = ingest(
                [raw(n) for n in range(first, min(count, first + 100))],
                tenant=TENANT,
                now=NOW,
                settings=settings,
                ports=ports,
            )
            assert answer.accepted == min(100, count - first)
        self.exports, self.files = FakeExports(), MemoryFiles()
        self.exports.exports[(TENANT, EXPORT_ID)] = Export(
            id=EXPORT_ID,
            name="Weekly report",
            format="pdf",
            compression=compression,  # type: ignore[arg-type]
            filters=EventFilter(from_=START, to=NOW),
            recipients=[],
            created_at=NOW,
        )
        self.exports.put_run(
            TENANT, RunRecord(id=RUN_ID, export_id=EXPORT_ID, status="queued", created_at=NOW)
        )
        query = QueryPorts(events=self.store, known_actions=lambda: self.control.known_actions(TENANT))
        self.ports = WorkflowPorts(store=self.exports, files=self.files, query=lambda _tenant: query)  # type: ignore[arg-type]
        self.inp = WorkflowInput(tenant=TENANT, export_id=EXPORT_ID, run_id=RUN_ID)

    def run(self, cap: int = MAX_PDF_ROWS) -> RunRecord:
        planned = plan(self.inp, now=NOW, ports=self.ports, max_pdf_rows=cap)
        rows = [
            write_slice(slice_ref(item), now=NOW, ports=self.ports, max_pdf_rows=cap)["rows"]
            for item in planned["slices"]
        ]
        return assemble_run(self.inp, rows, now=NOW, ports=self.ports, max_pdf_rows=cap)

    def slices(self) -> Iterator[dict[str, Any]]:
        yield from plan(self.inp, now=NOW, ports=self.ports, max_pdf_rows=10**9)["slices"]


def test_a_pdf_run_draws_every_selected_event_into_one_pdf_file() -> None:
    stack = Stack(120)
    done = stack.run()
    assert done.status == "succeeded" and done.row_count == 120
    assert done.key is not None and done.key.endswith(f"weekly-report-{RUN_ID}.pdf")
    pdf = stack.files.objects[done.key]
    assert done.bytes == len(pdf) and pdf.startswith(b"%PDF-")
    text = pages(pdf)
    assert "120" in text[0] and "120 events" in text[1]
    assert "\n".join(text[2:]).count("asset.downloaded") == 120
    assert [k for k in stack.files.objects if "/tmp/" in k or k.startswith("tmp/")] == []  # parts removed


def test_a_selection_over_the_cap_fails_in_plan_before_any_slice() -> None:
    stack = Stack(30)
    with pytest.raises(TooManyRowsForPdfError) as caught:
        plan(stack.inp, now=NOW, ports=stack.ports, max_pdf_rows=29)
    assert caught.value.code == "too_many_rows_for_pdf"
    assert "30 events" in caught.value.message and "CSV" in caught.value.message
    # and the run's error, as Fail records it from the step's error name and message
    why = reason(type(caught.value).__name__, json.dumps({"errorMessage": caught.value.message}))
    assert why.startswith("too_many_rows_for_pdf: the selection holds 30 events") and "CSV" in why
    assert stack.files.objects == {}


def test_late_events_past_the_cap_fail_the_slice_or_the_assembly() -> None:
    # Given a plan made while the selection fitted (more events arrive before the slices read)
    stack = Stack(30)
    items = list(stack.slices())
    # Then a slice alone over the cap stops at once
    with pytest.raises(TooManyRowsForPdfError, match="at least 6 events"):
        for item in items:
            write_slice(slice_ref(item), now=NOW, ports=stack.ports, max_pdf_rows=5)
    # and slices under the cap that add up to more fail Assemble before any PDF is drawn
    with pytest.raises(TooManyRowsForPdfError, match="31 events"):
        assemble_run(stack.inp, [15, 16], now=NOW, ports=stack.ports, max_pdf_rows=30)
    assert not any(key.endswith(".pdf") for key in stack.files.objects)


def test_the_real_cap_is_10000_events(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_PDF_ROWS == 10_000
    # Plan's count gives up at once here: the slices and Assemble must hold the line by themselves
    monkeypatch.setattr(export_workflow, "PDF_COUNT_SECONDS", 0.0)
    stack = Stack(10_001)
    # Given the export selects exactly 10,000 of them (the last one is at its exclusive `to`)
    export = stack.exports.exports[(TENANT, EXPORT_ID)]
    last = START + timedelta(seconds=7 * 10_000)
    stack.exports.exports[(TENANT, EXPORT_ID)] = export.model_copy(
        update={"filters": EventFilter(from_=START, to=last)}
    )
    planned = plan(stack.inp, now=NOW, ports=stack.ports)
    rows = [write_slice(slice_ref(item), now=NOW, ports=stack.ports)["rows"] for item in planned["slices"]]
    # Then the default cap lets 10,000 through (what Assemble checks before drawing)
    assert sum(rows) == 10_000
    check_pdf_rows(sum(rows))
    # and one more event fails the run with the code and a message that suggests CSV
    full = Stack(10_001)
    with pytest.raises(
        TooManyRowsForPdfError, match=r"10,001 events and a PDF holds at most 10,000: export it as CSV"
    ):
        full.run()
    assert not any(key.endswith(".pdf") for key in full.files.objects)
