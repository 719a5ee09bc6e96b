"""/v1/exports[...] (scope exports:manage) and the public /v1/downloads/{token} (the `Exports` function)."""
# No `from __future__ import annotations`: Powertools resolves route annotations (Response[...]) at import.

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import auditing, http, wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok, redirect
from activitylog.logic import audit, clock
from activitylog.logic import exports as logic
from activitylog.logic import schedules as schedule_logic
from activitylog.models.auth import Principal, Scope
from activitylog.models.errors import ForbiddenError
from activitylog.models.exports import Export, ExportCreate, ExportCreated, ExportPage, Run, RunPage
from activitylog.models.schedules import Schedule, ScheduleRequest

router = Router()
Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=2048)]


def _ports() -> logic.ExportPorts:
    return wiring.container().export_ports()


def _schedule_ports() -> schedule_logic.SchedulePorts:
    return wiring.container().schedule_ports()


def _principal() -> Principal:
    principal = principal_of(router)
    if not principal.can(Scope.EXPORTS_MANAGE):
        raise ForbiddenError("this key lacks the exports:manage scope")
    return principal


def _visible(export_id: str) -> Principal:
    """The caller, once it is known to see this export (a restricted token: 404 for any other)."""
    principal = _principal()
    if principal.restricted:
        logic.get_export(principal.tenant, export_id, ports=_ports(), within=principal)
    return principal


def _audit(principal: Principal, action: str, export_id: str, run_id: str | None = None) -> None:
    targets = [{"type": "export", "id": export_id}] + (
        [{"type": "export_run", "id": run_id}] if run_id else []
    )
    auditing.record(principal.tenant, action, audit.key_actor(principal), targets=targets)


def _deleted(principal: Principal, action: str, export_id: str) -> Response[None]:
    _audit(principal, action, export_id)
    return Response(status_code=204)


def _redirect(url: str) -> Response[None]:
    return Response(status_code=302, headers={"Location": url, "Cache-Control": "no-store"})


@router.post(
    "/v1/exports",
    summary="Create an export and start its first run (unless run_now is false)",
    description='Scope exports:manage. `"run_now": false` creates the export without a run (one made '
    'to be scheduled): 201 with `"run": null`.',
    operation_id="createExport",
    security=BEARER,
    responses=answers(
        {
            **ok(202, "the export and its first run (queued)", ExportCreated),
            **ok(201, "the export, created with `run_now: false`: `run` is null", ExportCreated),
        },
        403,
        body=True,
        why={503: "the data store stayed busy, or the export workflow could not be started: retry later"},
    ),
)
@http.requires(Scope.EXPORTS_MANAGE)
def create_route(body: Annotated[ExportCreate, Body()]) -> Response[ExportCreated]:
    principal = _principal()
    created = logic.create_export(principal.tenant, body, now=clock.now(), ports=_ports(), within=principal)
    run_id = created.run.id if created.run else None
    _audit(principal, "activitylog.export.created", created.export.id, run_id)
    status = 202 if created.run else 201
    return Response(status_code=status, content_type="application/json", body=created)


@router.get(
    "/v1/exports",
    summary="List exports, newest first",
    operation_id="listExports",
    security=BEARER,
    responses=answers(ok(200, "a page of exports", ExportPage), 403, 422),
)
def list_route(limit: Limit = 50, cursor: Cursor = None) -> ExportPage:
    principal = _principal()
    return logic.list_exports(principal.tenant, limit=limit, cursor=cursor, ports=_ports(), within=principal)


@router.get(
    "/v1/exports/<export_id>",
    summary="Get an export",
    operation_id="getExport",
    security=BEARER,
    responses=answers(ok(200, "the export", Export), 403, 404, 422),
)
def get_route(export_id: Id) -> Export:
    principal = _principal()
    return logic.get_export(principal.tenant, export_id, ports=_ports(), within=principal)


@router.delete(
    "/v1/exports/<export_id>",
    summary="Delete an export, its runs, its schedule and its files",
    operation_id="deleteExport",
    security=BEARER,
    responses=answers(ok(204, "deleted"), 403, 404, 422),
)
def delete_route(export_id: Id) -> Response[None]:
    principal = _principal()
    logic.delete_export(principal.tenant, export_id, ports=_ports(), within=principal)
    return _deleted(principal, "activitylog.export.deleted", export_id)


@router.post(
    "/v1/exports/<export_id>/runs",
    summary="Start a new run",
    operation_id="startRun",
    security=BEARER,
    responses=answers(
        ok(202, "the new run (queued)", Run),
        403,
        404,
        422,
        why={503: "the data store stayed busy, or the export workflow could not be started: retry later"},
    ),
)
@http.requires(Scope.EXPORTS_MANAGE)
def start_route(export_id: Id) -> Response[Run]:
    principal = _principal()
    run = logic.start_run(principal.tenant, export_id, now=clock.now(), ports=_ports(), within=principal)
    _audit(principal, "activitylog.export.run_started", export_id, run.id)
    return Response(status_code=202, content_type="application/json", body=run)


