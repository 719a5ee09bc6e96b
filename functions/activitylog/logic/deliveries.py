"""The deliverer: one message of the deliveries queue at a time (docs/streaming.md).

A delivery message makes at most one attempt. It reads the destination (consistently: a deleted
destination gets nothing more; a paused or disabled one fails the delivery) and the delivery (done
already: a duplicate message, dropped), then the events by id (gone or expired ones are left out),
sends, and records the attempt. A failed attempt answers how long until the next one (the retry
schedule of the contract), which the handler turns into the message's visibility timeout.

A replay message runs one step of a replay: it reads the destination's events by received time
through the query path for at most REPLAY_STEP_SECONDS, makes their deliveries, saves its position
and enqueues the next step.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from activitylog.logic import query
from activitylog.logic.destination_send import EVENTS_TYPE, SendPorts, api_json, send
from activitylog.logic.ports import DeliveryQueue, DestinationStore, EventStore
from activitylog.logic.query import Budget, QueryPorts, ReceivedPosition
from activitylog.logic.stream_router import RouterPorts, StreamedEvent, create_deliveries
from activitylog.models.destinations import (
    DeliveryMessage,
    DeliveryRecord,
    ReplayMessage,
    StoredDestination,
)
from activitylog.models.text import epoch_millis, format_time

# After attempt n fails, the next one is RETRY_DELAYS[n - 1] later (API.md: about 5 s, 5 min,
# 30 min, 2 h, 5 h, 10 h and 10 h); after the 8th failed attempt the delivery is `failed`.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = timedelta(days=5)  # of failures only: the destination is disabled
REPLAY_STEP_SECONDS = 30.0  # of reading per step (the deliverer's timeout, 120 s, fits it and 4 webhooks)
REPLAY_STEP_EVENTS = 5_000  # matching events per step, at most (50 deliveries)
EARLY = timedelta(seconds=1)  # a message back this much before its attempt is due is on time


@dataclass(frozen=True)
class DisabledNotice:
    tenant: str
    destination: StoredDestination
    failing_since: datetime
    now: datetime


@dataclass(frozen=True)
class DelivererPorts:
    store: DestinationStore
    queue: DeliveryQueue
    events: EventStore
    send: SendPorts
    query: Callable[[str], QueryPorts]  # a tenant's query ports (fresh write shards: replays)
    disabled: Callable[[DisabledNotice], None]  # the notice: one email, one audit event


def handle(message: DeliveryMessage | ReplayMessage, *, now: datetime, ports: DelivererPorts) -> int | None:
    """Seconds until the message is to be handled again (a retry), or None: done with it."""
    if isinstance(message, ReplayMessage):
        replay_step(message, now=now, ports=ports)
        return None
    return deliver(message, now=now, ports=ports)


def _finish(
    ports: DelivererPorts,
    tenant: str,
    destination_id: str,
    record: DeliveryRecord,
    status: str,
    error: str | None,
) -> None:
    record.status = status  # type: ignore[assignment]
    record.next_attempt_at = None
    record.manual = False
    if error is not None:
        record.last_error = error
    ports.store.save_delivery(tenant, destination_id, record)
    ports.store.close_marker(tenant, destination_id, record)


def deliver(message: DeliveryMessage, *, now: datetime, ports: DelivererPorts) -> int | None:
    tenant, destination_id = message.tenant, message.destination_id
    found = ports.store.get_delivery(tenant, destination_id, message.delivery_id)
    if found is None:
        return None  # expired from the ledger
    record, event_ids = found
    if record.status in ("delivered", "failed"):
        return None  # a duplicate message of a finished delivery
    destination = ports.store.get_destination(tenant, destination_id)
    if destination is None:
        return None  # deleted: nothing is delivered after the delete (its ledger expires)
    if not destination.receives():
        why = f"the destination is {'disabled' if destination.state == 'disabled' else 'paused'}"
        _finish(ports, tenant, destination_id, record, "failed", why)
        return None
    if record.next_attempt_at is not None and record.next_attempt_at - EARLY > now:
        return max(1, int((record.next_attempt_at - now).total_seconds()))  # back too early
    if record.payload is not None and record.payload_type is not None:  # one payload (a firing)
        payloads, kind = [record.payload], record.payload_type
    else:
        documents = _documents(tenant, event_ids, now, ports.events)
        if not documents:
            expired = "its events expired before they were delivered"
            _finish(ports, tenant, destination_id, record, "failed", expired)
            return None
        payloads, kind = api_json(documents), EVENTS_TYPE
    attempt = send(
        tenant,
        destination,
        message_id=record.id,
        created_at=record.created_at,
        events=payloads,
        now=now,
        ports=ports.send,
        kind=kind,
    )
    record.attempts += 1
    record.last_attempt_at = now
    record.last_http_status = attempt.http_status
    record.last_error = attempt.error
    if attempt.delivered:
        _finish(ports, tenant, destination_id, record, "delivered", None)
        ports.store.mark_delivered(tenant, destination_id, now)
        return None
    delay: timedelta | None = None
    if record.manual or record.attempts >= MAX_ATTEMPTS:
        _finish(ports, tenant, destination_id, record, "failed", None)
    else:
        delay = RETRY_DELAYS[record.attempts - 1]
        record.status = "retrying"
        record.next_attempt_at = now + delay
        ports.store.save_delivery(tenant, destination_id, record)
    _failed(tenant, destination, now, ports)
    return int(delay.total_seconds()) if delay is not None else None


def _failed(tenant: str, destination: StoredDestination, now: datetime, ports: DelivererPorts) -> None:
    """The destination's state after a failed attempt: failing; disabled (once) after 5 days."""
    destination_id = destination.settings.id
    since = ports.store.mark_failing(tenant, destination_id, now)
    if since is None or now - since < DISABLE_AFTER:
        return
    if ports.store.disable(tenant, destination_id, since):
        ports.disabled(DisabledNotice(tenant, destination, since, now))


