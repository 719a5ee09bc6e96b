"""The benchmark report helper replaces only its own marked section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

from bench import report


def test_a_section_is_appended_then_replaced_in_place_leaving_the_others(tmp_path: Path) -> None:
    # Given a results file with another benchmark's section
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n<!-- bench:other:start -->\nkeep me\n<!-- bench:other:end -->\n")

    # When a section is written twice
    report.write_section("ingest", "first", path)
    report.write_section("ingest", "second", path)

    # Then the other section is untouched and ours holds only the latest text, once
    text = path.read_text()
    assert "keep me" in text
    assert text.count("<!-- bench:ingest:start -->") == 1
    assert "second" in text and "first" not in text
    assert text.index("bench:other:end") < text.index("bench:ingest:start")


def test_the_machine_line_names_cores_and_python() -> None:
    line = report.machine()
    assert "cores" in line and "Python 3." in line
