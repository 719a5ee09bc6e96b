"""Alerts on the stream: the router hands each alert its events, the evaluator keeps the state and
records, tells and delivers the firings (docs/alerts.md, "The live path").

`select` runs inside the stream router, per tenant of a batch: it reads the tenant's alerts
(consistently, like its destinations) and, for each enabled alert, the batch's events it evaluates
(`alert_eval.matches`, received at or after the alert's `rule_since`) become `AlertWork` messages
(the alert's definition as read, the events' groups, times and ids, in stream order).

`evaluate_work` runs in the evaluator, per message: per group, it reads the state, steps every
event (`alert_eval.step`, the code preview runs), and writes the new state with the firings in one
transaction, conditional on the version it read (another evaluator won: read and step again; the
step is pure). A redelivered message steps its events as duplicates and writes nothing. The
follow-ups of a firing (its `activitylog.alert.fired` event, the email, the deliveries to its
destinations, the alert's last firing time) run after the transaction; until they are done the
firing stays in the state's pending set, so a retry of the message finishes them.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ulid import ULID

from activitylog.logic import alert_eval
from activitylog.logic.ports import AlertStore, DeliveryQueue, DestinationStore, EventStore
from activitylog.logic.stream_router import StreamedEvent
from activitylog.models.alerts import FIRED_ACTION, Alert, AlertWork, Firing, GroupState, Matched, firing_key
from activitylog.models.destinations import DeliveryMessage, DeliveryRecord
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.text import epoch_millis, format_time

MAX_WORK_EVENTS = 1_000  # events per message, at most
MAX_WORK_BYTES = 200_000  # of a message's JSON (SQS takes 256 KiB per message and per batch send)
GROUP_THREADS = 8  # groups of one message evaluated at once (each a few DynamoDB round trips)
MAX_TX_FIRINGS = 99  # firings per transaction, with the state: DynamoDB's limit is 100 items
MAX_RACES = 25  # lost conditional writes on one group before the message is retried as a whole
MAIL_EVENTS = 100  # events listed in an email (a firing names at most 100)


# --- the router's part ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelectPorts:
    alerts: AlertStore
    queue: DeliveryQueue  # the alert-work queue (the same `send` as the deliveries queue)


def select(tenant: str, events: Sequence[StreamedEvent], *, now: datetime, ports: SelectPorts) -> set[str]:
    """Enqueue the tenant's alert work for a batch; the refs to report as failed (the earliest
    event of the tenant's part of the batch when its alerts cannot be read, the earliest of each
    message that could not be enqueued)."""
    try:
        alerts = [a for a in ports.alerts.list_alerts(tenant) if a.enabled]
    except Exception:  # the store is busy: this tenant's events again, from its first one
        return {events[0].ref} if events else set()
    now_ms = epoch_millis(now)
    bodies: list[str] = []
    firsts: list[str] = []
    for alert in alerts:
        chosen = [
            e
            for e in events
            if e.received_at >= alert.rule_since and alert_eval.matches(alert, e.data, now_ms)
        ]
        room = MAX_WORK_BYTES - len(AlertWork(tenant=tenant, alert=alert, events=[]).model_dump_json())
        for part in _cut([(e, _matched(alert, e.data)) for e in chosen], room):
            body = AlertWork(tenant=tenant, alert=alert, events=[m for _, m in part]).model_dump_json()
            bodies.append(body)
            firsts.append(part[0][0].ref)
    failed = ports.queue.send(bodies) if bodies else set()
    return {firsts[i] for i in failed}


def _cut(pairs: list[tuple[StreamedEvent, Matched]], room: int) -> list[list[tuple[StreamedEvent, Matched]]]:
    """Messages' worth of events: at most MAX_WORK_EVENTS and `room` bytes of their JSON each
    (a group or an id can be long, and non-ASCII: cut by the encoded size, not by a count)."""
    parts: list[list[tuple[StreamedEvent, Matched]]] = []
    size = 0
    for pair in pairs:
        length = len(json.dumps(list(pair[1])).encode("utf-8")) + 1
        if not parts or len(parts[-1]) == MAX_WORK_EVENTS or size + length > room:
            parts.append([])
            size = 0
        parts[-1].append(pair)
        size += length
    return parts


def _matched(alert: Alert, document: dict[str, Any]) -> Matched:
    found = alert_eval.occurrence(document)
    return Matched(alert_eval.group_of(alert, document), found.at, found.id)


# --- the evaluator's part ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EvaluatorPorts:
    alerts: AlertStore
    events: EventStore  # the firing's events, for the email
    destinations: DestinationStore  # the firing's deliveries: ledger items, as the router makes them
    deliveries: DeliveryQueue
    mail: Callable[[str, list[str], str, str, str], bool]  # (tenant, to, subject, text, html): sent
    record: Callable[[str, Alert, Firing], None]  # the firing's `activitylog.alert.fired` event
    console_url: str


def evaluate_work(work: AlertWork, *, now: datetime, ports: EvaluatorPorts) -> list[Firing]:
    """Evaluate one message; returns the firings it recorded. Raises when the state could not be
    written (busy, or too many lost races): the message is retried, and its events that were
    written meanwhile are duplicates then."""
    rule = alert_eval.rule_of(work.alert)
    by_group: dict[str | None, list[alert_eval.Occurrence]] = {}
    for event in work.events:
        by_group.setdefault(event.group, []).append(alert_eval.Occurrence(event.id, event.at))

    def one(item: tuple[str | None, list[alert_eval.Occurrence]]) -> list[Firing]:
        return _evaluate_group(work.tenant, work.alert, rule, item[0], item[1], now=now, ports=ports)

    if len(by_group) <= 1:
        outcomes = [one(item) for item in by_group.items()]
    else:  # groups are independent (each its own item): a message of 500 users is 500 round trips
        with ThreadPoolExecutor(max_workers=min(GROUP_THREADS, len(by_group))) as pool:
            outcomes = list(pool.map(one, by_group.items()))
    return [f for fired in outcomes for f in fired]


def _evaluate_group(
    tenant: str,
    alert: Alert,
    rule: alert_eval.Rule,
    group: str | None,
    occurrences: list[alert_eval.Occurrence],
    *,
    now: datetime,
    ports: EvaluatorPorts,
) -> list[Firing]:
    fired: list[Firing] = []
    remaining = occurrences
    races = 0
    while remaining:
        stored, version, pending = ports.alerts.get_state(tenant, alert.id, rule.key, group)
        if pending:
            finish(tenant, alert, rule.key, group, pending, ports=ports)
        state: GroupState = stored or rule.empty()
        firings: list[Firing] = []
        used = 0
        for occurrence in remaining:
            used += 1
            answer = alert_eval.step(rule, state, occurrence)
            state = answer.state
            if answer.fired is not None:
                firings.append(alert_eval.firing(answer.fired, alert_id=alert.id, group=group, fired_at=now))
                if len(firings) == MAX_TX_FIRINGS:
                    break
        if stored is not None and state is stored:
            return fired  # every event was a duplicate or too late: nothing to write
        written = ports.alerts.commit(
            tenant, alert.id, group, state, version=version, firings=firings, now=now
        )
        if not written:
            races += 1
            if races >= MAX_RACES:
                raise StorageUnavailableError("the alert's state changed on every attempt; retry later")
            continue
        remaining = remaining[used:]
        if firings:
            finish(
                tenant, alert, rule.key, group, [firing_key(f) for f in firings], ports=ports, known=firings
            )
            fired += firings
    return fired


def finish(
    tenant: str,
    alert: Alert,
    rule: str,
    group: str | None,
    keys: list[str],
    *,
    ports: EvaluatorPorts,
    known: Sequence[Firing] = (),
) -> None:
    """The follow-ups of recorded firings (each safe to redo), then their keys leave the pending
    set. A follow-up that raises leaves them pending: the message is retried, and does them again."""
    by_key = {firing_key(f): f for f in known}
    for key in keys:
        firing = by_key.get(key) or ports.alerts.get_firing(tenant, alert.id, key)
        if firing is not None:
            follow_up(tenant, alert, firing, ports=ports)
    ports.alerts.finish_pending(tenant, alert.id, rule, group, keys)


def follow_up(tenant: str, alert: Alert, firing: Firing, *, ports: EvaluatorPorts) -> None:
    """Record the firing as an event (its id is the firing's: first write wins), deliver it to the
    alert's destinations (delivery ids derived from the firing: made once), email the recipients,
    and note the alert's last firing."""
    ports.record(tenant, alert, firing)
    for destination_id in alert.destination_ids:
        deliver(tenant, destination_id, firing, ports=ports)
    if alert.recipients:
        subject, text, body = email(alert, firing, _mail_events(tenant, firing, ports), ports.console_url)
        ports.mail(tenant, list(alert.recipients), subject, text, body)
    ports.alerts.mark_fired(tenant, alert.id, firing.fired_at)


def delivery_id(firing: Firing, destination_id: str) -> str:
    """A ULID of the firing's time whose random part is derived from (firing, destination)."""
    seed = hashlib.sha256(f"{firing.id}\x1f{destination_id}".encode()).digest()[:10]
    millis = epoch_millis(firing.fired_at).to_bytes(6, "big")
    return str(ULID.from_bytes(millis + seed))


def deliver(tenant: str, destination_id: str, firing: Firing, *, ports: EvaluatorPorts) -> None:
    """One delivery of the firing to a destination that exists and receives (a deleted, paused or
    disabled destination gets nothing), through the deliverer like any other delivery."""
    destination = ports.destinations.get_destination(tenant, destination_id)
    if destination is None or not destination.receives():
        return
    record = DeliveryRecord(
        id=delivery_id(firing, destination_id),
        status="pending",
        event_count=1,
        attempts=0,
        created_at=firing.fired_at,
        oldest_received_at=firing.fired_at,
        payload_type=FIRED_ACTION,
        payload=firing.model_dump_json(),
    )
    if ports.destinations.get_delivery(tenant, destination_id, record.id) is None:
        ports.destinations.put_delivery(
            tenant, destination_id, record, [], now=firing.fired_at, open_marker=False
        )
    body = DeliveryMessage(tenant=tenant, destination_id=destination_id, delivery_id=record.id)
    if ports.deliveries.send([body.model_dump_json()]):
        raise StorageUnavailableError("the firing's delivery could not be enqueued; retry later")


def _mail_events(tenant: str, firing: Firing, ports: EvaluatorPorts) -> list[dict[str, Any]]:
    keys = [ports.events.event_key(tenant, i) for i in firing.event_ids[:MAIL_EVENTS]]
    found = ports.events.get_documents(keys)
    return [json.loads(found[k]) for k in keys if k in found]


# --- the email ----------------------------------------------------------------------------------------
def console_link(console_url: str, alert: Alert, firing: Firing) -> str:
    """The console's activity feed filtered to the firing: the alert's filters, its group, and
    the window [window_start, window_end] (the `to` bound is exclusive: one millisecond later)."""
    f = alert.filters
    params: list[tuple[str, str]] = []
    actor = f.actor_id
    if alert.group_by == "actor" and firing.group is not None:
        actor = firing.group
    if actor:
        params.append(("actor_id", actor))
    params += [("action", a) for a in f.actions or []]
    target_type, target_id = f.target_type, f.target_id
    if alert.group_by == "target" and firing.group is not None:
        target_type, _, target_id = _split_target(firing.group)
    if target_type:
        params.append(("target_type", target_type))
        if target_id:
            params.append(("target_id", target_id))
    if f.outcome:
        params.append(("outcome", f.outcome))
    if alert.group_by == "ip" and firing.group is not None:
        params.append(("q", firing.group))
    elif f.q:
        params.append(("q", f.q))
    params.append(("from", format_time(firing.window_start)))
    params.append(("to", format_time(firing.window_end + timedelta(milliseconds=1))))
    return f"{console_url}?{urlencode(params)}"


def _split_target(group: str) -> tuple[str, str, str]:
    encoded, _, target_id = group.partition(":")
    return encoded.replace("%3A", ":").replace("%25", "%"), ":", target_id


def email(
    alert: Alert, firing: Firing, events: list[dict[str, Any]], console_url: str
) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a firing's email: each event's time, user, action and id."""
    name = alert.name if len(alert.name) <= 60 else alert.name[:59] + "…"
    subject = f"Alert fired: {name}"
    link = console_link(console_url, alert, firing)
    group = f" for {firing.group}" if firing.group is not None else ""
    summary = (
        f"{firing.count} matching events{group} between {format_time(firing.window_start)} and "
        f"{format_time(firing.window_end)} (UTC)."
    )
    rows = [
        (str(e.get("occurred_at", "")), str(e.get("actor", {}).get("id", "")), str(e["action"]), str(e["id"]))
        for e in events
    ]
    text = "\n".join(
        [
            f'The alert "{alert.name}" fired.',
            summary,
            "",
            *(f"{t}  {u}  {a}  {i}" for t, u, a, i in rows),
            "",
            f"See them in the console: {link}",
            f"Firing {firing.id}, alert {alert.id}.",
        ]
    )
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    body = (
        f"<p>The alert <strong>{html.escape(alert.name)}</strong> fired.</p>"
        f"<p>{html.escape(summary)}</p>"
        "<table><thead><tr><th>Time (UTC)</th><th>User</th><th>Action</th><th>Event id</th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
        f'<p><a href="{html.escape(link)}">See them in the console</a></p>'
        f"<p>Firing {html.escape(firing.id)}, alert {html.escape(alert.id)}.</p>"
    )
    return subject, text, body
