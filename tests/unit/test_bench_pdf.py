"""The PDF benchmark measures the production renderer on the slices' JSON Lines (tiny sizes)."""

from __future__ import annotations

import json

from bench import pdf


def test_the_input_is_what_the_slices_write_one_stored_event_a_line() -> None:
    lines = pdf.jsonl(12, pdf.MIXES["six scripts"]).splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == 12 and len({e["id"] for e in events}) == 12
    assert {e["actor"]["name"] for e in events} == set(pdf.MIXES["six scripts"])
    assert all(set(e) >= {"occurred_at", "actor", "targets", "context", "changes", "outcome"} for e in events)


def test_each_case_runs_in_its_own_process_and_reads_its_pdf_back() -> None:
    results = pdf.measure(40)
    assert [r["mix"] for r in results] == list(pdf.MIXES)
    for r in results:
        assert r["events"] == 40 and r["pages"] >= 4 and r["bytes"] > 10_000
        assert r["seconds"] > 0 and r["peak_mb"] >= r["before_mb"] > 0
    section = pdf.render(results)
    assert section.startswith("## PDF export: 10,000 events")
    assert "| six scripts | 40 |" in section and "| latin | 40 |" in section
