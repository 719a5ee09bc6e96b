"""Event models: what clients send (EventIn) and what the service returns (StoredEvent)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)
from pydantic_core import CoreSchema, core_schema
from typing_extensions import TypeAliasType

from activitylog.models.filters import Outcome
from activitylog.models.patterns import ACTION_PATTERN, EVENT_ID_PATTERN
from activitylog.models.text import Timestamp, Unicode, check_json_value

RESERVED_NAMESPACE = "activitylog."
MAX_EVENTS_PER_REQUEST = 100
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_BYTES = 32 * 1024
MAX_INT = 2**63 - 1

Str1000 = Annotated[str, StringConstraints(max_length=1000), Unicode]
Str256 = Annotated[str, StringConstraints(max_length=256), Unicode]
Str1_256 = Annotated[str, StringConstraints(min_length=1, max_length=256), Unicode]
Str320 = Annotated[str, StringConstraints(max_length=320), Unicode]
Str1_40 = Annotated[str, StringConstraints(min_length=1, max_length=40), Unicode]
Str500 = Annotated[str, StringConstraints(max_length=500), Unicode]
Str512 = Annotated[str, StringConstraints(max_length=512), Unicode]
Str1_64 = Annotated[str, StringConstraints(min_length=1, max_length=64), Unicode]
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN, examples=["evt-7"])]
Action = Annotated[
    str, Field(min_length=1, max_length=100, pattern=ACTION_PATTERN, examples=["asset.downloaded"])
]


def _bounded_number(value: Any) -> Any:
    # Integers beyond 64 bits would silently become floats (and lose digits) further down.
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ValueError("integers must fit in 64 bits")
    return value


MetadataValue = Annotated[
    StrictBool | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)] | Str500 | None,
    Field(union_mode="left_to_right"),
    BeforeValidator(_bounded_number),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, allow_inf_nan=False)


class Actor(_Strict):
    id: Str1_256
    type: Str1_64 = "user"
    name: Str256 | None = None
    email: Str320 | None = None


class Target(_Strict):
    type: Str1_64
    id: Str1_256
    name: Str256 | None = None


class EventContext(_Strict):
    ip: str | None = Field(default=None, description="IPv4 or IPv6 address", examples=["203.0.113.9"])
    user_agent: Str512 | None = None
    location: Str256 | None = None
    session_id: Str256 | None = None

    @field_validator("ip")
    @classmethod
    def _valid_ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # No IPv6 zone (`fe80::1%eth0`): Python takes any text after `%`, CR/LF and markup
        # included, and a zone names a link on the client's own host, meaningless in an audit log.
        if "%" in value:
            raise ValueError("ip must be an IPv4 or IPv6 address without a zone (%...)")
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("ip must be a valid IPv4 or IPv6 address") from None


class Change(_Strict):
    field: Str1_256
    before: Any = None
    after: Any = None

    @field_validator("before", "after")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        return check_json_value(value)


class EventIn(_Strict):
    """One event as submitted to POST /v1/events."""

    id: EventId | None = None
    action: Action
    occurred_at: Timestamp | None = None
    actor: Actor
    targets: list[Target] = Field(default_factory=list, max_length=10)
    context: EventContext = Field(default_factory=EventContext)
    changes: list[Change] = Field(default_factory=list, max_length=50)
    description: Str1000 | None = None
    outcome: Outcome = "success"
    metadata: dict[Str1_40, MetadataValue] = Field(default_factory=dict, max_length=50)


class StoredEvent(EventIn):
    """The event as accepted (every field present, defaults filled in) plus service times."""

    id: EventId
    occurred_at: Timestamp
    received_at: Timestamp
    expires_at: Timestamp


class Unchecked:
    """`Annotated[EventIn, Unchecked()]`: the value as parsed from JSON, unvalidated (the logic
    validates each event on its own), documented as a reference to the model's one named schema
    (pydantic's `SkipValidation` would inline the model's schema, under a name of its own)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            lambda value: value, json_schema_input_schema=handler(source)
        )


class IngestRequest(_Strict):
    """The envelope. Events are validated one by one (partial acceptance), so the schema documents
    EventIn while the envelope itself only checks the list."""

    events: Annotated[
        list[Annotated[EventIn, Unchecked()]],
        Field(min_length=1, max_length=MAX_EVENTS_PER_REQUEST),
    ]

    def __repr_args__(self) -> Any:
        # Powertools logs the route's arguments with an eager f-string (even with debug logging
        # off): a repr of 100 events cost more per request than routing it. Say how many instead;
        # event contents stay out of any log that way too.
        return [("events", f"{len(self.events)} events")]


EventStatus = TypeAliasType("EventStatus", Literal["accepted", "skipped", "rejected", "failed"])


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[Any] = Field(default_factory=list)


class EventResult(BaseModel):
    index: int
    id: str | None = None
    status: EventStatus
    reason: str | None = Field(default=None, description="why an event was skipped")
    error: ErrorBody | None = None


class IngestResponse(BaseModel):
    accepted: int
    skipped: int
    rejected: int
    failed: int = Field(description="events that could not be stored now: retry them (same id)")
    results: list[EventResult]

    def answer(self) -> dict[str, Any]:
        """The JSON answer. API.md shows each result with only the fields that apply to its
        status: nulls are left out here, in one call (a per-result serializer cost ~1 µs per event)."""
        return self.model_dump(mode="json", exclude_none=True)

    def answer_json(self) -> str:
        return self.model_dump_json(exclude_none=True)


class EventPage(BaseModel):
    events: list[StoredEvent]
    next_cursor: str | None


class EventCount(BaseModel):
    count: int
    complete: bool
    next_cursor: str | None = None
