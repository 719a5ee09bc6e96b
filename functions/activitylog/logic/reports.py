"""GET /v1/reports/activity and /v1/reports/heatmap (docs/reports.md).

A report cuts `[from, to)` into pieces: each UTC hour, cut again at the range's ends and at the
interval boundaries of the time zone (logic/report_calendar.py). A piece is answered from the
hour's rollup when the rollup can say exactly what the events would:
- the filters are ones the rollups count by (none; or one key filter, with no `group_by` or a
  `group_by` of the same dimension); any other combination is answered from a rollup of that very
  filter, which a report that ran out of time asks the worker to compute (`filtered`);
- the hour was computed after it was sealed, and no late event of it was received since
  (checked on the late events' own index partitions, which hold only them);
- none of its events has expired, or all have (the hour then counts nothing);
- the piece is the whole hour, or whole quarters of it when only totals are needed (zones half an
  hour or 45 minutes off UTC, and a day that starts at :30);
- `group_by` needs the hour's groups: the whole hour inside the range, and the dimension stored.
Every other piece is counted from the events, through the query path (the reads and the filter
check of GET /v1/events/count), within the request's time budget.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from activitylog.logic import cursor as cursors
from activitylog.logic import report_calendar as cal
from activitylog.logic import rollups
from activitylog.logic.index_reads import merged_entries
from activitylog.logic.ports import DeliveryQueue, RollupStore
from activitylog.logic.query import Budget, QueryPorts, Reading
from activitylog.logic.query_plan import visible_filters
from activitylog.models.auth import Principal
from activitylog.models.errors import BadRequestError
from activitylog.models.filters import EventFilter
from activitylog.models.query import Stream, TimeWindow
from activitylog.models.reports import (
    DEFAULT_RANGE_DAYS,
    MAX_INTERVALS,
    ActivityReport,
    Heatmap,
    HourRollup,
    ReportParams,
    SeriesEntry,
    Tally,
    TargetRef,
    TopEntry,
    metadata_key,
)
from activitylog.models.settings import TenantSettings
from activitylog.models.text import epoch_millis, from_epoch_millis, to_millis

REPORT_SECONDS = 8.0  # the events' part of an answer (API Gateway waits 29 s; the rest is rollups)
RETRY_AFTER_SECONDS = 10
JOB_SECONDS = 600  # a report's background work is asked for at most once per this, per filter
# Late events the router may not have marked yet are read from their partitions this far back
# (the stream keeps a record 24 hours: one not routed by then never will be; docs/reports.md).
UNMARKED_WINDOW = timedelta(hours=24)
MAX_LATE_CHECKED = 5_000  # late events read to check rollups; more: their hours are read from events
MAX_JOB_HOURS = 24 * 400


@dataclass(frozen=True)
class ReportPorts:
    query: QueryPorts
    rollups: RollupStore
    queue: DeliveryQueue  # the rollup-work queue
    settings: TenantSettings
    budget: Budget = field(default_factory=lambda: Budget(seconds=REPORT_SECONDS))


@dataclass(frozen=True, slots=True)
class _Source:
    """Which rollups answer the filters: the tenant's (`fp` ""), with the key filter's dimension
    and keys, or the filter's own (`fp`)."""

    fp: str
    dimension: str | None = None  # the key filter served from this dimension's groups
    keep: Callable[[str], bool] | None = None


def _source(tenant: str, visible: EventFilter, group_by: str | None) -> _Source:
    keyed: list[tuple[str, Callable[[str], bool]]] = []
    if visible.actions:
        patterns = visible.actions
        keyed.append(
            ("action", lambda k: any(k.startswith(p[:-1]) if p.endswith(".*") else k == p for p in patterns))
        )
    if visible.actor_id is not None:
        actor = visible.actor_id
        keyed.append(("actor", lambda k: k == actor))
    if visible.target_type is not None:
        target = f"{visible.target_type}{rollups.TARGET_SEPARATOR}{visible.target_id}"
        keyed.append(("target", lambda k: k == target))
    if visible.outcome is not None:
        outcome = visible.outcome
        keyed.append(("outcome", lambda k: k == outcome))
    simple = not visible.q and visible.also_target is None and len(keyed) <= 1
    if simple and not keyed:
        return _Source("")
    if simple and (group_by is None or group_by == keyed[0][0]):
        return _Source("", keyed[0][0], keyed[0][1])
    return _Source(fingerprint(tenant, visible))


