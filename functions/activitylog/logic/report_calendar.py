"""Interval boundaries in a time zone (DST-correct), and how a range splits into UTC-hour pieces.

A day starts at local midnight, a week on Monday at local midnight, an hour at each local clock
hour. When local midnight does not exist (a zone that moves its clocks at 00:00), the day starts at
the first instant that exists, which is what `zoneinfo` gives for fold=0: the gap's time is read
with the offset before the change. On the day clocks go back, the repeated local hour is two
hours (two entries of an hourly series, each one hour long).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from activitylog.models.reports import Interval

HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _local_midnight(day: datetime, zone: ZoneInfo) -> datetime:
    return datetime.combine(day.date(), time(0), tzinfo=zone).astimezone(UTC)


def boundaries(start: datetime, end: datetime, interval: Interval, zone: ZoneInfo) -> list[datetime]:
    """The instants that start the intervals of `[start, end)`: `start` itself first, then every
    local interval boundary strictly inside the range (UTC datetimes, increasing)."""
    found = [start]
    if interval == "hour":
        # Zone offsets are whole quarters of an hour: a local clock hour starts on a UTC quarter.
        at = floor_hour(start)
        while at < end:
            if at > start and at.astimezone(zone).minute == 0:
                found.append(at)
            at += QUARTER
        return found
    local = start.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if interval == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if interval == "week" else 1)
    while True:
        day += step
        at = _local_midnight(day, zone)
        if at >= end:
            return found
        if at > start:
            found.append(at)


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of one UTC hour inside the range and inside one interval (`index` of the series)."""

    hour: datetime
    start: datetime
    end: datetime
    index: int

    @property
    def whole(self) -> bool:
        return self.start == self.hour and self.end == self.hour + HOUR

    @property
    def quarters(self) -> range | None:
        """The quarters of the hour this piece is made of, when it is made of whole quarters."""
        first, rest = divmod(self.start - self.hour, QUARTER)
        last, rest_end = divmod(self.end - self.hour, QUARTER)
        if rest or rest_end:
            return None
        return range(first, last)


def hours_of(start: datetime, end: datetime) -> Iterator[datetime]:
    at = floor_hour(start)
    while at < end:
        yield at
        at += HOUR


def pieces(start: datetime, end: datetime, starts: list[datetime]) -> dict[datetime, list[Piece]]:
    """Each UTC hour overlapping `[start, end)`, cut at the range's ends and the interval starts."""
    cut: dict[datetime, list[Piece]] = {}
    for hour in hours_of(start, end):
        lo, hi = max(hour, start), min(hour + HOUR, end)
        first = bisect_right(starts, lo) - 1
        points = [lo]
        j = first + 1
        while j < len(starts) and starts[j] < hi:
            points.append(starts[j])
            j += 1
        ends = [*points[1:], hi]
        cut[hour] = [Piece(hour, a, b, first + n) for n, (a, b) in enumerate(zip(points, ends, strict=True))]
    return cut


def interval_of(at: datetime, starts: list[datetime]) -> int:
    return bisect_right(starts, at) - 1


def cell(at: datetime, zone: ZoneInfo) -> tuple[int, int]:
    """The heatmap cell of an instant: (local weekday, Monday = 0; local hour)."""
    local = at.astimezone(zone)
    return local.weekday(), local.hour
