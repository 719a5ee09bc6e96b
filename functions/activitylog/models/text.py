"""Shared field types: Unicode text rules and the API's time format."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, PlainSerializer, WithJsonSchema

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
    """UTC, truncated to milliseconds (finer precision in a request is truncated)."""
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


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
    AfterValidator(to_millis),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
