"""POST /v1/events: validate each event, keep the first stored copy of each id, store the new ones."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from activitylog.logic import quota
from activitylog.logic.catalogue import CatalogueMemory, CatalogueStore, record_entries, sighting
from activitylog.logic.ports import ActionCatalogue, EventStore, UsageStore
from activitylog.logic.quota import QuotaWarning
from activitylog.models.catalogue import Sighting
from activitylog.models.errors import QuotaExceededError
from activitylog.models.events import (
    MAX_EVENT_BYTES,
    RESERVED_NAMESPACE,
    ErrorBody,
    EventIn,
    EventResult,
    IngestResponse,
)
from activitylog.models.query import MAX_FUTURE, EventRecord, WriteOutcome, is_late
from activitylog.models.settings import ActionSelection, KeySelection, Reservation, TenantSettings
from activitylog.models.text import epoch_millis, format_time, to_millis

# The most the null fields left out of a stored document can add to it: description, actor name and
# email, four context fields, 10 target names, 50 changes x (before, after) is under 1.7 KB.
MAX_NULL_BYTES = 4 * 1024


@dataclass(frozen=True, slots=True)
class IngestPorts:
    events: EventStore
    catalogue: ActionCatalogue
    known_actions: set[str]  # actions already in the catalogue (a per-container cache)
    usage: UsageStore
    warn: Callable[[QuotaWarning], None] = lambda _: None  # sends the 80% / 100% emails
    entries: CatalogueStore | None = None  # actors, targets, actions (logic/catalogue.py)
    entry_memory: CatalogueMemory = field(default_factory=CatalogueMemory)


AUDIT_RETENTION_DAYS = 365


def shard_of(event_id: str, shard_count: int) -> int:
    """The write shard of an event (docs/data-model.md, "Write sharding"): stable per id."""
    return 0 if shard_count == 1 else hashlib.sha256(event_id.encode()).digest()[0] % shard_count


def validation_details(err: ValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors without the offending input (it may be huge or sensitive)."""
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in err.errors()]


def _rejected(index: int, event_id: str | None, code: str, message: str, details: list[Any]) -> EventResult:
    return EventResult(
        index=index,
        id=event_id,
        status="rejected",
        error=ErrorBody(code=code, message=message, details=details),
    )


@dataclass(frozen=True, slots=True)
class Rules:
    """What each event of one request is checked against: worked out once per request, not per
    event (ingestion CPU, docs/benchmarks.md)."""

    now: datetime  # UTC milliseconds
    received: str  # `now` as stored
    latest: datetime  # occurred_at after this is too far in the future
    oldest: datetime  # occurred_at at or before this is older than the retention
    retention_days: int
    shard_count: int
    logging_enabled: bool
    actions: ActionSelection | None  # None: every action is logged
    metadata_keys: KeySelection | None  # None: every metadata key is kept

    @classmethod
    def of(cls, now: datetime, settings: TenantSettings) -> Rules:
        logging = settings.logging
        return cls(
            now=to_millis(now),
            received=format_time(now),
            latest=now + MAX_FUTURE,
            oldest=now - timedelta(days=settings.retention_days),
            retention_days=settings.retention_days,
            shard_count=settings.shard_count,
            logging_enabled=logging.logging_enabled,
            actions=None if logging.actions.selects_everything() else logging.actions,
            metadata_keys=None if logging.metadata_keys.selects_everything() else logging.metadata_keys,
        )


def _check(event: EventIn, rules: Rules, internal: bool) -> tuple[str, str] | None:
    reserved = event.action.startswith(RESERVED_NAMESPACE) or event.action == RESERVED_NAMESPACE[:-1]
    if reserved and not internal:
        return "reserved_action", "the activitylog. namespace is reserved for the service's own events"
    if event.occurred_at is not None:
        if event.occurred_at > rules.latest:
            return "validation_error", "occurred_at is more than 5 minutes in the future"
        if event.occurred_at <= rules.oldest:
            return "validation_error", "occurred_at is older than the tenant's retention"
    return None


def _skip_reason(event: EventIn, rules: Rules) -> str | None:
    if not rules.logging_enabled:
        return "logging_disabled"
    if rules.actions is not None and not rules.actions.selects(event.action):
        return "action_not_logged"
    return None


