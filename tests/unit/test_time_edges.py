"""Times at the edges of the calendar, with any offset (issue 18, item 2): every time the API takes is
either accepted or refused as invalid input, never an exception (`9999-12-31T23:59:59-01:00` was an
OverflowError: a 502 that lost the whole batch). And only RFC 3339 strings are times, not numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from activitylog.logic.ingest import prepare
from activitylog.models.exports import ExportCreate
from activitylog.models.filters import EventFilter
from activitylog.models.settings import TenantSettings
from activitylog.models.text import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(Timestamp)
EDGES = ["9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999-23:59", "0001-01-01T00:00:00+01:00"]


def rfc3339(moment: datetime, offset_minutes: int, fraction: str) -> str:
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return moment.strftime("%Y-%m-%dT%H:%M:%S").rjust(19, "0") + fraction + f"{sign}{hours:02d}:{minutes:02d}"


times = st.builds(
    rfc3339,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    st.sampled_from(["", ".5", ".123", ".999999"]),
)


def outcome(call: Any) -> str:
    try:
        call()
    except ValidationError:
        return "refused"
    return "accepted"


@settings(max_examples=400, deadline=None)
@given(times)
def test_every_time_is_accepted_or_refused_never_an_exception(text: str) -> None:
    # Whatever the year and the offset: the field, an event, a filter and an export's filters
    assert outcome(lambda: TIMESTAMP.validate_python(text)) in ("accepted", "refused")
    assert outcome(lambda: TIMESTAMP.validate_json(f'"{text}"')) in ("accepted", "refused")
    assert outcome(lambda: EventFilter.model_validate({"from": text})) in ("accepted", "refused")
    assert outcome(lambda: EventFilter.model_validate({"to": text})) in ("accepted", "refused")
    body = {"name": "x", "format": "csv", "filters": {"from": text}}
    assert outcome(lambda: ExportCreate.model_validate(body)) in ("accepted", "refused")
    raw = {"action": "user.login", "actor": {"id": "u"}, "occurred_at": text}
    rejection, record = prepare(0, raw, tenant="acme", now=NOW, settings=TenantSettings(), seen=set())
    assert (rejection is None) != (record is None)


@pytest.mark.parametrize("text", EDGES)
def test_a_time_whose_utc_instant_leaves_the_calendar_is_invalid_input(text: str) -> None:
    with pytest.raises(ValidationError, match="outside the years 1 to 9999"):
        TIMESTAMP.validate_python(text)
    raw = {"action": "user.login", "actor": {"id": "u"}, "occurred_at": text}
    rejection, record = prepare(0, raw, tenant="acme", now=NOW, settings=TenantSettings(), seen=set())
    assert record is None and rejection is not None and rejection.status == "rejected"


@pytest.mark.parametrize(
    "value", [1796207427, 1796207427.5, "1796207427", "2026-11-23", "2026-11-23T10:00:00", True]
)
def test_only_rfc3339_strings_with_an_offset_are_times(value: Any) -> None:
    with pytest.raises(ValidationError, match="RFC 3339"):
        TIMESTAMP.validate_python(value)
    with pytest.raises(ValidationError):
        EventFilter.model_validate({"from": value})


def test_datetimes_made_by_code_and_the_stored_format_still_work() -> None:
    aware = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert TIMESTAMP.validate_python(aware) == datetime(2026, 11, 23, 8, 0, 0, 123000, tzinfo=UTC)
    assert TIMESTAMP.validate_json('"2026-11-23T10:00:00.000Z"') == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert TIMESTAMP.validate_python("2026-11-23t10:00:00z") == datetime(2026, 11, 23, 10, tzinfo=UTC)
