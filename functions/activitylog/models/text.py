"""Shared field types: Unicode text rules and the API's time format."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

MAX_JSON_DEPTH = 16


def check_text(value: str) -> str:
    """Valid Unicode text without NUL: lone surrogates (from `"\\ud800"` in JSON) and NUL are refused."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def check_json_value(value: Any, depth: int = 0) -> Any:
    """A JSON value (for `changes`) whose strings follow the text rules and whose nesting is bounded."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, list):
        for item in value:
            check_json_value(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_json_value(item, depth + 1)
    return value


Unicode = AfterValidator(check_text)


def to_millis(value: datetime) -> datetime:
    """UTC, truncated to milliseconds (finer precision in a request is truncated).

    A time whose UTC instant is outside years 1-9999 (`9999-12-31T23:59:59-01:00`) is refused as
    invalid input, never an OverflowError (a 5xx that would have lost a whole batch)."""
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time in UTC is outside the years 1 to 9999") from None
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


# RFC 3339 `date-time`: a full date, `T`, a full time, an explicit offset. Not a number of seconds,
# not a date alone, not a naive time (pydantic's lax mode would take those).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def rfc3339_only(value: Any) -> Any:
    """Requests and stored documents carry times as RFC 3339 strings; code passes datetimes."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time with an offset, such as 2026-11-23T10:00:00Z")


def format_time(value: datetime) -> str:
    """`2026-11-23T10:00:00.000Z`: fixed width (years zero-padded), so the string sorts like the time.

    `isoformat` truncates to milliseconds as `to_millis` does, at half the cost of `strftime`
    (four times per stored event: docs/benchmarks.md, Ingest)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_time(value: str) -> datetime:
    """Inverse of format_time (stored values only)."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def epoch_millis(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def from_epoch_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# Requests: RFC 3339 with an explicit offset. Responses: UTC `Z` with milliseconds. One JSON schema
# for both: a model used in requests and answers (an export's filters) is then one named schema,
# not `-Input` and `-Output` twins that generated clients refuse (docs/api.md, "The document").
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(rfc3339_only),
    AfterValidator(to_millis),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
