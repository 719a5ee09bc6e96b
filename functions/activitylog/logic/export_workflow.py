"""The export workflow's steps (docs/exports.md): plan, slice, assemble, fail, notify, watchdog.

Each step gets references (tenant, export id, run id, a slice's bounds) and reads or writes the
rest itself: state payloads stay small whatever the number of rows (Step Functions: 256 KiB).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from activitylog.logic.export_format import RowFormat, content_type, file_name, header, render_parsed
from activitylog.logic.exports import file_prefix, temp_prefix
from activitylog.logic.ports import ExportStore, WorkflowFiles
from activitylog.logic.query import Budget, Document, QueryPorts, count_events, earliest_time, iter_documents
from activitylog.models.auth import Principal, Scope
from activitylog.models.errors import NotFoundError, TooManyRowsForPdfError
from activitylog.models.exports import Export, RunRecord, WorkflowInput
from activitylog.models.filters import EventFilter
from activitylog.models.text import format_time, parse_time, to_millis

MAX_PDF_ROWS = 10_000  # API.md, "Reports": a PDF holds at most 10,000 events
# Plan counts a PDF's selection for this long at most: a count cut short still proves "too many"
# once it passes the cap; otherwise the slices and Assemble check the rows they really read.
PDF_COUNT_SECONDS = 10.0
SLICE_WIDTH = timedelta(hours=1)  # the narrowest slice worth a Lambda invocation
MAX_SLICES = 64  # bounds the Map's history and the state payload (docs/exports.md)
ACTIVE = frozenset({"queued", "running"})


@dataclass(frozen=True, slots=True)
class WorkflowPorts:
    store: ExportStore
    files: WorkflowFiles
    query: Callable[[str], QueryPorts]  # per tenant


@dataclass(frozen=True, slots=True)
class SliceRef:
    tenant: str
    export_id: str
    run_id: str
    index: int
    start: str  # inclusive, API time format
    end: str  # exclusive


def slice_key(tenant: str, export_id: str, run_id: str, index: int) -> str:
    return f"{temp_prefix(tenant, export_id, run_id)}slice-{index:05d}"


def _load(inp: WorkflowInput, ports: WorkflowPorts) -> tuple[Export, RunRecord]:
    export = ports.store.get_export(inp.tenant, inp.export_id)
    run = ports.store.get_run(inp.tenant, inp.export_id, inp.run_id) if export else None
    if export is None or run is None:
        raise NotFoundError("the export or run was deleted")
    return export, run


def split(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end) in at most MAX_SLICES contiguous millisecond-aligned slices of >= SLICE_WIDTH."""
    span_ms = max(1, round((end - start).total_seconds() * 1000))
    count = max(1, min(MAX_SLICES, math.ceil(span_ms / (SLICE_WIDTH.total_seconds() * 1000))))
    bounds = [start + timedelta(milliseconds=span_ms * n // count) for n in range(count)] + [end]
    return list(pairwise(bounds))


def plan(
    inp: WorkflowInput, *, now: datetime, ports: WorkflowPorts, max_pdf_rows: int = MAX_PDF_ROWS
) -> dict[str, Any]:
    """Mark the run running, fix its time range and cut it into slices (the Map's items); a PDF's
    selection larger than a PDF holds fails here, before any slice reads it."""
    export, run = _load(inp, ports)
    filters = export.filters
    if run.range_from is not None and run.range_to is not None:  # a scheduled run: its window
        start, end = run.range_from, run.range_to
    else:
        end = filters.to or to_millis(now)
        start = filters.from_ or earliest_time(inp.tenant, now=now, ports=ports.query(inp.tenant)) or end
        start = min(start, end)
    slices = split(start, end) if start < end else []
    running = run.model_copy(
        update={
            "status": "running",
            "started_at": now,
            "range_from": start,
            "range_to": end,
            "slice_count": len(slices),
        }
    )
    if not ports.store.update_run(inp.tenant, running, expected={"queued"}):
        raise NotFoundError("the run is no longer queued")
    if export.format == "pdf" and start < end:
        check_pdf_selection(inp.tenant, event_filters(export, start, end), now, ports, max_pdf_rows)
    settle = {"not_before": wait_until(run.not_before)} if run.not_before and run.not_before > now else {}
    return {
        **inp.model_dump(),
        **settle,
        "slices": [
            {**inp.model_dump(), "index": n, "start": format_time(lo), "end": format_time(hi)}
            for n, (lo, hi) in enumerate(slices)
        ],
    }


def too_many_rows(count: int, max_pdf_rows: int, *, at_least: bool = False) -> TooManyRowsForPdfError:
    counted = f"at least {count:,}" if at_least else f"{count:,}"
    return TooManyRowsForPdfError(
        f"the selection holds {counted} events and a PDF holds at most {max_pdf_rows:,}: export it as CSV "
        '(format "csv") or JSON Lines, or narrow the filters or the time range'
    )


def check_pdf_rows(count: int, max_pdf_rows: int = MAX_PDF_ROWS, *, at_least: bool = False) -> None:
    if count > max_pdf_rows:
        raise too_many_rows(count, max_pdf_rows, at_least=at_least)


def check_pdf_selection(
    tenant: str, filters: EventFilter, now: datetime, ports: WorkflowPorts, max_pdf_rows: int
) -> None:
    """Count what the run will read (GET /v1/events/count's way, page after page) until the count is
    complete, passes the cap, or PDF_COUNT_SECONDS are spent (then the slices and Assemble check)."""
    reader = Principal(tenant=tenant, key_id="export-plan", scopes=frozenset({Scope.EVENTS_READ.value}))
    deadline = time.monotonic() + PDF_COUNT_SECONDS
    total, cursor = 0, None
    while True:
        left = max(0.0, deadline - time.monotonic())
        counted = count_events(
            reader, filters, cursor=cursor, now=now, ports=ports.query(tenant), budget=Budget(seconds=left)
        )
        total += counted.count
        if counted.complete or counted.next_cursor is None or total > max_pdf_rows or left == 0.0:
            break
        cursor = counted.next_cursor
    check_pdf_rows(total, max_pdf_rows, at_least=not counted.complete)


def wait_until(moment: datetime) -> str:
    """A Wait state's timestamp (whole seconds, rounded up: never earlier than `moment`)."""
    whole = moment.replace(microsecond=0) + (timedelta(seconds=1) if moment.microsecond else timedelta())
    return whole.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_filters(export: Export, start: datetime, end: datetime) -> EventFilter:
    """The export's filters narrowed to one slice `[start, end)` (inside the export's own range)."""
    return export.filters.model_copy(update={"from_": start, "to": end})


def write_slice(
    ref: SliceRef, *, now: datetime, ports: WorkflowPorts, max_pdf_rows: int = MAX_PDF_ROWS
) -> dict[str, int]:
    """Exactly what GET /v1/events lists for the export's filters within [start, end), oldest first.

    A PDF's slice writes JSON Lines (Assemble draws the PDF from them) and stops as soon as it alone
    holds more rows than a PDF may."""
    export, _run = _load(WorkflowInput(tenant=ref.tenant, export_id=ref.export_id, run_id=ref.run_id), ports)
    filters = event_filters(export, parse_time(ref.start), parse_time(ref.end))
    pdf = export.format == "pdf"
    rows_format: RowFormat = "jsonl" if export.format == "pdf" else export.format
    rows = 0

    def counted() -> Iterator[Document]:
        nonlocal rows
        for doc in iter_documents(ref.tenant, filters, now=now, ports=ports.query(ref.tenant)):
            rows += 1
            if pdf and rows > max_pdf_rows:
                raise too_many_rows(rows, max_pdf_rows, at_least=True)
            yield doc

    stored = ports.files.write(
        slice_key(ref.tenant, ref.export_id, ref.run_id, ref.index),
        render_parsed(counted(), rows_format),
        content_type="application/octet-stream",
        gzip=False,
    )
    return {"index": ref.index, "rows": rows, "bytes": stored.bytes}


def _slice_lines(inp: WorkflowInput, count: int, files: WorkflowFiles) -> Iterator[bytes]:
    """The JSON Lines of every slice, in order (a line may span the chunks a read yields)."""
    for index in range(count):
        rest = b""
        for chunk in files.read(slice_key(inp.tenant, inp.export_id, inp.run_id, index)):
            *lines, rest = (rest + chunk).split(b"\n")
            yield from lines
        if rest:
            yield rest


def _pdf_chunks(
    inp: WorkflowInput, export: Export, run: RunRecord, now: datetime, ports: WorkflowPorts
) -> Iterator[bytes]:
    from activitylog.logic.export_pdf import ReportInfo, render_pdf  # fpdf2 only where a PDF is drawn

    events = [json.loads(line) for line in _slice_lines(inp, run.slice_count or 0, ports.files)]
    info = ReportInfo(
        export_name=export.name,
        export_id=export.id,
        run_id=run.id,
        tenant=inp.tenant,
        filters=export.filters,
        range_from=run.range_from or now,
        range_to=run.range_to or now,
        generated_at=now,
    )
    yield render_pdf(info, events)


def assemble_run(
    inp: WorkflowInput,
    slice_rows: list[int],
    *,
    now: datetime,
    ports: WorkflowPorts,
    max_pdf_rows: int = MAX_PDF_ROWS,
) -> RunRecord:
    """Header + every slice in order, in one streaming pass (one SHA-256), then mark succeeded.

    A PDF is drawn from the slices' JSON Lines at once (at most 10,000 events, checked before any is
    read: late events may have arrived since Plan counted)."""
    export, run = _load(inp, ports)
    count = run.slice_count or 0
    key = (
        file_prefix(inp.tenant, inp.export_id)
        + f"{inp.run_id}/"
        + file_name(export.name, run.id, export.format, export.compression)
    )
    if export.format == "pdf":
        check_pdf_rows(sum(slice_rows), max_pdf_rows)

    def chunks() -> Iterator[bytes]:
        if export.format == "pdf":
            yield from _pdf_chunks(inp, export, run, now, ports)
            return
        yield header(export.format)
        for index in range(count):
            yield from ports.files.read(slice_key(inp.tenant, inp.export_id, inp.run_id, index))

    stored = ports.files.write(
        key,
        chunks(),
        content_type=content_type(export.format, export.compression),
        gzip=export.compression == "gzip",
    )
    done = run.model_copy(
        update={
            "status": "succeeded",
            "finished_at": now,
            "row_count": sum(slice_rows),
            "bytes": stored.bytes,
            "sha256": stored.sha256,
            "key": key,
        }
    )
    if not ports.store.update_run(inp.tenant, done, expected={"running"}):
        ports.files.delete_prefix(file_prefix(inp.tenant, inp.export_id) + f"{inp.run_id}/")
        raise NotFoundError("the run is no longer running (failed or deleted meanwhile)")
    ports.files.delete_prefix(temp_prefix(inp.tenant, inp.export_id, inp.run_id))
    return done


def reading_time(run: RunRecord) -> float | None:
    """Seconds from when the run started reading (after a scheduled run's settle wait) to its file."""
    if run.started_at is None or run.finished_at is None:
        return None
    began = max(run.started_at, run.not_before) if run.not_before else run.started_at
    return max(0.0, (run.finished_at - began).total_seconds())


_REASONS = {
    "States.Timeout": "a step of the export took too long",
    "StorageUnavailableError": "the data store stayed busy after several retries",
    "TIMED_OUT": "the export took longer than its time limit",
    "ABORTED": "the export was stopped",
}


def reason(error: str, cause: str) -> str:
    """A readable sentence for the run's `error` (and the failure email), never a stack trace."""
    if error in _REASONS:
        return _REASONS[error]
    message = cause
    with suppress(ValueError, AttributeError):
        message = str(json.loads(cause).get("errorMessage", cause))
    message = " ".join(message.split())[:300]
    if error == TooManyRowsForPdfError.__name__:  # API.md: the run fails with this code
        return f"{TooManyRowsForPdfError.code}: {message}"
    return f"the export failed ({error}{': ' + message if message else ''})"


def fail_run(inp: WorkflowInput, why: str, *, now: datetime, ports: WorkflowPorts) -> bool:
    """Mark a queued or running run failed and remove its partial objects; idempotent."""
    run = ports.store.get_run(inp.tenant, inp.export_id, inp.run_id)
    if run is None:
        # Deleted while it ran (DELETE /v1/exports/{id} removes the runs and their files): a step
        # may have written its objects after that delete, so the run's prefixes are cleared again.
        ports.files.delete_prefix(temp_prefix(inp.tenant, inp.export_id, inp.run_id))
        ports.files.delete_prefix(file_prefix(inp.tenant, inp.export_id) + f"{inp.run_id}/")
        return False
    if run.status not in ACTIVE:
        return False
    failed = run.model_copy(update={"status": "failed", "finished_at": now, "error": why})
    changed = ports.store.update_run(inp.tenant, failed, expected=ACTIVE)
    if changed:
        ports.files.delete_prefix(temp_prefix(inp.tenant, inp.export_id, inp.run_id))
        ports.files.delete_prefix(file_prefix(inp.tenant, inp.export_id) + f"{inp.run_id}/")
    return changed


def slice_ref(item: dict[str, Any]) -> SliceRef:
    return replace(
        SliceRef(
            tenant=str(item["tenant"]),
            export_id=str(item["export_id"]),
            run_id=str(item["run_id"]),
            index=int(item["index"]),
            start=str(item["start"]),
            end=str(item["end"]),
        )
    )
