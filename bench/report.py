"""Shared helpers of the benchmarks: the machine line and one marked section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} ({platform.system()})"


def stamp() -> str:
    return f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}."


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def child_env() -> dict[str, str]:
    """The environment of a child `python`: our packages importable as in `make bench`."""
    paths = [str(ROOT), str(ROOT / "functions"), str(ROOT / "ops")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def write_section(name: str, text: str, path: Path = RESULTS) -> None:
    """Replace the section between `<!-- bench:<name>:start/end -->` (appended when missing)."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    section = f"{start}\n{text.rstrip()}\n{end}\n"
    current = path.read_text() if path.exists() else "# Benchmarks\n\nRun with `make bench`.\n\n"
    if start in current and end in current:
        head, rest = current.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        updated = head + section + ("\n" + tail if tail else "")
    else:
        updated = current.rstrip() + "\n\n" + section
    path.write_text(updated)