def stored_document(
    event: EventIn, event_id: str, occurred: datetime, *, received: str, expires: str
) -> tuple[str, int]:
    """The `StoredEvent` JSON without nulls (every byte is billed; reading fills the defaults back
    in), and the event's size with nulls (the 32 KiB limit is on the whole event).

    `event` is validated already and `StoredEvent` is `EventIn` plus two times at the end, so the
    document is `event`'s own JSON (its id and time filled in) with those two appended: validating
    or constructing a `StoredEvent` for it cost a third of ingestion's CPU (docs/benchmarks.md;
    tests/unit/test_ingest.py pins the result to `StoredEvent`'s serialisation).
    """
    event.id, event.occurred_at = event_id, occurred
    times = f',"received_at":"{received}","expires_at":"{expires}"}}'
    document = event.model_dump_json(exclude_none=True)[:-1] + times
    size = len(document.encode("utf-8"))
    if size > MAX_EVENT_BYTES - MAX_NULL_BYTES:  # only then can the nulls decide the 32 KiB limit
        size = len((event.model_dump_json()[:-1] + times).encode("utf-8"))
    return document, size


def prepare(
    index: int,
    raw: Any,
    *,
    tenant: str,
    now: datetime,
    settings: TenantSettings,
    seen: set[str],
    internal: bool = False,
    rules: Rules | None = None,
    sightings: dict[int, Sighting] | None = None,
) -> tuple[EventResult | None, EventRecord | None]:
    """Validate one event; return its rejection or skip, or the record to store.

    `internal` events are the service's own (`activitylog.*`): no logging settings apply to them.
    `rules` are `Rules.of(now, settings)`, passed in by callers that prepare many events.
    `sightings` receives, by index, what a stored event tells the catalogue.
    """
    rules = rules or Rules.of(now, settings)
    raw_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        event = EventIn.model_validate(raw)
    except ValidationError as err:
        return _rejected(index, raw_id, "validation_error", "invalid event", validation_details(err)), None
    problem = _check(event, rules, internal)
    if problem:
        return _rejected(index, event.id, problem[0], problem[1], []), None
    event_id = event.id or str(ULID.from_datetime(now))
    if event_id in seen:
        return _rejected(
            index, event_id, "duplicate_id", "the same id appears earlier in this request", []
        ), None
    seen.add(event_id)
    skip = None if internal else _skip_reason(event, rules)
    if skip is not None:
        return EventResult(index=index, id=event_id, status="skipped", reason=skip), None
    selection = rules.metadata_keys
    if selection is not None and not internal and event.metadata:
        event.metadata = {k: v for k, v in event.metadata.items() if selection.selects(k)}
    occurred = event.occurred_at or rules.now  # a given occurred_at is UTC milliseconds already
    # Whole seconds, rounded up, so the TTL attribute and `expires_at` say exactly the same. The
    # service's own events are kept at least AUDIT_RETENTION_DAYS (API.md, settings): a tenant
    # cannot shorten the trail of its own changes (`retention_days: 1` would expire the very event
    # that records it).
    days = max(rules.retention_days, AUDIT_RETENTION_DAYS) if internal else rules.retention_days
    expires_epoch = math.ceil(occurred.timestamp()) + days * 86_400
    expires = format_time(datetime.fromtimestamp(expires_epoch, tz=UTC))
    document, size = stored_document(event, event_id, occurred, received=rules.received, expires=expires)
    if size > MAX_EVENT_BYTES:
        return _rejected(index, event_id, "validation_error", "the event is larger than 32 KiB", []), None
    targets = list(dict.fromkeys((t.type, t.id) for t in event.targets))
    record = EventRecord(
        tenant=tenant,
        event_id=event_id,
        ts=f"{format_time(occurred)}#{event_id}",
        expires_epoch=expires_epoch,
        shard=shard_of(event_id, rules.shard_count),
        actor_id=event.actor.id,
        action=event.action,
        targets=targets,
        document=document,
        received_ts=f"{rules.received}#{event_id}" if is_late(occurred, rules.now) else None,
    )
    if sightings is not None:
        sightings[index] = sighting(event, epoch_millis(occurred), expires_epoch)
    return None, record


