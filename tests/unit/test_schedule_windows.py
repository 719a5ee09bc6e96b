"""Windows of scheduled runs across DST changes (Europe/Oslo, America/New_York), and run ids.

EventBridge Scheduler (docs: "Schedule types", daylight saving time): when clocks go forward, a cron
time that does not exist that day is skipped; when they go back, a repeated time fires once. The
tests below take the scheduled times Scheduler does deliver and check the windows we compute.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from activitylog.logic.schedule_windows import not_before, scheduled_run_id, window_bounds

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def daily(zone: ZoneInfo, first: date, days: int, hour: int, minute: int = 0) -> list[datetime]:
    """The scheduled times of cron(<minute> <hour> * * ? *) in `zone` (times that exist)."""
    found = []
    for n in range(days):
        day = first + timedelta(days=n)
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            found.append(local.astimezone(UTC))  # skip wall times that a DST change skips
    return found


@pytest.mark.parametrize(
    ("zone", "scheduled", "start", "hours"),
    [
        # Oslo, clocks forward 2026-03-29 02:00 -> 03:00: 06:00 CEST back to 06:00 CET is 23 h
        ("Europe/Oslo", "2026-03-29T04:00:00", "2026-03-28T05:00:00", 23),
        # Oslo, clocks back 2026-10-25 03:00 -> 02:00: 06:00 CET back to 06:00 CEST is 25 h
        ("Europe/Oslo", "2026-10-25T05:00:00", "2026-10-24T04:00:00", 25),
        ("Europe/Oslo", "2026-06-10T04:00:00", "2026-06-09T04:00:00", 24),
        # New York, forward 2026-03-08, back 2026-11-01
        ("America/New_York", "2026-03-08T10:00:00", "2026-03-07T11:00:00", 23),
        ("America/New_York", "2026-11-01T11:00:00", "2026-10-31T10:00:00", 25),
        ("America/New_York", "2026-07-01T10:00:00", "2026-06-30T10:00:00", 24),
        ("UTC", "2026-03-29T04:00:00", "2026-03-28T04:00:00", 24),
    ],
)
def test_p1d_is_one_calendar_day_in_the_schedules_zone(
    zone: str, scheduled: str, start: str, hours: int
) -> None:
    # Given a daily cron firing at 06:00 local time / When its P1D window is computed
    lo, hi = window_bounds("P1D", zone, utc(scheduled))
    # Then it ends at the scheduled time and starts at 06:00 local the day before
    assert (lo, hi) == (utc(start), utc(scheduled))
    assert hi - lo == hours * H


@pytest.mark.parametrize("zone", [OSLO, NEW_YORK])
def test_daily_cron_windows_tile_the_year_without_gap_or_overlap(zone: ZoneInfo) -> None:
    # Given every firing of cron(0 6 * * ? *) over a whole year, both DST changes included
    times = daily(zone, date(2026, 1, 1), 365, 6)
    windows = [window_bounds("P1D", str(zone), t) for t in times]
    # Then each window starts where the previous one ended, and 23 h and 25 h days occur once each
    assert all(prev[1] == cur[0] for prev, cur in pairwise(windows))
    lengths = [hi - lo for lo, hi in windows]
    assert lengths.count(23 * H) == 1 and lengths.count(25 * H) == 1
    assert lengths.count(24 * H) == len(lengths) - 2


def test_cron_in_the_skipped_hour_does_not_fire_and_the_next_window_is_one_calendar_day() -> None:
    # Given cron(30 2 * * ? *) in Oslo: 02:30 does not exist on 2026-03-29, Scheduler skips that day
    times = daily(OSLO, date(2026, 3, 27), 5, 2, 30)
    assert [t.date() for t in times] == [
        date(2026, 3, 27),
        date(2026, 3, 28),
        date(2026, 3, 30),
        date(2026, 3, 31),
    ]
    # When the 03-30 firing computes P1D: 02:30 on 03-29 does not exist and resolves forward (03:30 CEST)
    lo, hi = window_bounds("P1D", "Europe/Oslo", times[2])
    assert (lo, hi) == (utc("2026-03-29T01:30:00"), utc("2026-03-30T00:30:00"))
    # Then the skipped firing's day is not read by any run (documented: avoid 02:00-03:00 local)
    previous_end = window_bounds("P1D", "Europe/Oslo", times[1])[1]
    assert lo - previous_end == 24 * H


def test_cron_in_the_repeated_hour_fires_once_and_windows_still_tile() -> None:
    # Given cron(30 2 * * ? *) in Oslo around 2026-10-25, when 02:30 happens twice (fires once: first)
    first = datetime(2026, 10, 25, 2, 30, tzinfo=OSLO).astimezone(UTC)  # fold=0: CEST, 00:30Z
    before = datetime(2026, 10, 24, 2, 30, tzinfo=OSLO).astimezone(UTC)
    after = datetime(2026, 10, 26, 2, 30, tzinfo=OSLO).astimezone(UTC)
    windows = [window_bounds("P1D", "Europe/Oslo", t) for t in (before, first, after)]
    assert windows[0][1] == windows[1][0] and windows[1][1] == windows[2][0]
    assert [hi - lo for lo, hi in windows] == [24 * H, 24 * H, 25 * H]


def test_rate_schedules_tile_with_exact_durations_and_p1d_stays_calendar() -> None:
    # Given rate(1 day), which fires every 24 h whatever the zone, across Oslo's spring change
    times = [utc("2026-03-28T04:00:00") + n * 24 * H for n in range(3)]
    # Then an exact PT24H window tiles
    exact = [window_bounds("PT24H", "Europe/Oslo", t) for t in times]
    assert all(prev[1] == cur[0] for prev, cur in pairwise(exact))
    # And P1D is one calendar day in Oslo: 23 h on the day the clocks go forward (documented)
    calendar = [hi - lo for lo, hi in (window_bounds("P1D", "Europe/Oslo", t) for t in times)]
    assert calendar == [24 * H, 23 * H, 24 * H]


def test_hourly_rate_window_is_exact() -> None:
    at = utc("2026-03-29T01:00:00")  # 02:00 CET -> 03:00 CEST happens in this hour
    assert window_bounds("PT1H", "Europe/Oslo", at) == (utc("2026-03-29T00:00:00"), at)


def test_mixed_window_counts_days_on_the_wall_clock_then_exact_time() -> None:
    at = utc("2026-03-29T04:00:00")  # 06:00 CEST
    lo, _ = window_bounds("P1DT2H", "Europe/Oslo", at)
    assert lo == utc("2026-03-28T03:00:00")  # 06:00 CET the day before, minus 2 h


def test_week_window_over_a_dst_change_is_167_hours() -> None:
    at = utc("2026-04-01T04:00:00")
    lo, hi = window_bounds("P1W", "Europe/Oslo", at)
    assert hi - lo == 167 * H


def test_not_before_adds_the_settle_time_to_the_scheduled_time() -> None:
    at = utc("2026-11-24T06:00:00")
    assert not_before(at, "PT15M") == utc("2026-11-24T06:15:00")
    assert not_before(at, "PT0S") == at


def test_run_ids_are_deterministic_ulids_without_colons() -> None:
    at = utc("2026-11-24T06:00:00")
    run_id = scheduled_run_id("acme", "01KEXPORT0000000000000000A", at)
    assert run_id == scheduled_run_id("acme", "01KEXPORT0000000000000000A", at.astimezone(OSLO))
    assert len(run_id) == 26 and ":" not in run_id
    others = {
        scheduled_run_id("other", "01KEXPORT0000000000000000A", at),
        scheduled_run_id("acme", "01KEXPORT0000000000000000B", at),
        scheduled_run_id("acme", "01KEXPORT0000000000000000A", at + timedelta(minutes=1)),
    }
    assert run_id not in others and len(others) == 3
    # ULID time part = scheduled time: runs list in schedule order
    later = scheduled_run_id("acme", "01KEXPORT0000000000000000A", at + timedelta(days=1))
    assert later > run_id
