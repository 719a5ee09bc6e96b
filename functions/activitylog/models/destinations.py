"""Streaming destinations, deliveries and replays (API.md Part 2, "Streaming destinations").

One model per shape of the contract: what a tenant sends (`DestinationCreate`, `DestinationUpdate`,
`ReplayRequest`), what it reads (`Destination`, `Delivery`, `Replay`, `TestResult`), and what the
control table keeps (`DestinationSettings` plus the item's state attributes, docs/streaming.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from typing_extensions import TypeAliasType

from activitylog.models.exports import ExportName
from activitylog.models.filters import EventFilter
from activitylog.models.text import Timestamp

DestinationType = TypeAliasType("DestinationType", Literal["webhook", "s3", "eventbridge"])
DestinationState = TypeAliasType("DestinationState", Literal["active", "failing", "disabled"])
DeliveryStatus = TypeAliasType("DeliveryStatus", Literal["pending", "delivered", "retrying", "failed"])
ReplayStatus = TypeAliasType("ReplayStatus", Literal["running", "succeeded", "failed"])

MAX_DESTINATIONS = 20  # per tenant: the router reads them all for every batch of the tenant's events
MAX_EVENTS_PER_DELIVERY = 100
MAX_DELIVERY_BYTES = 256 * 1024  # of the events' JSON
EXTERNAL_ID_PREFIX = "activitylog:"

_ROLE_ARN = r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$"
_BUS_ARN = r"^arn:aws(-[a-z]+)*:events:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:event-bus/[A-Za-z0-9_./-]+$"
_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_PREFIX_CHARS = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
_EXTERNAL_ID = r"^activitylog:[A-Za-z0-9_+=,.@:/-]+$"


def _prefix(value: str) -> str:
    """An S3 key prefix: safe characters only, no empty or `.`/`..` segment, no leading or trailing `/`."""
    value = value.strip("/")
    if not _PREFIX_CHARS.fullmatch(value):
        raise ValueError("may contain letters, digits, / and !_.*'()- only")
    if value and any(part in ("", ".", "..") for part in value.split("/")):
        raise ValueError("must not contain empty, '.' or '..' segments")
    return value


Url = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
RoleArn = Annotated[str, StringConstraints(pattern=_ROLE_ARN, max_length=2048)]
BusArn = Annotated[str, StringConstraints(pattern=_BUS_ARN, max_length=1600)]  # the bus name: 256


def _bucket(value: str) -> str:
    if ".." in value or value.startswith("xn--") or value.endswith("-s3alias"):
        raise ValueError("is not a valid S3 bucket name")
    return value


Bucket = Annotated[str, StringConstraints(pattern=_BUCKET), AfterValidator(_bucket)]
Prefix = Annotated[str, StringConstraints(max_length=512), AfterValidator(_prefix)]
ExternalId = Annotated[str, StringConstraints(pattern=_EXTERNAL_ID, min_length=13, max_length=1224)]

TYPE_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # type: (required fields, optional fields)
    "webhook": (frozenset({"url"}), frozenset()),
    "s3": (frozenset({"bucket", "role_arn", "external_id"}), frozenset({"prefix"})),
    "eventbridge": (frozenset({"event_bus_arn", "role_arn"}), frozenset({"external_id"})),
}
ALL_TYPE_FIELDS = frozenset({"url", "bucket", "prefix", "role_arn", "external_id", "event_bus_arn"})


class DestinationFilters(EventFilter):
    """The event filter of GET /v1/events without a time range: a destination gets every matching
    event from now on (a time range is a replay's, `POST .../replays`)."""

    @model_validator(mode="after")
    def _no_time_range(self) -> DestinationFilters:
        if self.from_ is not None or self.to is not None:
            raise ValueError("a destination's filters take no `from` or `to` (replay a range instead)")
        return self


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TypeFields(_Strict):
    url: Url | None = None
    bucket: Bucket | None = None
    prefix: Prefix | None = None
    role_arn: RoleArn | None = None
    external_id: ExternalId | None = None
    event_bus_arn: BusArn | None = None


def check_type_fields(kind: str, given: dict[str, Any]) -> None:
    """The type's required fields are there and no other type's fields are."""
    required, optional = TYPE_FIELDS[kind]
    present = {k for k in ALL_TYPE_FIELDS if given.get(k) is not None}
    if missing := sorted(required - present):
        raise ValueError(f"a {kind} destination needs {', '.join(missing)}")
    if foreign := sorted(present - required - optional):
        raise ValueError(f"a {kind} destination has no {', '.join(foreign)}")


class DestinationCreate(_TypeFields):
    name: ExportName
    type: DestinationType
    filters: DestinationFilters = Field(default_factory=DestinationFilters)
    enabled: bool = True

    @model_validator(mode="after")
    def _fields_of_type(self) -> DestinationCreate:
        check_type_fields(self.type, self.model_dump())
        return self


class DestinationUpdate(_TypeFields):
    """`PUT` (partial): fields left out keep their value; the type cannot change."""

    name: ExportName | None = None
    filters: DestinationFilters | None = None
    enabled: bool | None = None


class DestinationSettings(BaseModel):
    """What the tenant chose: the stored `doc` of a destination item."""

    id: str
    name: str
    type: DestinationType
    url: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    event_bus_arn: str | None = None
    filters: DestinationFilters = Field(default_factory=DestinationFilters)
    enabled: bool = True
    created_at: Timestamp


class SigningSecret(BaseModel):
    secret: str
    valid_until: Timestamp | None = None  # None: the current secret


class StoredDestination(BaseModel):
    """A destination item: its settings, secrets and state (one consistent read gets all)."""

    settings: DestinationSettings
    secrets: list[SigningSecret]
    state: DestinationState = "active"
    failing_since: Timestamp | None = None
    last_delivered_at: Timestamp | None = None
    version: int = 1

    def valid_secrets(self, now: datetime) -> list[str]:
        return [s.secret for s in self.secrets if s.valid_until is None or s.valid_until > now]

    def receives(self) -> bool:
        """Whether new events are routed to it (paused and disabled destinations get nothing)."""
        return self.settings.enabled and self.state != "disabled"


class Destination(BaseModel):
    """A destination as the API shows it (never its secret)."""

    id: str
    name: str
    type: DestinationType
    url: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    event_bus_arn: str | None = None
    filters: DestinationFilters
    enabled: bool
    state: DestinationState
    created_at: Timestamp
    last_delivered_at: Timestamp | None
    lag_seconds: int = Field(description="age of the oldest event not yet delivered; 0 when none")


class DestinationCreated(BaseModel):
    destination: Destination
    secret: str = Field(description="the signing secret (`whsec_...`), shown only here")


class DestinationPage(BaseModel):
    destinations: list[Destination]


class SecretRotated(BaseModel):
    secret: str = Field(description="the new signing secret; the previous one stays valid 24 hours")


class TestResult(BaseModel):
    status: Literal["delivered", "failed"]
    http_status: int | None
    error: str | None
    duration_ms: int


class Delivery(BaseModel):
    id: str
    status: DeliveryStatus
    event_count: int
    attempts: int
    created_at: Timestamp
    last_attempt_at: Timestamp | None = None
    next_attempt_at: Timestamp | None = None
    last_http_status: int | None = None
    last_error: str | None = None
    replay_id: str | None = None


class DeliveryRecord(Delivery):
    """A ledger item's `doc`: the API's Delivery and when its oldest event was received (lag)."""

    oldest_received_at: Timestamp
    manual: bool = False  # a retry asked for with POST .../retry: one attempt, then done
    # A delivery of one payload rather than of events (an alert's firing): its type and data JSON.
    payload_type: str | None = None
    payload: str | None = None


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next_cursor: str | None


class DeliveryAnswer(BaseModel):
    delivery: Delivery


class ReplayRequest(_Strict):
    from_: Timestamp = Field(alias="from")
    to: Timestamp

    @model_validator(mode="after")
    def _ordered(self) -> ReplayRequest:
        if self.from_ >= self.to:
            raise ValueError("`from` must be earlier than `to`")
        return self


class Replay(BaseModel):
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    id: str
    status: ReplayStatus
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    event_count: int = 0
    created_at: Timestamp
    finished_at: Timestamp | None = None


class ReplayAnswer(BaseModel):
    replay: Replay


# --- messages on the deliveries queue (docs/streaming.md) -------------------------------------------


class DeliveryMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    kind: Literal["delivery"] = "delivery"
    tenant: str
    destination_id: str
    delivery_id: str


class ReplayMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    kind: Literal["replay"] = "replay"
    tenant: str
    destination_id: str
    replay_id: str


QueueMessage = Annotated[DeliveryMessage | ReplayMessage, Field(discriminator="kind")]