def _warn(
    ports: IngestPorts,
    tenant: str,
    month: str,
    limit: int,
    accepted: int,
    reservation: Reservation,
    now: datetime,
) -> None:
    """Announce each threshold reached, not yet marked sent and not held (none, in the steady state:
    the reservation's own answer says so, at no extra request)."""
    epoch = int(now.timestamp())
    for threshold in quota.pending(accepted, limit, reservation.warned, reservation.leases, epoch):
        ports.warn(
            QuotaWarning(tenant=tenant, month=month, threshold=threshold, accepted=accepted, quota=limit)
        )


def ingest(
    raw_events: Sequence[Any],
    *,
    tenant: str,
    now: datetime,
    settings: TenantSettings,
    ports: IngestPorts,
) -> IngestResponse:
    results: dict[int, EventResult] = {}
    records: dict[int, EventRecord] = {}
    seen: set[str] = set()
    sightings: dict[int, Sighting] = {}
    rules = Rules.of(now, settings)
    for index, raw in enumerate(raw_events):
        rejection, record = prepare(
            index, raw, tenant=tenant, now=now, settings=settings, seen=seen, rules=rules, sightings=sightings
        )
        if rejection is not None:
            results[index] = rejection
        elif record is not None:
            records[index] = record

    # Identity is (tenant, id): an id already stored is answered `accepted` and stored again never.
    existing = ports.events.existing_ids(tenant, [r.event_id for r in records.values()])
    new = {i: r for i, r in records.items() if r.event_id not in existing}

    # The whole batch fits in the month's quota or nothing of it is stored (re-sent ids don't count).
    month = quota.month_of(now)
    limit = settings.limits.monthly_quota
    reservation = ports.usage.reserve(tenant, month, len(new), limit) if new else None
    if reservation is not None and reservation.total is None:
        # Refused: a warning still to send (its email failed earlier) is tried now all the same.
        _warn(ports, tenant, month, limit, reservation.accepted, reservation, now)
        raise QuotaExceededError(
            f"this batch would exceed the monthly quota of {limit} events",
            retry_after=quota.seconds_to_next_month(now),
        )

    # The catalogue serves `action=prefix.*`; it must know an action before any event of it is stored.
    unseen = {r.action for r in new.values()} - ports.known_actions
    if unseen:
        ports.catalogue.add_actions(tenant, unseen)
        ports.known_actions.update(unseen)

    try:
        # Before the events, as the actions above: an entry is listed once an event of it is stored
        # (in the steady state this touches nothing: logic/catalogue.py).
        if new and ports.entries is not None:
            record_entries(
                tenant,
                [sightings[i] for i in new],
                now=int(now.timestamp()),
                store=ports.entries,
                memory=ports.entry_memory,
            )
        outcome = ports.events.put_events(list(new.values())) if new else WriteOutcome()
    except Exception:
        if new:
            ports.usage.release(tenant, month, len(new))  # only a crash right here can leak a reservation
        raise
    # Not stored (failed), or stored first by a concurrent write of the same id (taken, counted by
    # that write): neither counts here.
    failed, uncounted = outcome.failed, len(outcome.failed) + len(outcome.taken)
    if uncounted:
        ports.usage.release(tenant, month, uncounted)
    if reservation is not None and reservation.total is not None:
        stored = reservation.total - uncounted
        _warn(ports, tenant, month, limit, stored, reservation, now)
    for index, record in records.items():
        if record.event_id in failed:
            results[index] = EventResult(
                index=index,
                id=record.event_id,
                status="failed",
                error=ErrorBody(code="unavailable", message="not stored, retry this event with its id"),
            )
        else:
            results[index] = EventResult(index=index, id=record.event_id, status="accepted")
    ordered = [results[i] for i in range(len(raw_events))]
    return IngestResponse(
        accepted=sum(r.status == "accepted" for r in ordered),
        skipped=sum(r.status == "skipped" for r in ordered),
        rejected=sum(r.status == "rejected" for r in ordered),
        failed=sum(r.status == "failed" for r in ordered),
        results=ordered,
    )
