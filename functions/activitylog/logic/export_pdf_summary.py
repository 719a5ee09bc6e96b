"""What the PDF report says about its events (docs/exports.md, "PDF"): pure functions, no I/O.

The summary is computed from the exported events themselves, so it is exact for the file: the totals,
the chart and the top lists count exactly the rows of its table.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from activitylog.models.filters import EventFilter
from activitylog.models.text import format_time

TOP = 10
MAX_BARS = 92  # a quarter of days fits the chart's width; longer ranges are drawn per week or month
MAX_CELL = 600  # characters of one table cell; the rest is elided ("…"): CSV or JSON Lines has it all
Bucket = Literal["day", "week", "month"]


@dataclass(frozen=True, slots=True)
class Ranked:
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    failures: int
    users: int
    bucket: Bucket
    series: list[tuple[date, int]]  # every bucket of the range, empty ones included
    top_users: list[Ranked]
    top_actions: list[Ranked]
    top_resources: list[Ranked]


def _utc_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).date()


def _bucket_start(day: date, bucket: Bucket) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks, Monday first
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next(start: date, bucket: Bucket) -> date:
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _chart_bucket(first: date, last: date) -> Bucket:
    days = (last - first).days + 1
    if days <= MAX_BARS:
        return "day"
    return "week" if days <= MAX_BARS * 7 else "month"


def chart_span(range_from: datetime, range_to: datetime, days: Sequence[date]) -> tuple[date, date]:
    """The days the chart covers: the run's range [from, to) in UTC, or the events' own days when
    the range is longer than the chart can show month by month (a from/to years apart)."""
    first = range_from.astimezone(UTC).date()
    last = (range_to.astimezone(UTC) - timedelta(microseconds=1)).date()
    if days and (last - first).days > MAX_BARS * 30:
        first, last = min(days), max(days)
    return first, max(first, last)


def user_label(actor: dict[str, Any]) -> str:
    name, ident = actor.get("name"), str(actor["id"])
    return f"{name} ({ident})" if name and name != ident else ident


def resource_label(targets: Sequence[dict[str, Any]]) -> str:
    """The first target (as the CSV's target_* columns and the reports' `target` group)."""
    if not targets:
        return ""
    first = targets[0]
    label = f"{first['type']} {first['id']}"
    return f"{label} · {first['name']}" if first.get("name") else label


def _ranked(counter: Counter[Any], labels: dict[Any, str]) -> list[Ranked]:
    # most events first, ties by key (as the reports' `top`)
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    return [Ranked(labels.get(key, str(key)), n) for key, n in ranked]


def summarise(events: Sequence[dict[str, Any]], range_from: datetime, range_to: datetime) -> Summary:
    days = [_utc_day(e["occurred_at"]) for e in events]
    first, last = chart_span(range_from, range_to, days)
    bucket = _chart_bucket(first, last)
    counts = Counter(_bucket_start(day, bucket) for day in days)
    series = []
    start = _bucket_start(first, bucket)
    while start <= last:
        series.append((start, counts.get(start, 0)))
        start = _next(start, bucket)
    # counted by id, shown with the latest name seen (events are oldest first)
    users = Counter(str(e["actor"]["id"]) for e in events)
    user_names = {e["actor"]["id"]: user_label(e["actor"]) for e in events}
    resources = Counter((t[0]["type"], t[0]["id"]) for e in events if (t := e["targets"]))
    resource_names = {(t[0]["type"], t[0]["id"]): resource_label(t) for e in events if (t := e["targets"])}
    return Summary(
        total=len(events),
        failures=sum(1 for e in events if e["outcome"] == "failure"),
        users=len({e["actor"]["id"] for e in events}),
        bucket=bucket,
        series=series,
        top_users=_ranked(users, user_names),
        top_actions=_ranked(Counter(e["action"] for e in events), {}),
        top_resources=_ranked(resources, resource_names),
    )


def filters_in_words(filters: EventFilter) -> list[str]:
    """The export's filters as sentences for the cover (the time range is told apart)."""
    words = []
    if filters.actions:
        words.append("Actions: " + ", ".join(filters.actions))
    if filters.actor_id:
        words.append(f"User: {filters.actor_id}")
    if filters.target_type or filters.target_id:
        words.append("Resource: " + " ".join(filter(None, (filters.target_type, filters.target_id))))
    if filters.outcome:
        words.append(f"Outcome: {filters.outcome}")
    if filters.q:
        words.append(f"Text contains: “{filters.q}”")
    return words or ["All events (no filter)"]


def time_text(stamp: str) -> str:
    """`2026-11-23T10:00:00.000Z` as `2026-11-23 10:00:00` (the cover says the times are UTC)."""
    return stamp[:19].replace("T", " ")


def range_text(range_from: datetime, range_to: datetime) -> str:
    return f"{format_time(range_from)} to {format_time(range_to)} (UTC; from inclusive, to exclusive)"


def value_text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def change_lines(changes: Iterable[dict[str, Any]]) -> list[str]:
    return [f"{c['field']}: {value_text(c.get('before'))} → {value_text(c.get('after'))}" for c in changes]


def clip(text: str, limit: int = MAX_CELL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def row_cells(event: dict[str, Any]) -> list[str]:
    """The table's cells: time, user, action, resource, outcome, IP, description (and changes)."""
    actor = event["actor"]
    user = user_label(actor)
    if actor.get("email"):
        user += f"\n{actor['email']}"
    detail = "\n".join(filter(None, [event.get("description"), *change_lines(event.get("changes") or ())]))
    cells = [
        time_text(event["occurred_at"]),
        user,
        event["action"],
        resource_label(event["targets"]),
        event["outcome"],
        (event.get("context") or {}).get("ip") or "",
        detail,
    ]
    return [clip(cell) for cell in cells]
