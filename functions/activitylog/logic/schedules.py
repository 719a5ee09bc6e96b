"""Scheduled exports (API.md "Scheduled exports"): the schedule API and the firing of a schedule.

The API keeps two things in step: the schedule record (control table, what GET answers and what a
firing trusts) and the EventBridge Scheduler schedule (what fires). Order matters for failures:
Scheduler is written first on PUT and deleted first on DELETE, and a firing whose record is missing
or paused starts nothing, so a half-done change never starts an unwanted run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from activitylog.logic.exports import ExportPorts, get_export
from activitylog.logic.ports import ExportStore, Schedules, ScheduleStore
from activitylog.logic.schedule_windows import not_before, scheduled_run_id, window_bounds
from activitylog.models.errors import ConflictError, NotFoundError
from activitylog.models.exports import RunRecord, WorkflowInput
from activitylog.models.schedules import FireEvent, FireResult, Schedule, ScheduleRequest


@dataclass(frozen=True, slots=True)
class SchedulePorts:
    exports: ExportPorts
    store: ScheduleStore
    scheduler: Schedules


def put_schedule(
    tenant: str, export_id: str, request: ScheduleRequest, *, now: datetime, ports: SchedulePorts
) -> Schedule:
    export = get_export(tenant, export_id, ports=ports.exports)  # 404 for another tenant's export
    existing = ports.store.get_schedule(tenant, export.id)
    schedule = Schedule(
        export_id=export.id,
        **request.model_dump(),
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    ports.scheduler.put(tenant, schedule)
    ports.store.put_schedule(tenant, schedule)
    return schedule


def get_schedule(tenant: str, export_id: str, *, ports: SchedulePorts) -> Schedule:
    export = get_export(tenant, export_id, ports=ports.exports)
    schedule = ports.store.get_schedule(tenant, export.id)
    if schedule is None:
        raise NotFoundError("this export has no schedule")
    return schedule


def delete_schedule(tenant: str, export_id: str, *, ports: SchedulePorts) -> None:
    export = get_export(tenant, export_id, ports=ports.exports)
    removed = ports.scheduler.delete(tenant, export.id)
    if ports.store.get_schedule(tenant, export.id) is None and not removed:
        raise NotFoundError("this export has no schedule")
    ports.store.delete_schedule(tenant, export.id)


def remove_schedule(tenant: str, export_id: str, *, store: ScheduleStore, scheduler: Schedules) -> None:
    """Deleting an export: its schedule goes first, so it cannot fire for a half-deleted export."""
    scheduler.delete(tenant, export_id)
    store.delete_schedule(tenant, export_id)


# --- firing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FirePorts:
    exports: ExportStore
    schedules: ScheduleStore
    start_workflow: Callable[[WorkflowInput], None]  # StartExecution, name = run id


def fire(event: FireEvent, *, now: datetime, ports: FirePorts) -> FireResult:
    """Record the run of one firing (idempotently) and start it; a second delivery starts nothing new.

    The run id is fixed by (tenant, export, scheduled time), and the run item is written with a
    condition that it does not exist yet. A repeated firing finds it: if it is still `queued` (the
    first delivery died before StartExecution) it starts it again, which Step Functions makes a
    no-op when the execution (named after the run) already exists.
    """
    tenant, export_id = event.tenant, event.export_id
    schedule = ports.schedules.get_schedule(tenant, export_id)
    if schedule is None or not schedule.enabled:
        return FireResult(outcome="skipped", reason="no enabled schedule for this export")
    if ports.exports.get_export(tenant, export_id) is None:
        return FireResult(outcome="skipped", reason="the export was deleted")
    start, end = window_bounds(schedule.window, schedule.timezone, event.scheduled_time)
    run = RunRecord(
        id=scheduled_run_id(tenant, export_id, event.scheduled_time),
        export_id=export_id,
        status="queued",
        created_at=now,
        range_from=start,
        range_to=end,
        not_before=not_before(event.scheduled_time, schedule.settle),
    )
    try:
        ports.exports.put_run(tenant, run)
    except ConflictError:
        existing = ports.exports.get_run(tenant, export_id, run.id)
        if existing is None or existing.status != "queued":
            return FireResult(outcome="duplicate", run_id=run.id)
    ports.start_workflow(WorkflowInput(tenant=tenant, export_id=export_id, run_id=run.id))
    return FireResult(outcome="started", run_id=run.id)