def fingerprint(tenant: str, visible: EventFilter) -> str:
    body = visible.model_dump(mode="json", by_alias=False, exclude={"from_", "to"})
    return cursors.fingerprint(tenant, "rollup", {**body, "also": visible.also_target})


@dataclass(slots=True)
class _Answer:
    series: list[int]
    tally: Tally = field(default_factory=Tally)
    complete: bool = True


EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)
MAX_RANGE = timedelta(days=3660)  # the longest retention (10 years) and a bit
_INTERVAL_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}


def _range(filters: EventFilter, now: datetime, interval: str) -> tuple[datetime, datetime]:
    end = filters.to or to_millis(now)
    try:
        start = filters.from_ or end - timedelta(days=DEFAULT_RANGE_DAYS)
    except OverflowError:  # `to` in the first days of year 1
        start = datetime.min.replace(tzinfo=end.tzinfo)
    if start >= end:
        raise BadRequestError("`from` must be earlier than `to` (which is now when not given)")
    if end > LATEST or start < EARLIEST:  # a week's boundary of either would be past the calendar's end
        raise BadRequestError("a report's range lies within the years 0002 to 9998")
    if end - start > MAX_RANGE:
        raise BadRequestError("a report covers at most 3,660 days: narrow `from` and `to`")
    # Checked before the boundaries are worked out (a DST day is at most an hour shorter).
    if (end - start) / _INTERVAL_LENGTH[interval] > MAX_INTERVALS - 2:
        raise BadRequestError(f"the range has more than {MAX_INTERVALS} intervals: use a longer interval")
    return start, end


def activity(
    principal: Principal, filters: EventFilter, params: ReportParams, *, now: datetime, ports: ReportPorts
) -> ActivityReport:
    start, end = _range(filters, now, params.interval)
    starts = cal.boundaries(start, end, params.interval, params.zone)
    answer = _compute(principal, filters, start, end, starts, params.group_by, now=now, ports=ports)
    top, distinct = _top(answer.tally, params.group_by, params.top)
    return ActivityReport(
        from_=start,
        to=end,
        interval=params.interval,
        tz=params.tz,
        group_by=params.group_by,
        total=sum(answer.series),
        series=[SeriesEntry(start=s, count=n) for s, n in zip(starts, answer.series, strict=True)],
        top=top,
        distinct=distinct,
        complete=answer.complete,
        retry_after_seconds=None if answer.complete else RETRY_AFTER_SECONDS,
    )


def heatmap(
    principal: Principal, filters: EventFilter, params: ReportParams, *, now: datetime, ports: ReportPorts
) -> Heatmap:
    start, end = _range(filters, now, "hour")
    starts = cal.boundaries(start, end, "hour", params.zone)  # one cell per local clock hour
    answer = _compute(principal, filters, start, end, starts, None, now=now, ports=ports)
    cells = [[0] * 24 for _ in range(7)]
    for at, n in zip(starts, answer.series, strict=True):
        day, hour = cal.cell(at, params.zone)
        cells[day][hour] += n
    return Heatmap(
        from_=start,
        to=end,
        tz=params.tz,
        total=sum(answer.series),
        cells=cells,
        complete=answer.complete,
        retry_after_seconds=None if answer.complete else RETRY_AFTER_SECONDS,
    )


def _compute(
    principal: Principal,
    filters: EventFilter,
    start: datetime,
    end: datetime,
    starts: list[datetime],
    group_by: str | None,
    *,
    now: datetime,
    ports: ReportPorts,
) -> _Answer:
    answer = _Answer(series=[0] * len(starts))
    if group_by is not None and group_by.startswith("metadata.") and metadata_key(group_by) is None:
        raise BadRequestError("group_by metadata.<key> needs a key of 1-40 characters")
    visible = visible_filters(principal, filters)
    if visible is None:
        return answer
    tenant = principal.tenant
    source = _source(tenant, visible, group_by)
    cut = cal.pieces(start, end, starts)
    wanted = [d for d in (source.dimension, group_by) if d is not None]
    stored = ports.rollups.get_hours(tenant, source.fp, cal.floor_hour(start), end, dimensions=wanted)
    now_s = epoch_millis(now) // 1000
    served: dict[datetime, HourRollup] = {}
    for hour, hour_pieces in cut.items():
        rollup = stored.get(hour)
        if rollup is not None and _serves(rollup, hour_pieces, source, group_by, now_s):
            served[hour] = rollup
    for hour in _late_since(tenant, served, now=now, ports=ports):
        served.pop(hour, None)
    for hour, rollup in served.items():
        _add_rollup(answer, rollup, cut[hour], source, group_by, now_s)
    unserved = [hour for hour in cut if hour not in served]
    _add_events(answer, tenant, visible, unserved, cut, starts, group_by, now=now, ports=ports)
    if not answer.complete:
        _ask_for_rollups(tenant, visible, source, unserved, (start, end), now=now, ports=ports)
    return answer


