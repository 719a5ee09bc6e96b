"""Exports API use cases: definitions, runs, downloads (API.md "Exports").

The tenant always comes from the caller's principal (or a verified download token); every read is
keyed by it, so another tenant's export, run or file is simply "not found".

A restricted caller (`within`: a viewer token with an actor or target restriction) creates exports
whose stored filters carry its restriction, so their runs' files hold nothing outside it; it sees,
runs, downloads and deletes only exports whose filters lie within its restriction, and any other
export of the tenant is "not found" to it (docs/security.md, "Viewer tokens").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from ulid import ULID

from activitylog.logic import cursor as cursors
from activitylog.logic import download_tokens
from activitylog.logic.export_format import file_name
from activitylog.logic.ports import ExportStore
from activitylog.logic.query_plan import restrict
from activitylog.models.auth import Principal
from activitylog.models.errors import (
    BadRequestError,
    ConflictError,
    GoneError,
    InvalidInputError,
    NotFoundError,
    StorageUnavailableError,
)
from activitylog.models.exports import (
    Export,
    ExportCreate,
    ExportCreated,
    ExportPage,
    Run,
    RunPage,
    RunRecord,
    WorkflowInput,
)

PRESIGN_SECONDS = 900  # API.md: a redirect is valid for at most 15 minutes
_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")  # ULID
_RUN_POSITION = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#[0-9A-HJKMNP-TV-Z]{26}$")


@dataclass(frozen=True, slots=True)
class ExportPorts:
    store: ExportStore
    start_workflow: Callable[[WorkflowInput], None]  # StartExecution, name = run id
    presign: Callable[[str, str], str]  # (key, file name) -> short-lived URL
    delete_files: Callable[[str], object]  # every object under a key prefix
    # The signing secret's current then previous key (lazily: the previous only when needed).
    verification_keys: Callable[[], Iterable[bytes]]
    base_url: str
    remove_schedule: Callable[[str, str], None]  # (tenant, export id): Scheduler and record


def file_prefix(tenant: str, export_id: str) -> str:
    return f"exports/{tenant}/{export_id}/"


def temp_prefix(tenant: str, export_id: str, run_id: str | None = None) -> str:
    return f"tmp/{tenant}/{export_id}/" + (f"{run_id}/" if run_id else "")


def _check_id(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise NotFoundError(f"no such {what}")
    return value


def visible_to(export: Export, within: Principal | None) -> bool:
    """Whether a caller sees this export: always, unless it is restricted; then only when the
    export's filters already lie within its restriction (so its files hold nothing outside it)."""
    return within is None or not within.restricted or restrict(within, export.filters) == export.filters


def _export(tenant: str, export_id: str, ports: ExportPorts, within: Principal | None = None) -> Export:
    export = ports.store.get_export(tenant, _check_id(export_id, "export"))
    if export is None or not visible_to(export, within):
        raise NotFoundError("no such export")
    return export


def _run(
    tenant: str, export_id: str, run_id: str, ports: ExportPorts, within: Principal | None = None
) -> RunRecord:
    _export(tenant, export_id, ports, within)
    run = ports.store.get_run(tenant, export_id, _check_id(run_id, "run"))
    if run is None:
        raise NotFoundError("no such run")
    return run


def create_export(
    tenant: str,
    request: ExportCreate,
    *,
    now: datetime,
    ports: ExportPorts,
    within: Principal | None = None,
) -> ExportCreated:
    filters = restrict(within, request.filters) if within is not None else request.filters
    # A stored filter names one target: an export of another target than the restriction's
    # cannot carry both, so it is refused rather than stored wider.
    if filters is None or filters.also_target is not None:
        raise InvalidInputError(
            "the filters ask for events outside this credential's restriction (its actor_id or target)"
        )
    export = Export(
        id=str(ULID.from_datetime(now)),
        name=request.name,
        format=request.format,
        compression=request.compression,
        filters=filters,
        recipients=request.recipients,
        created_at=now,
    )
    ports.store.put_export(tenant, export)
    run = _start(tenant, export, now=now, ports=ports) if request.run_now else None
    return ExportCreated(export=export, run=run)


def start_run(
    tenant: str, export_id: str, *, now: datetime, ports: ExportPorts, within: Principal | None = None
) -> Run:
    return _start(tenant, _export(tenant, export_id, ports, within), now=now, ports=ports)


