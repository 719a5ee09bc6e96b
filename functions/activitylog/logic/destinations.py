"""/v1/destinations: definitions, secrets, tests, the ledger, retries and replays (API.md Part 2).

Every read and write is keyed by the caller's tenant. Rules the models cannot check alone are
checked here: the webhook URL's addresses (at creation and change; again at every delivery), the
external id (`activitylog:<tenant>` or `activitylog:<tenant>:<suffix>`: a tenant cannot name
another tenant's id and so cannot make us assume a role trusted for that tenant), the number of
destinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ulid import ULID

from activitylog.logic import cursor as cursors
from activitylog.logic.destination_send import TEST_TYPE, SendPorts, send
from activitylog.logic.ports import DeliveryQueue, DestinationStore
from activitylog.logic.webhook_signing import new_secret
from activitylog.models.destinations import (
    EXTERNAL_ID_PREFIX,
    MAX_DESTINATIONS,
    Delivery,
    DeliveryMessage,
    DeliveryPage,
    DeliveryRecord,
    Destination,
    DestinationCreate,
    DestinationSettings,
    DestinationUpdate,
    Replay,
    ReplayMessage,
    ReplayRequest,
    SigningSecret,
    StoredDestination,
    TestResult,
    check_type_fields,
)
from activitylog.models.errors import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StorageUnavailableError,
)

ROTATION_OVERLAP = timedelta(hours=24)  # a rotated secret stays valid this long (API.md)
_ULID_CHARS = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@dataclass(frozen=True)
class DestinationPorts:
    store: DestinationStore
    queue: DeliveryQueue
    send: SendPorts


def _is_id(value: str) -> bool:
    return len(value) == 26 and set(value) <= _ULID_CHARS


def _invalid(field: str, message: str) -> InvalidInputError:
    detail = {"loc": ["body", field], "msg": message, "type": "value_error"}
    return InvalidInputError("the destination is not valid", details=[detail])


def _check_rules(tenant: str, settings: DestinationSettings, ports: DestinationPorts) -> None:
    if settings.external_id is not None:
        own = f"{EXTERNAL_ID_PREFIX}{tenant}"
        if settings.external_id != own and not settings.external_id.startswith(own + ":"):
            raise _invalid("external_id", f"must be {own!r} or start with {own + ':'!r}")
    if settings.type == "webhook":
        assert settings.url is not None
        ports.send.webhooks.check(settings.url)  # DestinationNotAllowedError: 422 destination_not_allowed


def view(stored: StoredDestination, *, lag_seconds: int) -> Destination:
    s = stored.settings
    return Destination(
        **s.model_dump(exclude={"filters"}),
        filters=s.filters,
        state=stored.state,
        last_delivered_at=stored.last_delivered_at,
        lag_seconds=lag_seconds,
    )


def _lag(tenant: str, destination_id: str, now: datetime, ports: DestinationPorts) -> int:
    oldest = ports.store.oldest_open(tenant, destination_id)
    return max(0, int((now - oldest).total_seconds())) if oldest else 0


def _viewed(tenant: str, stored: StoredDestination, now: datetime, ports: DestinationPorts) -> Destination:
    return view(stored, lag_seconds=_lag(tenant, stored.settings.id, now, ports))


def _found(tenant: str, destination_id: str, ports: DestinationPorts) -> StoredDestination:
    stored = ports.store.get_destination(tenant, destination_id) if _is_id(destination_id) else None
    if stored is None:
        raise NotFoundError("no such destination")
    return stored


def create(
    tenant: str, body: DestinationCreate, *, now: datetime, ports: DestinationPorts
) -> tuple[Destination, str]:
    settings = DestinationSettings(
        id=str(ULID()), created_at=now, **body.model_dump(exclude={"filters"}), filters=body.filters
    )
    if settings.type == "s3" and settings.prefix is None:
        settings.prefix = ""
    _check_rules(tenant, settings, ports)
    if len(ports.store.list_destinations(tenant)) >= MAX_DESTINATIONS:
        raise ConflictError(f"a tenant has at most {MAX_DESTINATIONS} destinations: delete one first")
    secret = new_secret()
    stored = StoredDestination(settings=settings, secrets=[SigningSecret(secret=secret)])
    ports.store.put_destination(tenant, stored)
    return view(stored, lag_seconds=0), secret


def list_all(tenant: str, *, now: datetime, ports: DestinationPorts) -> list[Destination]:
    return [_viewed(tenant, d, now, ports) for d in ports.store.list_destinations(tenant)]


def get(tenant: str, destination_id: str, *, now: datetime, ports: DestinationPorts) -> Destination:
    return _viewed(tenant, _found(tenant, destination_id, ports), now, ports)


def update(
    tenant: str, destination_id: str, body: DestinationUpdate, *, now: datetime, ports: DestinationPorts
) -> tuple[Destination, list[str]]:
    """A partial update; returns the destination and the names of the fields that changed."""
    stored = _found(tenant, destination_id, ports)
    given = body.model_dump(exclude_unset=True)
    if any(v is None for v in given.values()):
        nulls = sorted(k for k, v in given.items() if v is None)
        raise _invalid(nulls[0], "must not be null (leave the field out to keep its value)")
    current = stored.settings.model_dump()
    merged = {**current, **given}
    try:
        check_type_fields(stored.settings.type, merged)
    except ValueError as err:
        raise _invalid(sorted(given)[0] if given else "type", str(err)) from None
    settings = DestinationSettings.model_validate(
        {**merged, "filters": body.filters if body.filters is not None else stored.settings.filters}
    )
    changed = sorted(k for k in given if current.get(k) != settings.model_dump().get(k))
    _check_rules(tenant, settings, ports)
    reenabled = body.enabled is True and (not stored.settings.enabled or stored.state != "active")
    updated = stored.model_copy(update={"settings": settings})
    if changed or reenabled:
        ports.store.save_destination(tenant, updated, version=stored.version, reset_state=reenabled)
        if reenabled:
            updated = updated.model_copy(update={"state": "active", "failing_since": None})
    return _viewed(tenant, updated, now, ports), changed


def delete(tenant: str, destination_id: str, *, ports: DestinationPorts) -> None:
    _found(tenant, destination_id, ports)
    if not ports.store.delete_destination(tenant, destination_id):
        raise NotFoundError("no such destination")


def rotate_secret(tenant: str, destination_id: str, *, now: datetime, ports: DestinationPorts) -> str:
    """A new current secret; the previous current one stays valid ROTATION_OVERLAP more (earlier
    rotated ones keep their own end, and ended ones are dropped)."""
    stored = _found(tenant, destination_id, ports)
    kept = [
        s if s.valid_until is not None else SigningSecret(secret=s.secret, valid_until=now + ROTATION_OVERLAP)
        for s in stored.secrets
        if s.valid_until is None or s.valid_until > now
    ]
    secret = new_secret()
    updated = stored.model_copy(update={"secrets": [SigningSecret(secret=secret), *kept]})
    ports.store.save_destination(tenant, updated, version=stored.version)
    return secret


def test(tenant: str, destination_id: str, *, now: datetime, ports: DestinationPorts) -> TestResult:
    """One `activitylog.test` delivery now, whatever the destination's state (nothing is recorded)."""
    stored = _found(tenant, destination_id, ports)
    data = f'{{"destination_id":"{stored.settings.id}"}}'
    attempt = send(
        tenant,
        stored,
        message_id=f"test_{ULID()}",
        created_at=now,
        events=[data],
        now=now,
        ports=ports.send,
        kind=TEST_TYPE,
    )
    return TestResult(
        status="delivered" if attempt.delivered else "failed",
        http_status=attempt.http_status,
        error=attempt.error,
        duration_ms=attempt.duration_ms,
    )


