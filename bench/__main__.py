"""`python -m bench [name ...]`: run the benchmarks (all by default), each writing its section of
docs/benchmarks.md; the cost model also writes docs/cost.md (`catalogue` and `streaming` add their
sections to it, as do `alerts` and `reports`). Names: export-writer, ingest, cold-start, query, export-e2e,
catalogue, cost, console, streaming, alerts, reports, pdf."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench import (
    alerts,
    catalogue,
    cold_start,
    console,
    cost,
    export_e2e,
    export_writer,
    ingest,
    pdf,
    query,
    report,
    reports,
    streaming,
)

ALL = [
    "export-writer",
    "ingest",
    "cold-start",
    "query",
    "export-e2e",
    "catalogue",
    "cost",
    "console",
    "streaming",
    "alerts",
    "reports",
    "pdf",
]
TITLES = {
    "ingest": "Ingest CPU per event ≤ 1.5x the floor",
    "cold-start": "Handler import ≤ 1.3x `import boto3`",
    "query": "Index entries read per event returned ≤ 1.1 (indexed filters)",
    "catalogue": "Catalogue: < 0.01 extra write units per event (steady state)",
    "cost": "≤ $3.50 per million events (90 days, PITR, every filter indexed)",
    "console": "Console JS + CSS of the activity page ≤ 150 KB gzip",
    "reports": "Reports: < 0.2 extra write units per event (steady state, 1M events a month)",
}


def goal_line(text: str) -> str:
    """The verdict line a section states (`Goal ...: **met**/**not met** (...)`)."""
    return next((line for line in text.splitlines() if line.startswith("Goal")), "")


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        return export_writer.child(argv[1:])
    chosen = argv or ALL
    unknown = sorted(set(chosen) - set(ALL))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ALL)}", file=sys.stderr)
        return 2
    cpu: dict[str, float] = {}
    verdicts: dict[str, str] = {}

    def section(name: str, text: str) -> None:
        report.write_section(name, text)
        verdicts[name] = goal_line(text)

    def run_ingest() -> None:
        config = ingest.Config()
        results = ingest.measure(config)
        cpu["per_event"] = results[100]["handler"]
        section("ingest", ingest.render(config, results))

    def run_cost() -> None:
        result = cost.model(cpu.get("per_event"))
        path = report.ROOT / "docs" / "cost.md"
        previous = path.read_text() if path.exists() else ""
        path.write_text(cost.document(result))
        catalogue.keep_cost_section(previous)  # written by `catalogue`, kept by the cost model
        streaming.keep_cost_section(previous)  # written by `streaming`, kept likewise
        alerts.keep_cost_section(previous)  # written by `alerts`, kept likewise
        reports.keep_cost_section(previous)  # written by `reports`, kept likewise
        section("cost", cost.summary(result))

    steps: dict[str, Callable[[], None]] = {
        "export-writer": export_writer.main,
        "ingest": run_ingest,
        "cold-start": lambda: section("cold-start", cold_start.run()),
        "query": lambda: section("query", query.run()),
        "export-e2e": lambda: section("export-e2e", export_e2e.run()),
        "catalogue": lambda: section("catalogue", catalogue.run()),
        "cost": run_cost,
        "console": lambda: section("console", console.run()),
        "streaming": lambda: section("streaming", streaming.run()),  # also its section of docs/cost.md
        "alerts": lambda: section("alerts", alerts.run()),  # also its section of docs/cost.md
        "reports": lambda: section("reports", reports.run()),  # also its section of docs/cost.md
        "pdf": lambda: section("pdf", pdf.run()),
    }
    for name in ALL:
        if name in chosen:
            started = time.perf_counter()
            steps[name]()
            print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    write_goals(verdicts)
    print(f"written to {report.RESULTS.relative_to(report.ROOT)}")
    return 0


def section_text(name: str) -> str:
    """The current text of a section of docs/benchmarks.md ("" when it has none yet)."""
    text = report.RESULTS.read_text() if report.RESULTS.exists() else ""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    return text.split(start, 1)[1].split(end, 1)[0] if start in text and end in text else ""


def write_goals(verdicts: dict[str, str]) -> None:
    """The verdicts of this run, and of earlier runs for the benchmarks not run this time."""
    verdicts = {name: verdicts.get(name) or goal_line(section_text(name)) for name in TITLES}
    lines = [
        "## Goals (issue #6, Performance)",
        "",
        f"Updated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; each section states its run's date and machine.",
        "",
        "| goal | verdict (details and what would meet it: the section below) |",
        "|---|---|",
    ]
    for name, title in TITLES.items():
        verdict = verdicts.get(name, "").split(":", 1)[-1].strip()
        lines.append(f"| {title} | {verdict} |")
    largest = export_e2e.summary_line(section_text("export-e2e")).removeprefix(export_e2e.SUMMARY).strip()
    lines += [
        "| Export: writer ratios, flat memory, local end-to-end run | measured (Export writer and Export end "
        f"to end sections); {largest or 'no local end-to-end run recorded yet'} |",
    ]
    report.write_section("goals", "\n".join(lines))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
