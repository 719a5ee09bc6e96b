"""Local mode's schedule clock: which times a stored schedule is due, as EventBridge Scheduler fires."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from activitylog_ops.local.schedule_clock import ScheduleClock, cron_fields, due_times


def times(expression: str, zone: str, since: datetime, until: datetime, **extra: Any) -> list[str]:
    schedule = {"ScheduleExpression": expression, "ScheduleExpressionTimezone": zone, **extra}
    return [t.strftime("%Y-%m-%dT%H:%MZ") for t in due_times(schedule, since, until)]


def test_daily_cron_in_a_time_zone() -> None:
    got = times(
        "cron(0 6 * * ? *)",
        "America/New_York",
        datetime(2026, 11, 24, tzinfo=UTC),
        datetime(2026, 11, 26, tzinfo=UTC),
    )
    assert got == ["2026-11-24T11:00Z", "2026-11-25T11:00Z"]


def test_a_time_that_dst_skips_does_not_fire_and_a_repeated_one_fires_once() -> None:
    spring = times(
        "cron(30 2 * * ? *)",
        "Europe/Oslo",
        datetime(2026, 3, 27, tzinfo=UTC),
        datetime(2026, 3, 31, tzinfo=UTC),
    )
    assert spring == ["2026-03-27T01:30Z", "2026-03-28T01:30Z", "2026-03-30T00:30Z"]  # none on the 29th
    autumn = times(
        "cron(30 2 * * ? *)",
        "Europe/Oslo",
        datetime(2026, 10, 24, tzinfo=UTC),
        datetime(2026, 10, 27, tzinfo=UTC),
    )
    assert autumn == ["2026-10-24T00:30Z", "2026-10-25T00:30Z", "2026-10-26T01:30Z"]


def test_aws_weekday_numbers_and_years() -> None:
    assert cron_fields("cron(0 6 ? * 2-6 *)") == ("0 6 * * 1-5", "*")  # MON-FRI
    assert cron_fields("cron(0 6 ? * MON#1 *)") == ("0 6 * * MON#1", "*")
    mondays = times(
        "cron(0 9 ? * 2 *)", "UTC", datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    )
    assert mondays == ["2026-11-23T09:00Z", "2026-11-30T09:00Z"]
    assert times(
        "cron(0 9 * * ? 2027)", "UTC", datetime(2026, 12, 30, tzinfo=UTC), datetime(2027, 1, 2, tzinfo=UTC)
    ) == ["2027-01-01T09:00Z"]


def test_rate_counts_from_the_schedules_creation() -> None:
    created = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    got = times(
        "rate(2 hours)",
        "UTC",
        datetime(2026, 11, 24, 2, tzinfo=UTC),
        datetime(2026, 11, 24, 8, tzinfo=UTC),
        CreationDate=created,
    )
    assert got == ["2026-11-24T03:00Z", "2026-11-24T05:00Z", "2026-11-24T07:00Z"]


@pytest.mark.parametrize("state", ["ENABLED", "DISABLED"])
def test_a_tick_fires_what_fell_due_since_the_last_one(state: str) -> None:
    schedule = {"Name": "exp-1", "State": state, "ScheduleExpression": "cron(* * * * ? *)"}

    class Client:
        def list_schedule_groups(self) -> dict[str, Any]:
            return {"ScheduleGroups": [{"Name": "g"}]}

        def list_schedules(self, GroupName: str) -> dict[str, Any]:
            return {"Schedules": [{"Name": "exp-1"}]}

        def get_schedule(self, GroupName: str, Name: str) -> dict[str, Any]:
            return schedule

    fired: list[tuple[str, str | None]] = []
    moments = iter(
        [datetime(2026, 11, 24, 10, 0, 30, tzinfo=UTC), datetime(2026, 11, 24, 10, 3, 0, tzinfo=UTC)]
    )
    clock = ScheduleClock(Client, lambda name, at: fired.append((name, at)) or {}, now=lambda: next(moments))
    assert clock.tick() == []  # the first tick only starts the clock
    clock.tick()
    expected = [("exp-1", f"2026-11-24T10:0{m}:00Z") for m in (1, 2, 3)]
    assert fired == (expected if state == "ENABLED" else [])
