"""The export end-to-end report: every size measured, the largest one summarised for the goals table."""

from __future__ import annotations

from bench import export_e2e


def _row(events: int, status: str = "succeeded", export_s: float = 80.0) -> dict[str, object]:
    return {
        "events": events,
        "table_events": events,
        "seed_s": 50.0,
        "export_s": export_s,
        "status": status,
        "rows": events + 1,
        "bytes": 400 * events,
        "slices": 64,
        "startup_s": 9.0,
        "fast_queries": 600,
        "moto_queries": 40,
    }


def test_the_default_run_goes_up_to_100k_events() -> None:
    assert export_e2e.Config().sizes[-1] == export_e2e.TARGET == 100_000


def test_the_report_states_the_largest_run_and_extrapolates_nothing() -> None:
    # Given three measured sizes, When the section is rendered
    text = export_e2e.render([_row(1_000, export_s=5.0), _row(10_000, export_s=13.0), _row(100_000)])
    # Then the largest run's wall and store time are the summary line, and nothing is projected
    line = export_e2e.summary_line(text)
    assert line == "Largest run: 100,000 events exported locally in 80 s wall (1,250 rows/s; stored in 50 s)."
    assert "| 100,000 | 100,000 | 50.0 | 80.0 | succeeded | 100001 |" in text
    assert "600 / 40 |" in text
    assert "extrapolat" not in text.replace("none extrapolated", "")


def test_a_failed_largest_run_is_summarised_as_such() -> None:
    line = export_e2e.summary([_row(1_000), _row(100_000, status="still running (timed out)", export_s=300)])
    assert line == "Largest run: 100,000 events, export still running (timed out) after 300 s."
    assert export_e2e.summary_line("no such line") == ""