def _serves(
    rollup: HourRollup, pieces: list[cal.Piece], source: _Source, group_by: str | None, now_s: int
) -> bool:
    if rollup.as_of < epoch_millis(rollups.sealable_at(rollup.hour) - rollups.GSI_LAG):
        return False
    tally = rollup.tally
    if tally.total == 0 or (tally.max_expiry is not None and tally.max_expiry <= now_s):
        return True  # nothing counted, or all of it expired: the hour counts nothing
    if tally.min_expiry is None or tally.min_expiry <= now_s:
        return False  # some of its events expired, not all: which ones, only the events say
    for dimension in (source.dimension, group_by):
        if dimension is not None and dimension not in tally.dims:
            return False
    if len(pieces) == 1 and pieces[0].whole:
        return True
    if source.dimension is not None:
        return False  # quarters are totals of every event of the hour, not of the filter's
    if group_by is not None and (pieces[0].start != rollup.hour or pieces[-1].end != rollup.hour + cal.HOUR):
        return False  # its groups are the whole hour's, and only part of it is in the range
    return all(p.quarters is not None for p in pieces)


def _add_rollup(
    answer: _Answer,
    rollup: HourRollup,
    pieces: list[cal.Piece],
    source: _Source,
    group_by: str | None,
    now_s: int,
) -> None:
    tally = rollup.tally
    if tally.total == 0 or (tally.max_expiry is not None and tally.max_expiry <= now_s):
        return
    if source.dimension is not None:
        keep = source.keep
        total = sum(n for k, n in tally.dims[source.dimension].items() if keep is None or keep(k))
        answer.series[pieces[0].index] += total
    elif len(pieces) == 1 and pieces[0].whole:
        answer.series[pieces[0].index] += tally.total
    else:
        for piece in pieces:
            quarters = piece.quarters
            assert quarters is not None  # _serves checked
            answer.series[piece.index] += sum(tally.quarters[q] for q in quarters)
    if group_by is not None:
        keep = source.keep if group_by == source.dimension else None
        rollups.merge(answer.tally, tally, [group_by], keep)


def _late_since(
    tenant: str, served: dict[datetime, HourRollup], *, now: datetime, ports: ReportPorts
) -> set[datetime]:
    """The served hours that late events received since their computation belong to: the late
    marks the router leaves per hour, and, for the events it may not have marked yet (the
    stream's lag, its retries: at most the stream's 24 hours), the late events' own partitions."""
    if not served:
        return set()
    first, last = min(served), max(served) + cal.HOUR
    late = {
        h
        for h, r in ports.rollups.late_marks(tenant, first, last).items()
        if h in served and r >= served[h].as_of
    }
    since = max(min(r.as_of for r in served.values()), epoch_millis(now - UNMARKED_WINDOW))
    query = ports.query
    streams = [Stream("received", "", shard) for shard in range(query.shard_count)]
    entries = merged_entries(
        query.events,
        tenant,
        streams,
        window=TimeWindow(start=from_epoch_millis(since)),
        descending=False,
        boundary=None,
        chunk=100,
        now_s=epoch_millis(now) // 1000,
    )
    keys = [e.event_pk for _, e in zip(range(MAX_LATE_CHECKED + 1), entries, strict=False)]
    if len(keys) > MAX_LATE_CHECKED:
        return set(served)  # a backfill in progress: answer from the events until it is computed
    for i in range(0, len(keys), 100):
        for text in query.events.get_documents(keys[i : i + 100]).values():
            data = json.loads(text)
            hour = cal.floor_hour(datetime.fromisoformat(data["occurred_at"]))
            rollup = served.get(hour)
            if (
                rollup is not None
                and epoch_millis(datetime.fromisoformat(data["received_at"])) >= rollup.as_of
            ):
                late.add(hour)
    return late


