"""Schedule syntax, checked by us before EventBridge Scheduler sees it (docs/exports.md).

`cron(...)` and `rate(...)` follow EventBridge Scheduler's grammar; anything it would reject is
refused here with a sentence that says what is wrong, so a PUT never reaches Scheduler with a bad
expression. Durations are the ISO 8601 subset we accept for `window` and `settle`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_RATE = re.compile(r"^rate\(([1-9][0-9]{0,8}) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTHS = {m: n for n, m in enumerate(_MONTH_NAMES, 1)}
_DAYS = {d: n for n, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_NUMBER = re.compile(r"^[0-9]{1,4}$")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None
    step: bool = True  # `/` allowed


_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS, step=False),
    _Field("year", 1970, 2199),
)


# API.md: every firing runs an export and may email its recipients.
TOO_OFTEN = (
    "a schedule fires at most once an hour: use a single minute in cron(...) (cron(0 * * * ? *)) "
    "or rate(...) of 60 minutes or more"
)


def check_expression(value: str) -> str:
    """`value` unchanged if EventBridge Scheduler accepts it as a recurring schedule, else ValueError."""
    if value.startswith("at("):
        raise ValueError("one-time at(...) schedules are not supported: use cron(...) or rate(...)")
    if value.startswith("rate("):
        _check_rate(value)
        return value
    match = _CRON.fullmatch(value)
    if match is None:
        raise ValueError("the expression must be cron(<6 fields>) or rate(<value> <unit>)")
    _check_cron(match.group(1))
    return value


def _check_rate(value: str) -> None:
    match = _RATE.fullmatch(value)
    if match is None:
        raise ValueError(
            "rate(...) takes a positive whole number and a unit of minute(s), hour(s) or day(s), "
            "e.g. rate(1 day) or rate(15 minutes)"
        )
    count, unit = int(match.group(1)), match.group(2)
    if (count == 1) != (not unit.endswith("s")):
        raise ValueError("rate(...) needs a singular unit for 1 (rate(1 hour)) and a plural one otherwise")
    if unit.startswith("minute") and count < 60:
        raise ValueError(TOO_OFTEN)


def _check_cron(body: str) -> None:
    parts = body.split(" ")
    if len(parts) != 6 or any(not p for p in parts):
        raise ValueError(
            "cron(...) takes exactly 6 fields separated by single spaces: "
            "minutes hours day-of-month month day-of-week year, e.g. cron(0 6 * * ? *)"
        )
    for field, text in zip(_FIELDS, parts, strict=True):
        _check_field(field, text.upper())
    if not _NUMBER.fullmatch(parts[0]):  # `*`, `0/15`, `0,30`, `0-5`: more than once in an hour
        raise ValueError(TOO_OFTEN)
    dom, dow = parts[2], parts[4]
    if (dom == "?") == (dow == "?"):
        raise ValueError("cron(...) needs `?` in exactly one of day-of-month and day-of-week")


def _value(field: _Field, text: str) -> int:
    if field.names and text in field.names:
        return field.names[text]
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"cron(...) {field.name}: {text!r} is not a value")
    number = int(text)
    if not field.low <= number <= field.high:
        raise ValueError(f"cron(...) {field.name}: {number} is outside {field.low}-{field.high}")
    return number


def _check_field(field: _Field, text: str) -> None:
    if text == "?":
        if field.name not in ("day-of-month", "day-of-week"):
            raise ValueError(f"cron(...) {field.name}: `?` is only allowed in day-of-month or day-of-week")
        return
    if field.name == "day-of-month" and (text in ("L", "LW") or re.fullmatch(r"[0-9]{1,2}W", text)):
        if text.endswith("W") and text != "LW":
            _value(field, text[:-1])
        return
    if field.name == "day-of-week":
        if text == "L" or re.fullmatch(r"[A-Z0-9]{1,3}L", text):
            if text != "L":
                _value(field, text[:-1])
            return
        if "#" in text:
            day, _, nth = text.partition("#")
            _value(field, day)
            if nth not in ("1", "2", "3", "4", "5"):
                raise ValueError(f"cron(...) day-of-week: {text!r} needs #1 to #5")
            return
    for item in text.split(","):
        _check_item(field, item)


def _check_item(field: _Field, item: str) -> None:
    base, slash, step = item.partition("/")
    if slash:
        if not field.step:
            raise ValueError(f"cron(...) {field.name}: `/` is not allowed here")
        if not _NUMBER.fullmatch(step) or not 1 <= int(step) <= field.high:
            raise ValueError(f"cron(...) {field.name}: {item!r} has an invalid increment")
    if base == "*":
        return
    low, dash, high = base.partition("-")
    first = _value(field, low)
    if dash and first > _value(field, high):
        raise ValueError(f"cron(...) {field.name}: the range {base!r} runs backwards")


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())  # reads the zone database once per container


def check_timezone(value: str) -> str:
    """An IANA time zone name that this runtime's zone database knows (as Scheduler does)."""
    if value != value.strip() or not value or value.startswith(("/", ".")) or ".." in value:
        raise ValueError(f"unknown time zone: {value!r} (use an IANA name such as Europe/Oslo)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone: {value!r} (use an IANA name such as Europe/Oslo)") from None
    if value not in _zone_names() and value != "UTC":
        raise ValueError(f"unknown time zone: {value!r} (use an IANA name such as Europe/Oslo)")
    return value


_DURATION = re.compile(
    r"^P(?:(?P<weeks>[0-9]{1,4})W)?(?:(?P<days>[0-9]{1,4})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,5})H)?(?:(?P<minutes>[0-9]{1,6})M)?(?:(?P<seconds>[0-9]{1,8})S)?)?$"
)


@dataclass(frozen=True)
class Duration:
    """An ISO 8601 duration: calendar days (wall-clock, in a time zone) plus an exact time part."""

    days: int
    time: timedelta

    @property
    def nominal(self) -> timedelta:
        return timedelta(days=self.days) + self.time


def parse_duration(value: str) -> Duration:
    if re.fullmatch(r"P.*[0-9]+[YM].*", value.split("T")[0]):
        raise ValueError(f"{value!r}: years and months are not supported, use days (e.g. P30D)")
    match = _DURATION.fullmatch(value)
    if match is None or value in ("P", "PT") or value.endswith("T"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P1D, PT12H or PT15M")
    n = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    time = timedelta(hours=n["hours"], minutes=n["minutes"], seconds=n["seconds"])
    return Duration(days=n["weeks"] * 7 + n["days"], time=time)


def check_window(value: str) -> str:
    length = parse_duration(value).nominal
    if not timedelta(hours=1) <= length <= timedelta(days=92):
        raise ValueError(f"window {value!r} must be between PT1H and P92D")
    return value


def check_settle(value: str) -> str:
    if not parse_duration(value).nominal <= timedelta(hours=6):
        raise ValueError(f"settle {value!r} must be between PT0S and PT6H")
    return value
