"""Firing a schedule: idempotent by (schedule, scheduled time), window fixed by the scheduled time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest
from activitylog.logic.schedules import FirePorts, fire
from activitylog.models.errors import ConflictError
from activitylog.models.exports import Export, RunRecord, WorkflowInput
from activitylog.models.schedules import FireEvent, Schedule

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # the firing arrives late (retries)
AT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 06:00 in Oslo
EXPORT_ID = "01KEXPORT0000000000000000A"


class Store:
    """In-memory ExportStore + ScheduleStore (only what firing uses)."""

    def __init__(self) -> None:
        self.exports: dict[tuple[str, str], Export] = {}
        self.runs: dict[tuple[str, str, str], RunRecord] = {}
        self.schedules: dict[tuple[str, str], Schedule] = {}

    def get_export(self, tenant: str, export_id: str) -> Export | None:
        return self.exports.get((tenant, export_id))

    def put_run(self, tenant: str, run: RunRecord) -> None:
        key = (tenant, run.export_id, run.id)
        if key in self.runs:
            raise ConflictError("exists")
        self.runs[key] = run

    def get_run(self, tenant: str, export_id: str, run_id: str) -> RunRecord | None:
        return self.runs.get((tenant, export_id, run_id))

    def get_schedule(self, tenant: str, export_id: str) -> Schedule | None:
        return self.schedules.get((tenant, export_id))

    def update_run(self, tenant: str, run: RunRecord, *, expected: Iterable[str]) -> bool:
        self.runs[(tenant, run.export_id, run.id)] = run
        return True


@pytest.fixture
def store() -> Store:
    store = Store()
    store.exports[("acme", EXPORT_ID)] = Export(
        id=EXPORT_ID,
        name="Daily",
        format="csv",
        compression="none",
        filters={},
        recipients=[],
        created_at=NOW,
    )
    store.schedules[("acme", EXPORT_ID)] = schedule()
    return store


def schedule(**changes: object) -> Schedule:
    fields: dict[str, object] = {
        "export_id": EXPORT_ID,
        "expression": "cron(0 6 * * ? *)",
        "timezone": "Europe/Oslo",
        "window": "P1D",
        "settle": "PT15M",
        "enabled": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return Schedule.model_validate({**fields, **changes})


def ports(store: Store, started: list[WorkflowInput]) -> FirePorts:
    return FirePorts(exports=store, schedules=store, start_workflow=started.append)  # type: ignore[arg-type]


def event(tenant: str = "acme", at: datetime = AT) -> FireEvent:
    return FireEvent(tenant=tenant, export_id=EXPORT_ID, scheduled_time=at)


def test_a_firing_records_the_window_ending_at_the_scheduled_time_and_starts_it(store: Store) -> None:
    started: list[WorkflowInput] = []
    result = fire(event(), now=NOW, ports=ports(store, started))
    assert result.outcome == "started" and result.run_id is not None
    run = store.runs[("acme", EXPORT_ID, result.run_id)]
    # the window ends at the scheduled time, not at NOW (the late delivery)
    assert (run.range_from, run.range_to) == (AT - timedelta(days=1), AT)
    assert run.not_before == AT + timedelta(minutes=15)
    assert run.status == "queued" and run.created_at == NOW
    assert started == [WorkflowInput(tenant="acme", export_id=EXPORT_ID, run_id=result.run_id)]


def test_a_firing_delivered_twice_starts_one_run(store: Store) -> None:
    started: list[WorkflowInput] = []
    first = fire(event(), now=NOW, ports=ports(store, started))
    store.runs[("acme", EXPORT_ID, str(first.run_id))].status = "running"
    second = fire(event(), now=NOW + timedelta(minutes=5), ports=ports(store, started))
    assert second.outcome == "duplicate" and second.run_id == first.run_id
    assert len(started) == 1 and len(store.runs) == 1


def test_a_redelivery_restarts_a_run_that_never_started(store: Store) -> None:
    # Given the first delivery recorded the run but died before StartExecution
    def broken(_: WorkflowInput) -> None:
        raise RuntimeError("network")

    with pytest.raises(RuntimeError):
        fire(event(), now=NOW, ports=FirePorts(exports=store, schedules=store, start_workflow=broken))  # type: ignore[arg-type]
    # When Scheduler retries / Then the same (still queued) run is started, once
    started: list[WorkflowInput] = []
    result = fire(event(), now=NOW, ports=ports(store, started))
    assert result.outcome == "started" and len(store.runs) == 1 and len(started) == 1


def test_different_scheduled_times_make_different_runs(store: Store) -> None:
    started: list[WorkflowInput] = []
    fire(event(), now=NOW, ports=ports(store, started))
    fire(event(at=AT + timedelta(days=1)), now=NOW, ports=ports(store, started))
    assert len({s.run_id for s in started}) == 2


@pytest.mark.parametrize("case", ["paused", "no schedule", "no export", "other tenant"])
def test_nothing_starts_without_an_enabled_schedule_of_an_existing_export(store: Store, case: str) -> None:
    tenant = "acme"
    if case == "paused":
        store.schedules[("acme", EXPORT_ID)] = schedule(enabled=False)
    elif case == "no schedule":
        del store.schedules[("acme", EXPORT_ID)]
    elif case == "no export":
        del store.exports[("acme", EXPORT_ID)]
    else:
        tenant = "intruder"
    started: list[WorkflowInput] = []
    result = fire(event(tenant), now=NOW, ports=ports(store, started))
    assert result.outcome == "skipped" and started == [] and store.runs == {}