def _start(tenant: str, export: Export, *, now: datetime, ports: ExportPorts) -> Run:
    """Record the run as queued first, then start its execution (so the watchdog always finds it)."""
    run = RunRecord(id=str(ULID.from_datetime(now)), export_id=export.id, status="queued", created_at=now)
    ports.store.put_run(tenant, run)
    try:
        ports.start_workflow(WorkflowInput(tenant=tenant, export_id=export.id, run_id=run.id))
    except Exception as err:
        failed = run.model_copy(
            update={
                "status": "failed",
                "finished_at": now,
                "error": "the export workflow could not be started",
            }
        )
        with suppress(Exception):  # best effort: the answer is the 503 below, whatever this does
            ports.store.update_run(tenant, failed, expected={"queued"})
        raise StorageUnavailableError("the export workflow could not be started, retry later") from err
    return Run.of(run, now=now, base_url=ports.base_url)


def get_export(tenant: str, export_id: str, *, ports: ExportPorts, within: Principal | None = None) -> Export:
    return _export(tenant, export_id, ports, within)


def list_exports(
    tenant: str, *, limit: int, cursor: str | None, ports: ExportPorts, within: Principal | None = None
) -> ExportPage:
    """A restricted caller's pages hold only the exports it sees (a page may be short, even empty,
    while `next_cursor` is set: API.md "Lists")."""
    restricted = within is not None and within.restricted
    fp = cursors.fingerprint(tenant, f"exports:{within.key_id}" if restricted and within else "exports", {})
    after = _check_cursor_id(cursors.position_str(cursors.decode(cursor, fp), "p")) if cursor else None
    exports, more = ports.store.list_exports(tenant, limit=limit, after=after)
    next_cursor = cursors.encode(fp, {"p": exports[-1].id}) if more and exports else None
    return ExportPage(exports=[e for e in exports if visible_to(e, within)], next_cursor=next_cursor)


def delete_export(
    tenant: str, export_id: str, *, ports: ExportPorts, within: Principal | None = None
) -> None:
    export = _export(tenant, export_id, ports, within)
    ports.remove_schedule(tenant, export.id)
    ports.delete_files(file_prefix(tenant, export.id))
    ports.delete_files(temp_prefix(tenant, export.id))
    ports.store.delete_export(tenant, export.id)


def list_runs(
    tenant: str,
    export_id: str,
    *,
    limit: int,
    cursor: str | None,
    now: datetime,
    ports: ExportPorts,
    within: Principal | None = None,
) -> RunPage:
    export = _export(tenant, export_id, ports, within)
    fp = cursors.fingerprint(tenant, "runs", {"export": export.id})
    before = _check_run_position(cursors.position_str(cursors.decode(cursor, fp), "r")) if cursor else None
    runs, more = ports.store.list_runs(tenant, export.id, limit=limit, before=before)
    next_cursor = cursors.encode(fp, {"r": runs[-1].position()}) if more and runs else None
    return RunPage(runs=[Run.of(r, now=now, base_url=ports.base_url) for r in runs], next_cursor=next_cursor)


def get_run(
    tenant: str,
    export_id: str,
    run_id: str,
    *,
    now: datetime,
    ports: ExportPorts,
    within: Principal | None = None,
) -> Run:
    return Run.of(_run(tenant, export_id, run_id, ports, within), now=now, base_url=ports.base_url)


def download_url(
    tenant: str,
    export_id: str,
    run_id: str,
    *,
    now: datetime,
    ports: ExportPorts,
    within: Principal | None = None,
) -> str:
    """A fresh presigned URL of the run's file: 409 while not succeeded, 410 once expired."""
    export = _export(tenant, export_id, ports, within)
    run = _run(tenant, export_id, run_id, ports, within)
    if run.expired(now):
        raise GoneError("the file of this run has expired (files are kept 7 days)")
    if run.status != "succeeded" or run.key is None:
        raise ConflictError(f"the run is {run.status}: there is no file to download yet")
    return ports.presign(run.key, file_name(export.name, run.id, export.format, export.compression))


def download_by_token(
    token: str, *, now: datetime, ports: ExportPorts
) -> tuple[str, download_tokens.DownloadGrant]:
    """The presigned URL and what the token grants (for the audit trail)."""
    grant = download_tokens.verify(ports.verification_keys(), token, now=now)
    try:
        return download_url(grant.tenant, grant.export_id, grant.run_id, now=now, ports=ports), grant
    except ConflictError:
        raise NotFoundError("no such download") from None


def _check_cursor_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise BadRequestError("invalid cursor")
    return value


def _check_run_position(value: str) -> str:
    """`<created_at>#<run id>` (RunRecord.position), as the previous page ended."""
    if not _RUN_POSITION.fullmatch(value):
        raise BadRequestError("invalid cursor")
    return value
