"""PDF export benchmark (issue 17): the time and peak memory of drawing 10,000 events as a PDF.

What Assemble does for a PDF run, in a fresh Python process per case (so the peak resident set is
that case's own): parse the slices' JSON Lines (the API's StoredEvent JSON), then
`logic.export_pdf.render_pdf` (fonts loaded, cover, summary, table, fpdf2's output with font
subsetting). Two mixes of text:
- `latin`: names and descriptions in Latin, Greek and Cyrillic: Noto Sans draws everything;
- `six scripts`: a sixth of the users each in Latin, Greek, Cyrillic, Chinese, Arabic and Hebrew
  (Arabic and Hebrew go through HarfBuzz shaping, the slow path: docs/exports.md, "PDF").
Times are wall-clock on this machine; Lambda's Assemble has 1,024 MB and 900 s (infra).
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

EVENTS = 10_000
START = datetime(2026, 11, 1, tzinfo=UTC)
MIXES = {
    "latin": [
        "Zoë Ångström",
        "Ελένη Παπαδοπούλου",
        "Анна Каренина",
        "Ada Lovelace",
        "José Núñez",
        "Jan Novák",
    ],
    "six scripts": ["Zoë Ångström", "Ελένη Παπαδοπούλου", "Анна Каренина", "李雷", "سارة أحمد", "דוד לוי"],
}


def jsonl(count: int, names: list[str]) -> bytes:
    """`count` events as the slices' JSON Lines parts hold them, a minute apart over a week."""
    lines = []
    for n in range(count):
        stamp = (START + timedelta(seconds=61 * n)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event = {
            "id": f"01KBENCH{n:018d}",
            "action": ["asset.downloaded", "user.login", "document.updated", "search.performed"][n % 4],
            "occurred_at": stamp,
            "actor": {"id": f"user-{n % 120}", "type": "user", "name": names[n % 6], "email": None},
            "targets": [{"type": "asset", "id": str(n % 300), "name": f"Quarterly report {n % 300}"}],
            "context": {
                "ip": f"203.0.113.{n % 250}",
                "user_agent": None,
                "location": None,
                "session_id": None,
            },
            "changes": [{"field": "status", "before": "draft", "after": "final"}] if n % 4 == 2 else [],
            "description": f"{names[(n + 1) % 6]} opened the quarterly report" if n % 2 == 0 else None,
            "outcome": "failure" if n % 17 == 0 else "success",
            "metadata": {},
            "received_at": stamp,
            "expires_at": stamp,
        }
        lines.append(json.dumps(event, ensure_ascii=False))
    return "\n".join(lines).encode() + b"\n"


def child(mix: str, count: int) -> dict[str, Any]:
    """One case, in this process: the figures as JSON-ready values."""
    from activitylog.logic.export_pdf import ReportInfo, render_pdf
    from activitylog.models.filters import EventFilter

    data = jsonl(count, MIXES[mix])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    events = [json.loads(line) for line in data.splitlines()]
    info = ReportInfo(
        export_name="Benchmark report",
        export_id="01KBENCHEXPORT000000000000",
        run_id="01KBENCHRUN000000000000000",
        tenant="bench",
        filters=EventFilter(),
        range_from=START,
        range_to=START + timedelta(days=7, hours=1),
        generated_at=START + timedelta(days=8),
    )
    pdf = render_pdf(info, events)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    import io

    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return {
        "mix": mix,
        "events": count,
        "seconds": seconds,
        "peak_mb": peak / 1024,
        "before_mb": before / 1024,
        "bytes": len(pdf),
        "pages": pages,
        "input_bytes": len(data),
    }


def measure(count: int = EVENTS) -> list[dict[str, Any]]:
    results = []
    for mix in MIXES:
        code = f"import json, bench.pdf as b; print(json.dumps(b.child({mix!r}, {count})))"
        out = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=1800
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def render(results: list[dict[str, Any]]) -> str:
    lines = [
        "## PDF export: 10,000 events",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, Python {platform.python_version()} "
        "(`python -m bench pdf`, bench/pdf.py): one fresh process per case; time = parse the slices' JSON "
        "Lines + `render_pdf` (fonts, cover, summary, table, output); peak = the process's peak resident "
        "set (Python, fpdf2, fontTools and the fonts included), before = the same just before the "
        "case (interpreter and imports).",
        "",
        "| text | events | time | peak memory | before | PDF | pages | JSON Lines in |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['mix']} | {r['events']:,} | {r['seconds']:.1f} s | {r['peak_mb']:.0f} MB | "
            f"{r['before_mb']:.0f} MB | {r['bytes'] / 1e6:.2f} MB | {r['pages']:,} | "
            f"{r['input_bytes'] / 1e6:.1f} MB |"
        )
    lines += [
        "",
        "Assemble has 1,024 MB and 900 s (infra/constructs/export_workflow.py): the largest PDF uses a "
        "fraction of both. Lines in Arabic or Hebrew are drawn through fpdf2's `cell()` with HarfBuzz "
        "(about 12 ms a line here), every other line with one `text()` per font run, so a tenant "
        'whose events are all right-to-left text takes several times longer (docs/exports.md, "PDF").',
    ]
    return "\n".join(lines)


def run(count: int = EVENTS) -> str:
    return render(measure(count))
