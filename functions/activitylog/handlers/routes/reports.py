"""GET /v1/reports/activity, /v1/reports/heatmap (scope events:read or events:read:self; the
`Reports` function). The filters are GET /v1/events' (the one filter model), declared once."""
# No `from __future__ import annotations`: Powertools resolves route annotations at import.

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router

from activitylog.handlers import wiring
from activitylog.handlers.http import principal_of
from activitylog.handlers.routes.answers import BEARER, answers, ok
from activitylog.handlers.routes.query import filtered, from_query
from activitylog.logic import clock
from activitylog.logic import reports as logic
from activitylog.models.filters import EventFilter
from activitylog.models.reports import (
    GROUP_BY_PATTERN,
    MAX_TOP,
    ActivityReport,
    Heatmap,
    Interval,
    ReportParams,
)

router = Router()
IntervalParam = Annotated[Interval, Query(description="series intervals, boundaries in `tz`")]
Tz = Annotated[str, Query(min_length=1, max_length=64, description="IANA time zone (DST-correct days)")]
GroupByParam = Annotated[
    str | None,
    Query(
        pattern=GROUP_BY_PATTERN,
        max_length=49,
        description="action, actor, target, outcome, ip, metadata.<key>",
    ),
]
Top = Annotated[int, Query(ge=1, le=MAX_TOP)]
WHO = (
    "Scope events:read or events:read:self (a restricted key or viewer token: its own slice). "
    "`from` defaults to `to` minus 30 days, `to` to now. complete=false with retry_after_seconds "
    "when the answer needs longer than the request may take: it is computed meanwhile, ask again."
)


def _params(**values: object) -> ReportParams:
    return from_query(ReportParams, **values)


@router.get(
    "/v1/reports/activity",
    summary="Events per interval, top groups",
    description=WHO,
    operation_id="reportActivity",
    security=BEARER,
    responses=answers(ok(200, "the report", ActivityReport), 400, 403),
)
@filtered
def activity_route(
    filters: EventFilter,
    interval: IntervalParam = "day",
    tz: Tz = "UTC",
    group_by: GroupByParam = None,
    top: Top = 10,
) -> ActivityReport:
    principal = principal_of(router)
    params = _params(interval=interval, tz=tz, group_by=group_by, top=top)
    ports = wiring.container().report_ports(principal.tenant)
    return logic.activity(principal, filters, params, now=clock.now(), ports=ports)


@router.get(
    "/v1/reports/heatmap",
    summary="Events per weekday and hour",
    description=WHO,
    operation_id="reportHeatmap",
    security=BEARER,
    responses=answers(ok(200, "the heatmap", Heatmap), 400, 403),
)
@filtered
def heatmap_route(filters: EventFilter, tz: Tz = "UTC") -> Heatmap:
    principal = principal_of(router)
    params = _params(tz=tz)
    ports = wiring.container().report_ports(principal.tenant)
    return logic.heatmap(principal, filters, params, now=clock.now(), ports=ports)
