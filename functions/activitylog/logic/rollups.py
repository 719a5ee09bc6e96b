"""Hourly rollups (docs/reports.md): each UTC hour of a tenant's events counted by dimension, once
the hour can no longer change, from the events themselves through the query path.

Why computed from the stored events, not added up from the stream: a count added per stream
record is exact only if no record is ever counted twice or missed, and the stream redelivers (a
batch that failed, a bisected one, a timed-out invocation). Computing an hour from its events is
idempotent by construction (computing it again writes the same counts), it sees exactly what
`GET /v1/events/count` sees (the same index reads and `matches_document`), and it writes each hour
once: one item per dimension per hour, whatever the number of its events (docs/reports.md gives
the write units per event this costs; the goal was under 0.2).

The stream feeds it: the router (`mark`) sends, for each (tenant, hour) it sees first, one `seal`
message that comes back until the hour is sealable (`sealable_at`: no event that is not late can
still arrive for it), and, for late events (a backfill), a `late` message that computes their
hours again. A report checks for late events received after an hour was computed, so an answer
never misses one while its hour waits to be computed again (logic/reports.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.logic import report_calendar as cal
from activitylog.logic.ports import DeliveryQueue, RollupStore
from activitylog.logic.query import Document, QueryPorts, iter_documents
from activitylog.models.filters import EventFilter
from activitylog.models.query import LATE_AFTER, is_late
from activitylog.models.reports import DIMENSIONS, HourRollup, RollupWork, Tally
from activitylog.models.settings import TenantSettings
from activitylog.models.text import epoch_millis

# An hour is computed once every event that is not late has been received for it (received at
# most LATE_AFTER after it occurred) and the indexes have caught up with it (GSI_LAG). `as_of` is
# the compute's start minus GSI_LAG: every event received before it is counted.
GSI_LAG = timedelta(minutes=5)
MAX_DELAY_SECONDS = 900  # SQS's longest delay: a message waiting longer comes back and is sent again
LATE_DELAY_SECONDS = 900  # late events' hours are computed again this long after (a backfill coalesces)
FILL_BACK = timedelta(days=31)  # a seal also computes the tenant's hours since the last one, this far
MEMORY_HOURS = 3  # the router remembers the hours it announced this long (one message per container)
MAX_MEMORY = 100_000
HOURS_PER_MESSAGE = 24
TARGET_SEPARATOR = "\x1f"


def sealable_at(hour: datetime) -> datetime:
    return hour + cal.HOUR + LATE_AFTER + GSI_LAG


# --- counting (the one place that says which groups an event is in) ---------------------------------


def groups(doc: dict[str, Any], dimension: str) -> list[tuple[str, str | None]]:
    """The groups of `dimension` an event is in, each with its label: none (no ip, no such
    metadata key, no target), one, or several (distinct targets)."""
    if dimension == "action":
        return [(doc["action"], None)]
    if dimension == "actor":
        actor = doc["actor"]
        return [(actor["id"], actor.get("name") or actor.get("email"))]
    if dimension == "outcome":
        return [(doc.get("outcome", "success"), None)]
    if dimension == "ip":
        ip = (doc.get("context") or {}).get("ip")
        return [(ip, None)] if ip else []
    if dimension == "target":
        seen: dict[str, str | None] = {}
        for target in doc.get("targets", ()):
            key = f"{target['type']}{TARGET_SEPARATOR}{target['id']}"
            if key not in seen or target.get("name"):
                seen[key] = target.get("name") or seen.get(key)
        return list(seen.items())
    key = dimension.removeprefix("metadata.")
    value = (doc.get("metadata") or {}).get(key)
    if value is None:
        return []
    return [(value if isinstance(value, str) else json.dumps(value), None)]


def dimensions_for(settings: TenantSettings) -> tuple[str, ...]:
    return DIMENSIONS + tuple(f"metadata.{k}" for k in settings.logging.report_metadata_keys)


def count(
    tally: Tally, doc: dict[str, Any], dimensions: Iterable[str], *, quarter: int | None = None
) -> None:
    """Count one event (its stored document) into `tally`."""
    tally.total += 1
    if quarter is not None:
        tally.quarters[quarter] += 1
    expiry = epoch_millis(datetime.fromisoformat(doc["expires_at"])) // 1000
    tally.min_expiry = expiry if tally.min_expiry is None else min(tally.min_expiry, expiry)
    tally.max_expiry = expiry if tally.max_expiry is None else max(tally.max_expiry, expiry)
    occurred = doc["occurred_at"]
    for dimension in dimensions:
        counts = tally.dims.setdefault(dimension, {})
        for key, label in groups(doc, dimension):
            counts[key] = counts.get(key, 0) + 1
            if label is not None:
                labels = tally.labels.setdefault(dimension, {})
                if key not in labels or labels[key][0] <= occurred:
                    labels[key] = (occurred, label)


def merge(
    into: Tally, other: Tally, dimensions: Iterable[str], keep: Callable[[str], bool] | None = None
) -> None:
    """Add `other`'s groups of `dimensions` to `into` (only the keys `keep` accepts), and labels."""
    for dimension in dimensions:
        counts = into.dims.setdefault(dimension, {})
        for key, n in other.dims.get(dimension, {}).items():
            if keep is None or keep(key):
                counts[key] = counts.get(key, 0) + n
        theirs = other.labels.get(dimension)
        if theirs:
            mine = into.labels.setdefault(dimension, {})
            for key, seen in theirs.items():
                if key not in mine or mine[key][0] <= seen[0]:
                    mine[key] = seen


