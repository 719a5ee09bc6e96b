"""Export writer benchmark: the export slice (stored event documents -> CSV / JSON Lines rows), and
memory through the slice and the assembly steps.

What is measured is what production runs: `write_slice` (logic/export_workflow.py, the ExportSlice
Lambda's logic) over an in-memory events store instead of DynamoDB, writing through `assemble` into
a sink that discards parts instead of S3; its renderer `render_parsed` alone; and `assemble_run`
(ExportAssemble) reading slices back in 1 MiB chunks, as `stream_object` does. Labelled comparisons,
not production paths: the slice's previous model path (a pydantic model per row) and baselines on
Python's own csv.writer / json.dumps.

Throughput runs in this process, every variant on the same rows, best of a few repeats. Memory runs
each in a fresh subprocess (`python -m bench --child ...`) so one measurement's peak cannot hide
another's: peak RSS (`VmHWM`) after the step, minus the RSS before it started.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import resource
import subprocess
import sys
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice
from pathlib import Path
from typing import Any

from activitylog.dal.events import key_range
from activitylog.logic import export_format as fmt
from activitylog.logic.export_assembly import MIB, AssemblyResult, assemble
from activitylog.logic.export_workflow import (
    SliceRef,
    WorkflowPorts,
    assemble_run,
    event_filters,
    write_slice,
)
from activitylog.logic.query import QueryPorts, iter_events
from activitylog.models.events import StoredEvent
from activitylog.models.exports import Export, RunRecord, WorkflowInput
from activitylog.models.query import EventRecord, IndexEntry, IndexPage, IndexRead, Stream, WriteOutcome
from activitylog.models.text import format_time, parse_time

from bench import report
from tests.fakes import FakeExports

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
THROUGHPUT_ROWS = 20_000  # ratios are stable at this size; `make bench` has a ~6 minute budget
REPEATS = 3
SLICE_RUNS = [(100_000, "csv"), (1_000_000, "csv"), (100_000, "jsonl"), (1_000_000, "jsonl")]
ASSEMBLY_RUNS = [(100_000, "jsonl"), (1_000_000, "jsonl")]  # with gzip
ASSEMBLY_SLICES = 8
POOL = 1_000
BASE = datetime(2026, 11, 1, tzinfo=UTC)  # the pool's first event; the stored rows are a millisecond apart
NOW = BASE + timedelta(days=1)
TENANT, EXPORT_ID, RUN_ID = "bench", "01KBENCHEXPORT000000000000", "01KBENCHRUN000000000000000"


def sample_documents(count: int = POOL) -> list[str]:
    """Distinct stored documents shaped like a typical event (as ingestion stores them)."""
    actions = ["asset.downloaded", "user.login", "search", "settings.updated", "asset.edited"]
    docs = []
    for i in range(count):
        at = BASE + timedelta(seconds=37 * i)
        event = StoredEvent.model_validate(
            {
                "id": f"01JD8X6V6M5N7Q8R9S0T{i:06d}",
                "action": actions[i % len(actions)],
                "occurred_at": at,
                "received_at": at + timedelta(milliseconds=120),
                "expires_at": at + timedelta(days=90),
                "actor": {
                    "id": f"user-{i % 300}",
                    "name": f"Ada Lovelace {i % 300}",
                    "email": f"ada{i % 300}@example.com",
                },
                "targets": [
                    {"type": "asset", "id": str(7000 + i % 500), "name": f"Q{i % 4 + 1} report, final.pdf"}
                ],
                "context": {
                    "ip": f"203.0.113.{i % 250}",
                    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
                    "session_id": f"sess-{i % 1000:04d}",
                },
                "description": "Downloaded the quarterly report" if i % 3 == 0 else None,
                "metadata": {"plan": "enterprise", "size_bytes": 100_000 + i},
            }
        )
        docs.append(event.model_dump_json(exclude_none=True))
    return docs


def rows_of(pool: list[str], n: int) -> Iterator[str]:
    return islice(cycle(pool), n)


# --- the ports write_slice and assemble_run get here instead of DynamoDB and S3 --------------------


class SyntheticEvents:
    """An events store holding `rows` events on the time index: entry i, a millisecond after entry
    i - 1, is the event pool[i % len(pool)]. Nothing is kept per entry, so a million cost no memory.
    Its entries are the sequence of sort keys (for bisect)."""

    def __init__(self, pool: list[str], rows: int) -> None:
        self._pool = pool
        self._rows = rows

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, i: int) -> str:
        return f"{format_time(BASE + timedelta(milliseconds=i))}#{i:09d}"

    def query_index(self, tenant: str, stream: Stream, request: IndexRead) -> IndexPage:
        assert stream == Stream("time", "", 0) and not request.descending, "an unfiltered slice reads this"
        bounds = key_range(request.window, request.after, descending=False)  # the store's own arithmetic
        if bounds is None:
            return IndexPage(entries=[], last_ts=None, scanned=0)
        first, end = bisect_left(self, bounds[0]), bisect_right(self, bounds[1])
        stop = min(end, first + request.limit)
        entries = [IndexEntry(ts=self[i], event_pk=f"{tenant}#{i}") for i in range(first, stop)]
        return IndexPage(
            entries=entries, last_ts=entries[-1].ts if stop < end else None, scanned=len(entries)
        )

    def get_documents(self, event_pks: Sequence[str]) -> dict[str, str]:
        return {pk: self._pool[int(pk.rsplit("#", 1)[1]) % len(self._pool)] for pk in event_pks}

    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]:
        raise NotImplementedError("the export steps do not write events")

    def put_events(self, records: Sequence[EventRecord]) -> WriteOutcome:
        raise NotImplementedError("the export steps do not write events")

    def count_index(self, tenant: str, stream: Stream, request: IndexRead) -> tuple[int, str | None]:
        raise NotImplementedError("the export steps do not count")

    def event_key(self, tenant: str, event_id: str) -> str:
        raise NotImplementedError("the export steps read events by index entry")


class DiscardingSink:
    def __init__(self) -> None:
        self.parts = 0

    def start(self) -> None:
        pass

    def upload_part(self, number: int, data: bytes) -> str:
        self.parts += 1
        return f"etag-{number}"

    def complete(self, parts: list[tuple[int, str]]) -> None:
        pass

    def abort(self) -> None:
        pass


class DiscardingFiles:
    """WorkflowFiles: writes go through `assemble` (as S3Files' do) into a DiscardingSink; a slice
    read back is `rows_per_slice` rows of `rendered` in 1 MiB chunks (as `stream_object` reads it)."""

    def __init__(self, rendered: list[bytes] | None = None, rows_per_slice: int = 0) -> None:
        self._rendered = rendered or []
        self._rows = rows_per_slice
        self.last: AssemblyResult | None = None

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str, gzip: bool) -> AssemblyResult:
        self.last = assemble(chunks, DiscardingSink(), gzip=gzip)
        return self.last

    def read(self, key: str) -> Iterator[bytes]:
        block = bytearray()
        for row in islice(cycle(self._rendered), self._rows):
            block += row
            if len(block) >= MIB:
                yield bytes(block[:MIB])
                del block[:MIB]
        if block:
            yield bytes(block)

    def delete_prefix(self, prefix: str) -> None:
        pass


def ports_for(
    pool: list[str],
    rows: int,
    kind: str,
    files: DiscardingFiles,
    *,
    slices: int = 1,
    compression: str = "none",
) -> WorkflowPorts:
    """A tenant with one export of everything and its run, running, over `rows` stored events."""
    exports = FakeExports()
    exports.exports[(TENANT, EXPORT_ID)] = Export.model_validate(
        {
            "id": EXPORT_ID,
            "name": "bench",
            "format": kind,
            "compression": compression,
            "filters": {},
            "recipients": [],
            "created_at": BASE,
        }
    )
    run = RunRecord(id=RUN_ID, export_id=EXPORT_ID, status="running", created_at=BASE, slice_count=slices)
    exports.put_run(TENANT, run)
    events = SyntheticEvents(pool, rows)
    query = QueryPorts(events=events, known_actions=set, shard_count=1)
    return WorkflowPorts(store=exports, files=files, query=lambda tenant: query)  # type: ignore[arg-type]


WHOLE = SliceRef(TENANT, EXPORT_ID, RUN_ID, index=0, start=format_time(BASE), end=format_time(NOW))


def model_path_slice(ref: SliceRef, *, now: datetime, ports: WorkflowPorts) -> dict[str, int]:
    """NOT the production path: the slice before 2026-12-02 (`iter_events` -> `render`)."""
    export = ports.store.get_export(ref.tenant, ref.export_id)
    assert export is not None and export.format != "pdf"  # the benchmark's exports are CSV / JSON Lines
    events = iter_events(
        ref.tenant,
        event_filters(export, parse_time(ref.start), parse_time(ref.end)),
        now=now,
        ports=ports.query(ref.tenant),
    )
    stored = ports.files.write("slice", fmt.render(events, export.format), content_type="", gzip=False)
    return {"bytes": stored.bytes}


# --- baselines: the straightforward code with Python's own csv.writer / json.dumps ------------------


def baseline_csv(documents: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for _document, e in documents:
        actor, context, targets = e["actor"], e.get("context", {}), e.get("targets", [])
        first = targets[0] if targets else {}
        writer.writerow(
            [
                e["id"], e["occurred_at"], e["received_at"], e["action"], e["outcome"],
                actor["id"], actor["type"], actor.get("name", ""), actor.get("email", ""),
                first.get("type", ""), first.get("id", ""), first.get("name", ""),
                json.dumps(targets, separators=(",", ":"), ensure_ascii=False),
                context.get("ip", ""), context.get("user_agent", ""), context.get("location", ""),
                context.get("session_id", ""), e.get("description", ""),
                json.dumps(e.get("changes", []), separators=(",", ":"), ensure_ascii=False),
                json.dumps(e.get("metadata", {}), separators=(",", ":"), ensure_ascii=False),
            ]
        )  # fmt: skip
        yield out.getvalue().encode("utf-8")
        out.seek(0)
        out.truncate()


def baseline_jsonl(documents: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    for _document, parsed in documents:
        yield (json.dumps(parsed, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


Renderer = Callable[[Iterable[tuple[str, dict[str, Any]]]], Iterator[bytes]]
SliceWriter = Callable[..., dict[str, int]]


def slice_rate(write: SliceWriter, pool: list[str], kind: str, n: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(REPEATS):
        ports = ports_for(pool, n, kind, DiscardingFiles())
        started = time.perf_counter()
        size = write(WHOLE, now=NOW, ports=ports)["bytes"]
        best = min(best, time.perf_counter() - started)
    return n / best, size


def render_rate(render: Renderer, parsed: list[tuple[str, dict[str, Any]]]) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        size = sum(map(len, render(parsed)))
        best = min(best, time.perf_counter() - started)
    return len(parsed) / best, size


# --- memory, in a child process ------------------------------------------------------------------


def _rss_mib() -> float:
    """This process's peak RSS. Linux carries `ru_maxrss` over from the parent through fork and
    exec, so a parent that had grown would hide the child's peak; VmHWM starts anew with exec."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(args: list[str]) -> int:
    """`slice <rows> <format>`: write_slice; `assemble <rows> <format> gzip|none`: assemble_run."""
    step, rows, kind = args[0], int(args[1]), args[2]
    assert step in ("slice", "assemble") and kind in ("csv", "jsonl")
    pool = sample_documents()
    if step == "slice":
        files = DiscardingFiles()
        ports = ports_for(pool, rows, kind, files)
    else:
        rendered = list(fmt.render_documents(pool, kind))  # type: ignore[arg-type]
        files = DiscardingFiles(rendered, rows // ASSEMBLY_SLICES)
        ports = ports_for(pool, 0, kind, files, slices=ASSEMBLY_SLICES, compression=args[3])
    before = _rss_mib()
    started = time.perf_counter()
    if step == "slice":
        answer = write_slice(WHOLE, now=NOW, ports=ports)
        assert answer["rows"] == rows, answer
    else:
        inp = WorkflowInput(tenant=TENANT, export_id=EXPORT_ID, run_id=RUN_ID)
        assemble_run(inp, [rows // ASSEMBLY_SLICES] * ASSEMBLY_SLICES, now=NOW, ports=ports)
    elapsed = time.perf_counter() - started
    assert files.last is not None
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": elapsed,
                "bytes": files.last.bytes,
                "raw_bytes": files.last.raw_bytes,
                "parts": files.last.parts,
                "rss_before_mib": before,
                "rss_peak_mib": _rss_mib(),
            }
        )
    )
    return 0


def memory_run(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench", "--child", *args]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "functions")])}
    answer = subprocess.run(  # noqa: S603
        command, cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=900
    )
    result: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


# --- report --------------------------------------------------------------------------------------

PRODUCTION_SLICE = "production: `write_slice` (`iter_documents` → `render_parsed`)"
MODEL_PATH = "comparison, not the production path: `iter_events` → `render` (the slice before 2026-12-02)"


def main() -> None:
    pool = sample_documents()
    print("export writer: slice throughput ...", flush=True)
    slices = [
        (kind.upper(), name, *slice_rate(write, pool, kind, THROUGHPUT_ROWS))
        for kind in ("csv", "jsonl")
        for name, write in ((PRODUCTION_SLICE, write_slice), (MODEL_PATH, model_path_slice))
    ]
    print("export writer: renderer throughput ...", flush=True)
    parsed = [(d, json.loads(d)) for d in rows_of(pool, THROUGHPUT_ROWS)]
    renderers: list[tuple[str, str, Renderer]] = [
        ("CSV", "production: `render_parsed`", lambda d: fmt.render_parsed(d, "csv")),
        ("CSV", "baseline, not the production path: `csv.writer`", baseline_csv),
        ("JSONL", "production: `render_parsed`", lambda d: fmt.render_parsed(d, "jsonl")),
        ("JSONL", "baseline, not the production path: `json.dumps`", baseline_jsonl),
    ]
    rendered = [(kind, name, *render_rate(render, parsed)) for kind, name, render in renderers]

    def table(measured: list[tuple[str, str, float, int]]) -> list[str]:
        ours = {kind: r for kind, name, r, _ in measured if name.startswith("production")}
        lines = ["| format | variant | rows/s | bytes/row | production vs this |", "|---|---|---:|---:|---:|"]
        for kind, name, r, size in measured:
            lines.append(
                f"| {kind} | {name} | {r:,.0f} | {size / THROUGHPUT_ROWS:,.0f} | {ours[kind] / r:.2f}x |"
            )
        return lines

    lines = [
        "## Export writer",
        "",
        report.stamp(),
        "Run: `make bench` (`python -m bench`).",
        "",
        "### Throughput: an export slice, stored documents to file rows",
        "",
        f"{THROUGHPUT_ROWS:,} rows per variant (a pool of {POOL:,} distinct typical events, stored JSON",
        f"documents as the events table holds them), best of {REPEATS}, same process, same rows. The",
        "ExportSlice Lambda's logic as it runs, apart from DynamoDB and S3: `write_slice` reads the slice's",
        "index entries from an in-memory store, fetches the documents in groups of 100, checks every",
        "filter on each event, renders the rows and streams them through `assemble` (SHA-256, 8 MiB parts)",
        "into a sink that discards them (the in-memory store's own work, about a tenth, is included).",
        "Since 2026-12-02 the slice renders the documents it parsed to filter them; before, it validated",
        "a pydantic model per row (the comparison row), while this benchmark measured only the renderer.",
        "",
        *table(slices),
        "",
        "### Throughput: the renderer alone",
        "",
        "The same rows, parsed once beforehand (as `write_slice` hands them to its renderer). The renderer",
        "does more than the baseline: it fills in the API's null fields and neutralises formula cells, so",
        "its output equals the API's; the baseline JSONL is not the API shape.",
        "",
        *table(rendered),
        "",
        "### Memory: the slice and the assembly steps",
        "",
        "Each row is a fresh subprocess; RSS is the process's peak resident set (`VmHWM`), before",
        "is after imports and building the event pool. 8 MiB parts. *slice*: `write_slice` over that",
        "many stored events (a slice is stored uncompressed). *assembly*: `assemble_run` over",
        f"{ASSEMBLY_SLICES} slices of those rows read back in 1 MiB chunks, header first, then gzip.",
        "(Until 2026-12-02 one pass of render and assemble was measured, which no step runs.)",
        "",
        "| step | rows | format | gzip | seconds | rows/s | file size | parts | RSS before | RSS peak "
        "| growth |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runs = [("slice", rows, kind, False) for rows, kind in SLICE_RUNS]
    runs += [("assembly", rows, kind, True) for rows, kind in ASSEMBLY_RUNS]
    for step, rows, kind, compress in runs:
        print(f"export writer: memory {step} {rows:,} {kind} gzip={compress} ...", flush=True)
        if step == "slice":
            m = memory_run("slice", str(rows), kind)
        else:
            m = memory_run("assemble", str(rows), kind, "gzip" if compress else "none")
        lines.append(
            f"| {step} | {rows:,} | {kind} | {'yes' if compress else 'no'} | {m['seconds']:.1f} | "
            f"{rows / m['seconds']:,.0f} | {m['bytes'] / 2**20:,.1f} MiB | {m['parts']} | "
            f"{m['rss_before_mib']:.0f} MiB | {m['rss_peak_mib']:.0f} MiB | "
            f"{m['rss_peak_mib'] - m['rss_before_mib']:.0f} MiB |"
        )
    lines += [
        "",
        "Peak memory does not grow with the row count: it is bounded by one part being filled plus the",
        "copy being uploaded (see docs/exports.md, Assembly).",
    ]
    report.write_section("export-writer", "\n".join(lines))
    print("\n".join(lines))
    print(f"written to {RESULTS.relative_to(ROOT)}")