def _documents(tenant: str, event_ids: list[str], now: datetime, events: EventStore) -> list[str]:
    """The delivery's events still stored and not expired, in the delivery's order."""
    keys = [events.event_key(tenant, i) for i in event_ids]
    found = events.get_documents(keys)
    now_ms = epoch_millis(now)
    kept = []
    for key in keys:
        text = found.get(key)
        if text is not None and epoch_millis(datetime.fromisoformat(json.loads(text)["expires_at"])) > now_ms:
            kept.append(text)
    return kept


# --- replays --------------------------------------------------------------------------------------


def replay_step(message: ReplayMessage, *, now: datetime, ports: DelivererPorts) -> None:
    """One step; raises when its deliveries or its next step could not be enqueued (the message is
    then handled again from the saved position: deliveries of the failed step may be made twice)."""
    tenant, destination_id = message.tenant, message.destination_id
    found = ports.store.get_replay(tenant, destination_id, message.replay_id)
    if found is None:
        return
    replay, saved = found
    if replay.status != "running":
        return
    destination = ports.store.get_destination(tenant, destination_id)
    if destination is None:
        replay.status, replay.finished_at = "failed", now
        ports.store.save_replay(tenant, destination_id, replay, saved)
        return
    position = ReceivedPosition(saved["phase"], saved.get("ts")) if saved else None
    selected: list[StreamedEvent] = []
    last = position
    finished = False
    for where, doc in query.iter_received(
        tenant,
        destination.settings.filters,
        replay.from_,
        replay.to,
        position=position,
        now=now,
        ports=ports.query(tenant),
        budget=Budget(seconds=REPLAY_STEP_SECONDS),
    ):
        if where.phase == "done":
            finished = True
            break
        if doc is not None:
            selected.append(StreamedEvent(where.ts or "", tenant, doc.text, doc.data))
        last = where
        if len(selected) >= REPLAY_STEP_EVENTS:
            break
    router = RouterPorts(store=ports.store, queue=ports.queue)
    if create_deliveries(tenant, destination, selected, replay_id=replay.id, now=now, ports=router):
        raise RuntimeError("some of the replay's deliveries could not be enqueued; the step is retried")
    replay.event_count += len(selected)
    new_position: dict[str, Any] | None = {"phase": last.phase, "ts": last.ts} if last else saved
    if finished:
        replay.status, replay.finished_at = "succeeded", now
        ports.store.save_replay(tenant, destination_id, replay, new_position)
        return
    ports.store.save_replay(tenant, destination_id, replay, new_position)
    if ports.queue.send([message.model_dump_json()]):
        raise RuntimeError("the replay's next step could not be enqueued; this step is retried")


# --- the disable notice ----------------------------------------------------------------------------


def disabled_notice(notice: DisabledNotice) -> tuple[str, str, str]:
    """(subject, text, html) of the one email to the tenant's notification addresses."""
    settings = notice.destination.settings
    subject = f"Activity Log: destination {settings.name!r} was disabled"
    text = (
        f"Every delivery to the {settings.type} destination {settings.name!r} ({settings.id}) has failed "
        f"since {format_time(notice.failing_since)}, so it was disabled at {format_time(notice.now)}.\n\n"
        "Events accepted from now on are not delivered to it. Fix the endpoint, then enable it again "
        f'(PUT /v1/destinations/{settings.id} with {{"enabled": true}}) and replay what it missed '
        f"(POST /v1/destinations/{settings.id}/replays).\n"
    )
    body = "".join(f"<p>{html.escape(p)}</p>" for p in text.strip().split("\n\n"))
    return subject, text, f"<html><body>{body}</body></html>"


def announce_disabled(
    notice: DisabledNotice,
    *,
    recipients: list[str],
    mail: Callable[[list[str], str, str, str], None],
    record: Callable[[str, dict[str, Any]], object],
) -> Exception | None:
    """The one email (when the tenant has notification addresses) and the audit event of a
    disable; the event is recorded even when the email cannot be sent. Returns why the email was
    not sent (the caller logs it: the disable stands, and is not announced twice)."""
    settings = notice.destination.settings
    failures: list[Exception] = []
    if recipients:
        try:
            mail(recipients, *disabled_notice(notice))
        except Exception as err:  # recorded below, raised after the event is stored
            failures.append(err)
    record(
        "activitylog.destination.disabled",
        {
            "targets": [{"type": "destination", "id": settings.id, "name": settings.name}],
            "metadata": {
                "failing_since": format_time(notice.failing_since),
                "emailed": str(bool(recipients) and not failures).lower(),
            },
        },
    )
    return failures[0] if failures else None
