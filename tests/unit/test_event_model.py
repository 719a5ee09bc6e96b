"""Event validation rules of API.md, one rule per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from activitylog.models.events import EventIn, IngestRequest
from activitylog.models.text import format_time, parse_time
from pydantic import ValidationError


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"action": "asset.downloaded", "actor": {"id": "u-42"}}
    base.update(overrides)
    return base


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_minimal_event_gets_defaults() -> None:
    parsed = EventIn.model_validate(event())
    assert parsed.actor.type == "user"
    assert parsed.outcome == "success"
    assert parsed.targets == [] and parsed.metadata == {}


@pytest.mark.parametrize(
    "bad",
    [
        event(action="Asset.Downloaded"),
        event(action="asset..downloaded"),
        event(action="a" * 101),
        event(id="has space"),
        event(id="x" * 129),
        event(id="a#b"),
        event(actor={"id": ""}),
        event(actor={"id": "x" * 257}),
        event(actor={"id": "u", "role": "admin"}),
        event(unknown_field=1),
        event(targets=[{"type": "asset", "id": str(i)} for i in range(11)]),
        event(targets=[{"type": "asset"}]),
        event(context={"ip": "300.1.1.1"}),
        event(context={"ip": "not-an-ip"}),
        event(context={"user_agent": "x" * 513}),
        event(changes=[{"field": "f", "before": 1, "after": 2}] * 51),
        event(description="x" * 1001),
        event(outcome="maybe"),
        event(metadata={f"k{i}": i for i in range(51)}),
        event(metadata={"k" * 41: 1}),
        event(metadata={"k": "x" * 501}),
        event(metadata={"k": {"nested": 1}}),
        event(metadata={"k": [1, 2]}),
        event(metadata={"k": float("inf")}),
        event(metadata={"k": 10**30}),
        event(occurred_at="2026-11-23T10:00:00"),  # no offset
        event(occurred_at="yesterday"),
        event(description="bad \ud800 surrogate"),
        event(actor={"id": "nul\x00byte"}),
        event(metadata={"k": "nul\x00"}),
        event(changes=[{"field": "f", "before": "\udfff", "after": None}]),
        event(changes=[{"field": "f", "before": nested(20), "after": None}]),
        event(actor="u-42"),
    ],
)
def test_invalid_events_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EventIn.model_validate(bad)


def test_ip_is_normalised_and_ipv6_accepted() -> None:
    assert EventIn.model_validate(event(context={"ip": "2001:DB8::1"})).context.ip == "2001:db8::1"


@pytest.mark.parametrize(
    "ip", ["fe80::1%eth0", "fe80::1%\r\n<script>x</script>", "fe80::1%" + "x" * 5000, "::1%"]
)
def test_an_ipv6_zone_is_refused_whatever_it_holds(ip: str) -> None:
    with pytest.raises(ValidationError, match="without a zone"):
        EventIn.model_validate(event(context={"ip": ip}))


def test_times_are_truncated_to_millis_and_rendered_in_utc() -> None:
    parsed = EventIn.model_validate(event(occurred_at="2026-11-23T11:00:00.123456+01:00"))
    assert parsed.model_dump(mode="json")["occurred_at"] == "2026-11-23T10:00:00.123Z"


def test_metadata_keeps_json_scalar_types() -> None:
    parsed = EventIn.model_validate(event(metadata={"s": "x", "i": 3, "f": 1.5, "b": True, "n": None}))
    assert parsed.metadata == {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None}
    assert isinstance(parsed.metadata["b"], bool)


@pytest.mark.parametrize("count", [0, 101])
def test_envelope_takes_1_to_100_events(count: int) -> None:
    with pytest.raises(ValidationError):
        IngestRequest.model_validate({"events": [event()] * count})


def test_envelope_does_not_validate_events_itself() -> None:
    # Partial acceptance: one bad event must not fail the whole envelope.
    assert len(IngestRequest.model_validate({"events": [event(), {"bad": True}]}).events) == 2


def test_envelope_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        IngestRequest.model_validate({"events": [event()], "extra": 1})


def test_times_format_fixed_width_in_utc_truncated_to_milliseconds() -> None:
    # Given times with offsets, sub-millisecond digits and a year below 1000
    plus2 = timezone(timedelta(hours=2))
    cases = {
        datetime(2026, 11, 23, 12, 0, 0, 123999, tzinfo=plus2): "2026-11-23T10:00:00.123Z",
        datetime(2026, 1, 1, tzinfo=UTC): "2026-01-01T00:00:00.000Z",
        datetime(999, 1, 1, 0, 0, 0, 999, tzinfo=UTC): "0999-01-01T00:00:00.000Z",
    }
    for value, text in cases.items():
        # Then each is UTC with a `Z`, 24 characters (so strings sort like times), and parses back
        assert format_time(value) == text and len(text) == 24
        assert parse_time(text) == value.astimezone(UTC).replace(microsecond=value.microsecond // 1000 * 1000)


def test_the_request_repr_names_the_number_of_events_never_their_contents() -> None:
    # Powertools formats the validated request into a debug message on every request
    request = IngestRequest.model_validate(
        {"events": [{"actor": {"id": "u", "email": "ada@example.com"}}] * 3}
    )
    assert repr(request) == "IngestRequest(events='3 events')"
    assert "ada@example.com" not in str(request)
