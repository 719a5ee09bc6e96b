"""The cold-start probe times an import in a fresh process; the export extrapolation is linear."""

from __future__ import annotations

import pytest

from bench import cold_start, export_e2e


def test_an_import_is_timed_in_a_fresh_process() -> None:
    seconds, has_boto3 = cold_start.import_seconds("json")
    assert 0 < seconds < 10
    assert has_boto3 is False


def test_the_export_extrapolation_uses_the_marginal_cost_between_two_runs() -> None:
    rows = [
        {"events": 1_000, "export_s": 10.0, "status": "succeeded"},
        {"events": 3_000, "export_s": 14.0, "status": "succeeded"},
    ]
    assert export_e2e.extrapolate(rows, target=5_000) == pytest.approx(18.0)
    assert export_e2e.extrapolate(rows[:1]) is None