@router.get(
    "/v1/exports/<export_id>/runs",
    summary="List runs, newest first (by creation)",
    operation_id="listRuns",
    security=BEARER,
    responses=answers(ok(200, "a page of runs", RunPage), 403, 404, 422),
)
def runs_route(export_id: Id, limit: Limit = 50, cursor: Cursor = None) -> RunPage:
    principal = _principal()
    return logic.list_runs(
        principal.tenant,
        export_id,
        limit=limit,
        cursor=cursor,
        now=clock.now(),
        ports=_ports(),
        within=principal,
    )


@router.get(
    "/v1/exports/<export_id>/runs/<run_id>",
    summary="Get a run",
    operation_id="getRun",
    security=BEARER,
    responses=answers(ok(200, "the run", Run), 403, 404, 422),
)
def run_route(export_id: Id, run_id: Id) -> Run:
    principal = _principal()
    return logic.get_run(
        principal.tenant, export_id, run_id, now=clock.now(), ports=_ports(), within=principal
    )


@router.get(
    "/v1/exports/<export_id>/runs/<run_id>/download",
    summary="Download a run's file (302 to a presigned URL valid 15 minutes)",
    operation_id="downloadRun",
    security=BEARER,
    responses=answers(
        redirect("redirect to the file: a presigned URL valid 15 minutes (no body)"),
        403,
        404,
        409,
        410,
        422,
        why={409: "the run has not succeeded (yet): there is no file (`conflict`)"},
    ),
)
def download_route(export_id: Id, run_id: Id) -> Response[None]:
    principal = _principal()
    url = logic.download_url(
        principal.tenant, export_id, run_id, now=clock.now(), ports=_ports(), within=principal
    )
    actor = audit.key_actor(principal)
    _audit_download(principal.tenant, f"key:{principal.key_id}:{run_id}", actor, export_id, run_id)
    return _redirect(url)


@router.put(
    "/v1/exports/<export_id>/schedule",
    summary="Create or replace the export's schedule",
    operation_id="putSchedule",
    security=BEARER,
    responses=answers(
        ok(200, "the schedule", Schedule),
        403,
        404,
        body=True,
        why={422: "the request is not valid, or the expression fires more often than once an hour"},
    ),
)
@http.requires(Scope.EXPORTS_MANAGE)
def put_schedule_route(export_id: Id, body: Annotated[ScheduleRequest, Body()]) -> Schedule:
    principal = _visible(export_id)
    schedule = schedule_logic.put_schedule(
        principal.tenant, export_id, body, now=clock.now(), ports=_schedule_ports()
    )
    _audit(principal, "activitylog.export.schedule_updated", schedule.export_id)
    return schedule


@router.get(
    "/v1/exports/<export_id>/schedule",
    summary="Get the export's schedule",
    operation_id="getSchedule",
    security=BEARER,
    responses=answers(ok(200, "the schedule", Schedule), 403, 404, 422),
)
def get_schedule_route(export_id: Id) -> Schedule:
    return schedule_logic.get_schedule(_visible(export_id).tenant, export_id, ports=_schedule_ports())


@router.delete(
    "/v1/exports/<export_id>/schedule",
    summary="Delete the export's schedule",
    operation_id="deleteSchedule",
    security=BEARER,
    responses=answers(ok(204, "deleted"), 403, 404, 422),
)
def delete_schedule_route(export_id: Id) -> Response[None]:
    principal = _visible(export_id)
    schedule_logic.delete_schedule(principal.tenant, export_id, ports=_schedule_ports())
    return _deleted(principal, "activitylog.export.schedule_deleted", export_id)


@router.get(
    "/v1/downloads/<token>",
    summary="Download with an emailed link (no API key: the token is the credential)",
    operation_id="downloadByToken",
    responses=answers(
        redirect("redirect to the file: a presigned URL valid 15 minutes (no body)"),
        400,
        404,
        410,
        422,
        429,
        503,
        keyed=False,
        why={
            400: "an unknown query parameter (named in the message)",
            404: "an invalid or tampered token, or its run has no file (`not_found`)",
            410: "gone: the link (and its file) expired after 7 days",
        },
    ),
)
def token_route(token: Annotated[str, Path(min_length=1, max_length=1024)]) -> Response[None]:
    url, grant = logic.download_by_token(token, now=clock.now(), ports=_ports())
    # The emailed link is the credential: the actor is the link (its run), not an API key.
    actor = {"id": f"download-link:{grant.run_id}", "type": "download_link"}
    _audit_download(grant.tenant, f"link:{grant.run_id}", actor, grant.export_id, grant.run_id)
    return _redirect(url)


def _audit_download(tenant: str, who: str, actor: dict[str, str], export_id: str, run_id: str) -> None:
    """At most one audit event per downloader (a key or a link, per run) and minute: a link that is
    clicked (or scanned by a mail filter) a thousand times does not write a thousand events. The
    event says how many more downloads the previous minute with one had (`more_downloads`)."""
    now = clock.now()
    expires = int(now.timestamp()) + 8 * 86_400  # past the file's 7 days
    more = wiring.container().control.note_download(
        tenant, who, now.strftime("%Y-%m-%dT%H:%M"), expires=expires
    )
    if more is None:
        return
    targets = [{"type": "export", "id": export_id}, {"type": "export_run", "id": run_id}]
    metadata = {"more_downloads": more} if more else None
    auditing.record(tenant, "activitylog.export.downloaded", actor, targets=targets, metadata=metadata)
