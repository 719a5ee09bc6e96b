"""Schedule syntax: EventBridge Scheduler's cron/rate grammar, IANA time zones, window and settle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from activitylog.models.schedule_syntax import (
    check_expression,
    check_settle,
    check_timezone,
    check_window,
    parse_duration,
)
from activitylog.models.schedules import ScheduleRequest
from pydantic import ValidationError

# EventBridge Scheduler takes these, the contract does not: a schedule fires at most once an hour
# (every firing runs an export and may email its recipients: API.md, scheduled exports).
TOO_OFTEN = [
    "cron(0/15 * * * ? *)",
    "cron(*/5 * * * ? *)",
    "cron(5,35 14 * jan-mar ? 2026)",
    "cron(0-30/10 1-5 * * ? *)",
    "cron(* * * * ? *)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(59 minutes)",
]


@pytest.mark.parametrize("expression", TOO_OFTEN)
def test_a_schedule_that_fires_more_than_once_an_hour_is_refused(expression: str) -> None:
    with pytest.raises(ValueError, match="at most once an hour"):
        check_expression(expression)


VALID_EXPRESSIONS = [
    "cron(0 6 * * ? *)",
    "cron(0 18 ? * MON-FRI *)",
    "cron(0 8 1 * ? *)",
    "cron(15 10 ? * 6L 2026-2030)",
    "cron(0 12 L * ? *)",
    "cron(0 9 LW * ? *)",
    "cron(0 9 15W * ? *)",
    "cron(0 9 ? * 3#2 *)",
    "cron(0 9 ? * TUE#1 *)",
    "cron(0 0 ? JAN,APR,JUL,OCT SUN *)",
    "cron(59 23 31 12 ? 2199)",
    "cron(0 0 1 1 ? 1970)",
    "cron(0 6 * * ? 2026/2)",
    "cron(0 6 ? * L *)",
    "rate(1 hour)",
    "rate(60 minutes)",
    "cron(5 14 * jan-mar ? 2026)",
    "cron(0 1-5 * * ? *)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
]

INVALID_EXPRESSIONS = [
    ("", "cron(<6 fields>)"),
    ("every day", "cron(<6 fields>)"),
    ("cron(0 6 * * *)", "exactly 6 fields"),  # 5 fields (Unix cron)
    ("cron(0 6 * * ? * *)", "exactly 6 fields"),  # 7 fields (Quartz seconds)
    ("cron(0  6 * * ? *)", "exactly 6 fields"),  # double space
    ("cron(0 6 * * * *)", "`?` in exactly one"),  # both days given
    ("cron(0 6 ? * ? *)", "`?` in exactly one"),  # neither
    ("cron(0 6 1 * MON *)", "`?` in exactly one"),
    ("cron(60 6 * * ? *)", "outside 0-59"),
    ("cron(0 24 * * ? *)", "outside 0-23"),
    ("cron(0 6 32 * ? *)", "outside 1-31"),
    ("cron(0 6 0 * ? *)", "outside 1-31"),
    ("cron(0 6 * 13 ? *)", "outside 1-12"),
    ("cron(0 6 ? * 8 *)", "outside 1-7"),
    ("cron(0 6 ? * 0 *)", "outside 1-7"),
    ("cron(0 6 * * ? 1969)", "outside 1970-2199"),
    ("cron(0 6 * * ? 2200)", "outside 1970-2199"),
    ("cron(0 6 * FOO ? *)", "not a value"),
    ("cron(0 6 ? * MONDAY *)", "not a value"),
    ("cron(a 6 * * ? *)", "not a value"),
    ("cron(-1 6 * * ? *)", "not a value"),
    ("cron(0/0 * * * ? *)", "invalid increment"),
    ("cron(0/61 * * * ? *)", "invalid increment"),
    ("cron(0 6 ? * MON/2 *)", "`/` is not allowed"),
    ("cron(30-10 * * * ? *)", "runs backwards"),
    ("cron(? 6 * * ? *)", "only allowed in day-of-month"),
    ("cron(0 6 ? * 3#6 *)", "#1 to #5"),
    ("cron(0 6 ? * 3#0 *)", "#1 to #5"),
    ("cron(0 6 32W * ? *)", "outside 1-31"),
    ("cron(0 6 1,,2 * ? *)", "not a value"),
    ("rate(0 minutes)", "positive whole number"),
    ("rate(-1 hours)", "positive whole number"),
    ("rate(1.5 hours)", "positive whole number"),
    ("rate(5 seconds)", "positive whole number"),
    ("rate(1 week)", "positive whole number"),
    ("rate(05 minutes)", "positive whole number"),
    ("rate(5minutes)", "positive whole number"),
    ("rate(1 hours)", "singular unit"),
    ("rate(5 hour)", "singular unit"),
    ("RATE(1 day)", "cron(<6 fields>)"),
    ("at(2026-11-24T06:00:00)", "one-time"),
    ("cron(0 6 * * ? *) ", "cron(<6 fields>)"),
]


@pytest.mark.parametrize("expression", VALID_EXPRESSIONS)
def test_valid_expressions_are_accepted_unchanged(expression: str) -> None:
    assert check_expression(expression) == expression


@pytest.mark.parametrize(("expression", "message"), INVALID_EXPRESSIONS)
def test_invalid_expressions_are_refused_with_a_reason(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_expression(expression)


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Oslo", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
)
def test_iana_time_zones_are_accepted(zone: str) -> None:
    assert check_timezone(zone) == zone


@pytest.mark.parametrize(
    "zone", ["", "Mars/Olympus", "europe/oslo", "CEST", "+01:00", "../etc/passwd", " Europe/Oslo", "Europe/"]
)
def test_unknown_time_zones_are_refused(zone: str) -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone(zone)


@pytest.mark.parametrize(
    ("text", "days", "time"),
    [
        ("P1D", 1, timedelta()),
        ("PT1H", 0, timedelta(hours=1)),
        ("P1W", 7, timedelta()),
        ("P2DT12H", 2, timedelta(hours=12)),
        ("PT90M", 0, timedelta(minutes=90)),
        ("PT0S", 0, timedelta()),
        ("P1WT30M15S", 7, timedelta(minutes=30, seconds=15)),
    ],
)
def test_durations_parse_into_calendar_days_and_exact_time(text: str, days: int, time: timedelta) -> None:
    duration = parse_duration(text)
    assert (duration.days, duration.time) == (days, time)


@pytest.mark.parametrize("window", ["PT1H", "PT60M", "P1D", "P7D", "P1W", "P13W", "P92D", "P91DT24H"])
def test_windows_from_one_hour_to_92_days_are_accepted(window: str) -> None:
    assert check_window(window) == window


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("PT59M", "between PT1H and P92D"),
        ("PT0S", "between PT1H and P92D"),
        ("P93D", "between PT1H and P92D"),
        ("P14W", "between PT1H and P92D"),
        ("P92DT1S", "between PT1H and P92D"),
        ("P1M", "months are not supported"),
        ("P1Y", "months are not supported"),
        ("1D", "not an ISO 8601 duration"),
        ("P", "not an ISO 8601 duration"),
        ("PT", "not an ISO 8601 duration"),
        ("P1DT", "not an ISO 8601 duration"),
        ("P1.5D", "not an ISO 8601 duration"),
        ("p1d", "not an ISO 8601 duration"),
        ("P-1D", "not an ISO 8601 duration"),
        ("PT1H30", "not an ISO 8601 duration"),
    ],
)
def test_bad_windows_are_refused(window: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_window(window)


@pytest.mark.parametrize("settle", ["PT0S", "PT0M", "PT15M", "PT1H", "PT6H", "PT360M"])
def test_settle_from_zero_to_six_hours_is_accepted(settle: str) -> None:
    assert check_settle(settle) == settle


@pytest.mark.parametrize("settle", ["PT6H1S", "PT7H", "P1D", "15m", "-PT1M"])
def test_settle_beyond_six_hours_or_malformed_is_refused(settle: str) -> None:
    with pytest.raises(ValueError):
        check_settle(settle)


def test_request_defaults_and_strictness() -> None:
    request = ScheduleRequest.model_validate({"expression": "rate(1 day)", "window": "P1D"})
    assert (request.timezone, request.settle, request.enabled) == ("UTC", "PT15M", True)
    with pytest.raises(ValidationError):
        ScheduleRequest.model_validate({"expression": "rate(1 day)", "window": "P1D", "tenant": "other"})
    with pytest.raises(ValidationError):
        ScheduleRequest.model_validate({"expression": "rate(1 day)"})  # the window is required