def _add_events(
    answer: _Answer,
    tenant: str,
    visible: EventFilter,
    hours: list[datetime],
    cut: dict[datetime, list[cal.Piece]],
    starts: list[datetime],
    group_by: str | None,
    *,
    now: datetime,
    ports: ReportPorts,
) -> None:
    """Count the pieces of `hours` from the events, newest first (the hours no rollup has yet),
    within the budget: runs of consecutive hours are read as one range."""
    budget = ports.budget
    deadline = budget.clock() + budget.seconds
    dimensions = [group_by] if group_by else []
    for lo, hi in reversed(_runs(hours, cut)):
        left = deadline - budget.clock()
        if left <= 0:
            answer.complete = False
            return
        ranged = visible.model_copy(update={"from_": lo, "to": hi})
        ranged._also_target = visible.also_target
        reading = Reading(
            tenant,
            ranged,
            position=None,
            budget=Budget(budget.max_bytes, left, budget.clock),
            now=now,
            ports=ports.query,
        )
        for _ts, doc in reading:
            if doc is None:
                continue
            occurred = datetime.fromisoformat(doc.data["occurred_at"])
            answer.series[cal.interval_of(occurred, starts)] += 1
            if dimensions:
                rollups.count(answer.tally, doc.data, dimensions)
        if not reading.exhausted:
            answer.complete = False
            return


def _runs(hours: list[datetime], cut: dict[datetime, list[cal.Piece]]) -> list[tuple[datetime, datetime]]:
    runs: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        lo, hi = cut[hour][0].start, cut[hour][-1].end
        if runs and runs[-1][1] == lo:
            runs[-1] = (runs[-1][0], hi)
        else:
            runs.append((lo, hi))
    return runs


def _ask_for_rollups(
    tenant: str,
    visible: EventFilter,
    source: _Source,
    hours: list[datetime],
    span: tuple[datetime, datetime],
    *,
    now: datetime,
    ports: ReportPorts,
) -> None:
    """The answer ran out of time: have the hours it read from events computed as rollups (the
    tenant's, or this filter's), once per filter and JOB_SECONDS, so that asking again completes."""
    due = sorted(h for h in hours if rollups.sealable_at(h) <= now)[-MAX_JOB_HOURS:]
    if not due:
        return
    # One claim per filter and range (not per what is left of it: that changes as hours are done).
    key = f"{source.fp or '-'}#{span[0].isoformat()}#{span[1].isoformat()}"
    with contextlib.suppress(Exception):  # best effort: the answer says to ask again either way
        if not ports.rollups.claim_job(tenant, key, seconds=JOB_SECONDS, now=now):
            return
        if source.fp:
            plain = visible.model_copy(update={"from_": None, "to": None})
            works = rollups.chunks(
                tenant,
                due,
                kind="filtered",
                filters=plain,
                also_target=visible.also_target,
                fingerprint=source.fp,
            )
        else:
            # received_ms 0: an hour stored (and sealed) already is skipped; the hours late events
            # dirtied are computed again by the router's own late messages.
            works = rollups.chunks(tenant, due, kind="late", received_ms=0)
        if not rollups.send(works, ports.queue):
            ports.rollups.release_job(tenant, key)  # the next answer asks for it again


def _top(tally: Tally, group_by: str | None, top: int) -> tuple[list[TopEntry], int | None]:
    if group_by is None:
        return [], None
    counts = {k: n for k, n in tally.dims.get(group_by, {}).items() if n > 0}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8", "surrogatepass")))[:top]
    labels = tally.labels.get(group_by, {})
    entries = []
    for key, n in ranked:
        label = labels[key][1] if key in labels else None
        if group_by == "target":
            kind, ident = key.split(rollups.TARGET_SEPARATOR, 1)
            entries.append(
                TopEntry(key=f"{kind}:{ident}", label=label, count=n, target=TargetRef(type=kind, id=ident))
            )
        else:
            entries.append(TopEntry(key=key, label=label, count=n))
    return entries, len(counts)
