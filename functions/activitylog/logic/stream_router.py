"""The stream router: new events to their tenant's destinations, as deliveries (docs/streaming.md).

Per batch of stream records: the events are grouped by tenant, each tenant's destinations are read
once (consistently), each event goes to every destination that receives, was created before the
event was received, and whose filters select it (`matches_document`, the one filter check), cut
into deliveries of at most 100 events and 256 KiB. Each delivery is a ledger item, then a message.
What could not be recorded or enqueued is reported by its earliest record: the stream retries from
there (at least once; deliveries after it may be made twice).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ulid import ULID

from activitylog.logic.ports import DeliveryQueue, DestinationStore
from activitylog.logic.query_plan import matches_document
from activitylog.models.destinations import (
    MAX_DELIVERY_BYTES,
    MAX_EVENTS_PER_DELIVERY,
    DeliveryMessage,
    DeliveryRecord,
    StoredDestination,
)
from activitylog.models.text import epoch_millis

ROUTE_THREADS = 16  # tenants of one batch routed at once (DynamoDB's and SQS's latency bound it)


class StreamedEvent(NamedTuple):
    """One event from the stream (or a replay's read): where it came from, and its document."""

    ref: str  # the stream record's sequence number (a replay: its index position)
    tenant: str
    text: str  # the stored document
    data: dict[str, Any]  # json.loads(text)

    @property
    def received_at(self) -> datetime:
        return datetime.fromisoformat(self.data["received_at"])


@dataclass(frozen=True)
class RouterPorts:
    store: DestinationStore
    queue: DeliveryQueue
    consumers: tuple[Callable[..., set[str]], ...] = ()  # each called (tenant, events, now=now)


def route(events: Sequence[StreamedEvent], *, now: datetime, ports: RouterPorts) -> set[str]:
    """Route a batch; returns the refs of the records to report as failed (the earliest of each
    part that could not be routed). Tenants are routed concurrently (ROUTE_THREADS): each costs a
    few DynamoDB and SQS round trips, and a batch of 500 records may hold hundreds of tenants."""
    by_tenant: dict[str, list[StreamedEvent]] = {}
    for event in events:
        by_tenant.setdefault(event.tenant, []).append(event)

    def one(item: tuple[str, list[StreamedEvent]]) -> set[str]:
        return _route_tenant(item[0], item[1], now=now, ports=ports)

    if len(by_tenant) <= 1:
        outcomes = [one(item) for item in by_tenant.items()]
    else:
        with ThreadPoolExecutor(max_workers=min(ROUTE_THREADS, len(by_tenant))) as pool:
            outcomes = list(pool.map(one, by_tenant.items()))
    return set().union(*outcomes)


def _route_tenant(tenant: str, events: list[StreamedEvent], *, now: datetime, ports: RouterPorts) -> set[str]:
    try:
        destinations = [d for d in ports.store.list_destinations(tenant) if d.receives()]
    except Exception:  # the store is busy: this tenant's events again, from its first one
        return {events[0].ref}
    failed: set[str] = set()
    now_ms = epoch_millis(now)
    for destination in destinations:
        created = destination.settings.created_at
        selected = [
            e
            for e in events
            if e.received_at >= created and matches_document(e.data, destination.settings.filters, now_ms)
        ]
        failed |= create_deliveries(tenant, destination, selected, replay_id=None, now=now, ports=ports)
    for consumer in ports.consumers:
        failed |= consumer(tenant, events, now=now)
    return failed


def cut(events: Sequence[StreamedEvent]) -> list[list[StreamedEvent]]:
    """Deliveries of at most MAX_EVENTS_PER_DELIVERY events and MAX_DELIVERY_BYTES of their JSON."""
    chunks: list[list[StreamedEvent]] = []
    size = 0
    for event in events:
        length = len(event.text.encode("utf-8")) + 1
        if not chunks or len(chunks[-1]) == MAX_EVENTS_PER_DELIVERY or size + length > MAX_DELIVERY_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += length
    return chunks


def create_deliveries(
    tenant: str,
    destination: StoredDestination,
    events: Sequence[StreamedEvent],
    *,
    replay_id: str | None,
    now: datetime,
    ports: RouterPorts,
) -> set[str]:
    """Record and enqueue the deliveries of `events`; the first ref of each that failed.

    A replay's deliveries open no lag marker: `lag_seconds` is about events still on their way
    from acceptance, not about a re-send of the past."""
    destination_id = destination.settings.id
    recorded: list[tuple[DeliveryRecord, list[StreamedEvent]]] = []
    failed: set[str] = set()
    for chunk in cut(events):
        record = DeliveryRecord(
            id=str(ULID()),
            status="pending",
            event_count=len(chunk),
            attempts=0,
            created_at=now,
            replay_id=replay_id,
            oldest_received_at=min(e.received_at for e in chunk),
        )
        ids = [e.data["id"] for e in chunk]
        try:
            live = replay_id is None
            ports.store.put_delivery(tenant, destination_id, record, ids, now=now, open_marker=live)
        except Exception:
            failed.add(chunk[0].ref)
            continue
        recorded.append((record, chunk))
    bodies = [
        DeliveryMessage(tenant=tenant, destination_id=destination_id, delivery_id=r.id).model_dump_json()
        for r, _ in recorded
    ]
    for index in sorted(ports.queue.send(bodies)) if bodies else ():
        record, chunk = recorded[index]
        failed.add(chunk[0].ref)
        # best effort: an orphan ledger item would show as pending and hold the lag (the events
        # are routed again from this record anyway)
        with contextlib.suppress(Exception):
            ports.store.delete_delivery(tenant, destination_id, record)
    return failed