def deliveries(
    tenant: str, destination_id: str, *, limit: int, cursor: str | None, ports: DestinationPorts
) -> DeliveryPage:
    _found(tenant, destination_id, ports)
    fp = cursors.fingerprint(tenant, f"deliveries:{destination_id}", {})
    before = cursors.position_str(cursors.decode(cursor, fp), "p") if cursor else None
    if before is not None and not _is_id(before):
        raise BadRequestError("invalid cursor")
    records, more = ports.store.list_deliveries(tenant, destination_id, limit=limit, before=before)
    next_cursor = cursors.encode(fp, {"p": records[-1].id}) if more and records else None
    return DeliveryPage(deliveries=[public(r) for r in records], next_cursor=next_cursor)


def public(record: DeliveryRecord) -> Delivery:
    """The API's Delivery (without the ledger's own fields)."""
    return Delivery.model_validate(record.model_dump(include=set(Delivery.model_fields)))


def retry(
    tenant: str, destination_id: str, delivery_id: str, *, now: datetime, ports: DestinationPorts
) -> DeliveryRecord:
    """A failed delivery, once more now (one attempt; if it fails, the delivery is `failed` again)."""
    stored = _found(tenant, destination_id, ports)
    found = ports.store.get_delivery(tenant, destination_id, delivery_id) if _is_id(delivery_id) else None
    if found is None:
        raise NotFoundError("no such delivery")
    record, _ids = found
    if record.status != "failed":
        raise ConflictError(f"only a failed delivery can be retried (this one is {record.status})")
    if not stored.receives():
        raise ConflictError("the destination is paused or disabled: enable it first")
    record.status, record.manual, record.next_attempt_at = "pending", True, None
    ports.store.save_delivery(tenant, destination_id, record)
    if record.replay_id is None:
        ports.store.open_marker(tenant, destination_id, record, now=now)
    message = DeliveryMessage(tenant=tenant, destination_id=destination_id, delivery_id=record.id)
    if ports.queue.send([message.model_dump_json()]):
        record.status, record.manual = "failed", False
        ports.store.save_delivery(tenant, destination_id, record)
        ports.store.close_marker(tenant, destination_id, record)
        raise StorageUnavailableError("the retry could not be queued, try again later")
    return record


def start_replay(
    tenant: str, destination_id: str, body: ReplayRequest, *, now: datetime, ports: DestinationPorts
) -> Replay:
    stored = _found(tenant, destination_id, ports)
    if not stored.receives():
        raise ConflictError("the destination is paused or disabled: enable it first")
    replay = Replay(id=str(ULID()), status="running", from_=body.from_, to=body.to, created_at=now)
    ports.store.put_replay(tenant, destination_id, replay, now=now)
    message = ReplayMessage(tenant=tenant, destination_id=destination_id, replay_id=replay.id)
    if ports.queue.send([message.model_dump_json()]):
        replay.status, replay.finished_at = "failed", now
        ports.store.save_replay(tenant, destination_id, replay, None)
        raise StorageUnavailableError("the replay could not be queued, try again later")
    return replay


def get_replay(tenant: str, destination_id: str, replay_id: str, *, ports: DestinationPorts) -> Replay:
    _found(tenant, destination_id, ports)
    found = ports.store.get_replay(tenant, destination_id, replay_id) if _is_id(replay_id) else None
    if found is None:
        raise NotFoundError("no such replay")
    return found[0]


def audit_target(destination: Destination | StoredDestination) -> dict[str, str]:
    settings = destination.settings if isinstance(destination, StoredDestination) else destination
    return {"type": "destination", "id": settings.id, "name": settings.name}
