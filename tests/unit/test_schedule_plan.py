"""The Plan step with scheduled runs: the run's window replaces the export's range; settle wait."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic.export_workflow import WorkflowPorts, plan, wait_until
from activitylog.models.exports import Export, RunRecord, WorkflowInput

NOW = datetime(2026, 11, 24, 6, 5, tzinfo=UTC)
EXPORT = Export(
    id="01KEXPORT0000000000000000A",
    name="Daily",
    format="csv",
    compression="none",
    filters={"from": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"},
    recipients=[],
    created_at=NOW,
)


class Store:
    def __init__(self, run: RunRecord) -> None:
        self.run = run

    def get_export(self, tenant: str, export_id: str) -> Export | None:
        return EXPORT

    def get_run(self, tenant: str, export_id: str, run_id: str) -> RunRecord | None:
        return self.run

    def update_run(self, tenant: str, run: RunRecord, *, expected: Iterable[str]) -> bool:
        self.run = run
        return True


def run_plan(**fields: Any) -> tuple[dict[str, Any], RunRecord]:
    store = Store(RunRecord(id="R", export_id=EXPORT.id, status="queued", created_at=NOW, **fields))
    ports = WorkflowPorts(store=store, files=None, query=None)  # type: ignore[arg-type]
    out = plan(WorkflowInput(tenant="acme", export_id=EXPORT.id, run_id="R"), now=NOW, ports=ports)
    return out, store.run


def test_a_scheduled_run_reads_its_window_and_waits_until_its_settle_time() -> None:
    start, end = datetime(2026, 11, 23, 5, tzinfo=UTC), datetime(2026, 11, 24, 5, tzinfo=UTC)
    settle = NOW + timedelta(minutes=10, microseconds=1500)
    out, run = run_plan(range_from=start, range_to=end, not_before=settle)
    assert (run.range_from, run.range_to, run.status) == (start, end, "running")
    assert out["slices"][0]["start"] == "2026-11-23T05:00:00.000Z"
    assert out["slices"][-1]["end"] == "2026-11-24T05:00:00.000Z"
    assert out["not_before"] == "2026-11-24T06:15:01Z"  # rounded up to whole seconds


@pytest.mark.parametrize("not_before", [None, NOW, NOW - timedelta(hours=1)])
def test_no_wait_when_the_settle_time_has_passed_or_the_run_is_manual(not_before: datetime | None) -> None:
    out, run = run_plan(not_before=not_before)
    assert "not_before" not in out
    if not_before is None:  # a manual run keeps the export's own range
        assert (run.range_from, run.range_to) == (EXPORT.filters.from_, EXPORT.filters.to)


def test_wait_until_is_the_wait_states_format() -> None:
    assert wait_until(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