def tally_hour(documents: Iterable[Document], hour: datetime, dimensions: Sequence[str]) -> Tally:
    tally = Tally()
    for doc in documents:
        occurred = datetime.fromisoformat(doc.data["occurred_at"])
        count(tally, doc.data, dimensions, quarter=int((occurred - hour) // cal.QUARTER))
    return tally


# --- the worker -----------------------------------------------------------------------------------


WORK_SECONDS = 240.0  # a message's hours computed for at most this long (the worker has 300 s)


@dataclass(frozen=True)
class RollupPorts:
    store: RollupStore
    queue: DeliveryQueue  # the rollup-work queue (the same adapter as deliveries')
    query: Callable[[str], QueryPorts]  # the tenant's query ports, every shard ingestion writes
    settings: Callable[[str], TenantSettings]
    seconds: float = WORK_SECONDS
    clock: Callable[[], float] = time.monotonic


def work_body(work: RollupWork) -> str:
    return work.model_dump_json(exclude_defaults=True)


def send(works: Sequence[RollupWork], queue: DeliveryQueue, *, delay_seconds: int = 0) -> bool:
    """Enqueue; False when some message was not taken."""
    if not works:
        return True
    return not queue.send([work_body(w) for w in works], delay_seconds=max(0, min(delay_seconds, 900)))


def chunks(tenant: str, hours: Sequence[datetime], **fields: Any) -> list[RollupWork]:
    ordered = sorted(set(hours))
    return [
        RollupWork(tenant=tenant, hours=ordered[i : i + HOURS_PER_MESSAGE], **fields)
        for i in range(0, len(ordered), HOURS_PER_MESSAGE)
    ]


def compute(work: RollupWork, *, now: datetime, ports: RollupPorts) -> int:
    """Compute the message's hours that are sealable (and not already computed as it asks), for
    at most `ports.seconds`; send the others back: the ones not due yet with a delay, the ones
    there was no time for at once. Returns how many hours were computed. Raises when the store or
    the queue is busy (the message is retried: computing an hour twice writes the same counts)."""
    deadline = ports.clock() + ports.seconds
    due = [h for h in work.hours if sealable_at(h) <= now]
    waiting = [h for h in work.hours if sealable_at(h) > now]
    computed = 0
    left: list[datetime] = []
    if due:
        fp = work.fingerprint if work.kind == "filtered" else ""
        hours = set(due)
        if work.kind == "seal":
            hours |= _unsealed_since(work.tenant, min(due), now=now, ports=ports)
        known = ports.store.get_hours(work.tenant, fp, min(hours), max(hours) + cal.HOUR, dimensions=())
        dimensions = dimensions_for(ports.settings(work.tenant))
        for hour in sorted(hours):
            if ports.clock() > deadline:
                left.append(hour)
                continue
            stored = known.get(hour)
            if stored is not None and _fresh_enough(stored, work, hour):
                continue
            _compute_hour(work, fp, hour, dimensions, now=now, ports=ports)
            computed += 1
        if work.kind == "seal" and not left:
            ports.store.set_sealed_through(work.tenant, max(due))
    # Sent back once this message's own work is stored: a retry of it does not queue them twice.
    if left:
        for rest in chunks(work.tenant, left, **_fields(work)):
            if not send([rest], ports.queue):
                raise RuntimeError("rollup work not sent back")
    if waiting:
        wait = min(sealable_at(h) for h in waiting) - now
        back = work.model_copy(update={"hours": waiting})
        if not send([back], ports.queue, delay_seconds=int(wait.total_seconds()) + 1):
            raise RuntimeError("rollup work not sent back to wait")
    return computed


def _fields(work: RollupWork) -> dict[str, Any]:
    """The message's fields but its hours, for the rest of its work (a seal's rest: hours to
    compute again, as late ones: they are not the tenant's newest)."""
    fields = work.model_dump(exclude={"hours", "tenant"})
    if work.kind == "seal":
        fields["kind"] = "late"
    return fields


def _fresh_enough(stored: HourRollup, work: RollupWork, hour: datetime) -> bool:
    if epoch_millis(sealable_at(hour) - GSI_LAG) > stored.as_of:
        return False  # computed before the hour was sealable (never written so; a defect if so)
    return work.kind != "late" or stored.as_of > work.received_ms


def _unsealed_since(tenant: str, first: datetime, *, now: datetime, ports: RollupPorts) -> set[datetime]:
    """The hours between the tenant's last sealed one and `first`: computed too, so that an hour
    without events is stored as one (a report reads it from the rollups, not from the events)."""
    last = ports.store.sealed_through(tenant)
    if last is None or last >= first:
        return set()
    start = max(last + cal.HOUR, cal.floor_hour(first - FILL_BACK))
    return set(cal.hours_of(start, first))


def _compute_hour(
    work: RollupWork, fp: str, hour: datetime, dimensions: Sequence[str], *, now: datetime, ports: RollupPorts
) -> None:
    base = work.filters or EventFilter()
    filters = base.model_copy(update={"from_": hour, "to": hour + cal.HOUR})
    if work.also_target is not None:
        filters._also_target = work.also_target  # the restriction's second target, as the request had it
    as_of = epoch_millis(now - GSI_LAG)
    tally = tally_hour(
        iter_documents(work.tenant, filters, now=now, ports=ports.query(work.tenant)), hour, dimensions
    )
    rollup = HourRollup(hour=hour, as_of=as_of, tally=tally, meta_keys=frozenset(
        d.removeprefix("metadata.") for d in dimensions if d.startswith("metadata.")
    ))  # fmt: skip
    ports.store.put_hour(work.tenant, fp, rollup, expires=_expiry(rollup, fp, now))


FILTERED_KEEP = timedelta(days=7)


def _expiry(rollup: HourRollup, fp: str, now: datetime) -> int:
    """When the stored hour may go: a day after its last event expires (none: a day after the
    hour's own events could, at the longest retention, not matter: 30 days); a filter's after a week."""
    last = rollup.tally.max_expiry or int((now + timedelta(days=30)).timestamp())
    keep = last + 86_400
    if fp:
        keep = min(keep, int((now + FILTERED_KEEP).timestamp()))
    return keep


# --- the router's part -------------------------------------------------------------------------------


@dataclass
class MarkPorts:
    queue: DeliveryQueue
    store: RollupStore  # the late marks (a report knows an hour's rollup misses late events)
    memory: dict[tuple[str, datetime], None] = field(default_factory=dict)  # hours announced


def mark(tenant: str, events: Sequence[Any], *, now: datetime, ports: MarkPorts) -> set[str]:
    """The router's consumer: announce each hour of these events once (seal), and the hours of
    late events (marked, so that a report counts them from events until they are computed again,
    and computed again); the refs of the events whose hour could not be announced."""
    first_ref: dict[datetime, str] = {}
    late: dict[datetime, int] = {}
    for event in events:
        occurred = datetime.fromisoformat(event.data["occurred_at"])
        received = datetime.fromisoformat(event.data["received_at"])
        hour = cal.floor_hour(occurred)
        first_ref.setdefault(hour, event.ref)
        if is_late(occurred, received):
            late[hour] = max(late.get(hour, 0), epoch_millis(received))
    failed: set[str] = set()
    new = [h for h in first_ref if (tenant, h) not in ports.memory and h not in late]
    if new:
        wait = int((min(sealable_at(h) for h in new) - now).total_seconds()) + 1
        if send(chunks(tenant, new, kind="seal"), ports.queue, delay_seconds=wait):
            _remember(ports, tenant, new, now)
        else:
            failed |= {first_ref[h] for h in new}
    if late:
        try:
            ports.store.mark_late(tenant, late)
        except Exception:  # the store is busy: these events again (a report reads them meanwhile)
            return failed | {first_ref[h] for h in late}
        works = [
            RollupWork(tenant=tenant, kind="late", hours=w.hours, received_ms=max(late[h] for h in w.hours))
            for w in chunks(tenant, list(late), kind="late")
        ]
        if not send(works, ports.queue, delay_seconds=LATE_DELAY_SECONDS):
            failed |= {first_ref[h] for h in late}
    return failed


def _remember(ports: MarkPorts, tenant: str, hours: Iterable[datetime], now: datetime) -> None:
    memory = ports.memory
    if len(memory) > MAX_MEMORY:
        horizon = now.astimezone(UTC) - timedelta(hours=MEMORY_HOURS)
        for key in [k for k in memory if k[1] < horizon]:
            del memory[key]
        if len(memory) > MAX_MEMORY:
            memory.clear()
    for hour in hours:
        memory[(tenant, hour)] = None
