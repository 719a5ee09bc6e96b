"""/v1/alerts: definitions, firings and preview (API.md Part 2, "Alerts"; docs/alerts.md).

Every read and write is keyed by the caller's tenant. Rules the models cannot check alone are
checked here: the destinations an alert names exist (they are the tenant's own), the number of
alerts, and when a change of the deciding settings takes effect (`rule_since`: events accepted from
then on are evaluated by the new settings, in a state of their own).

Preview runs `alert_eval.evaluate`, the code the live path steps with, over the range's stored
events read through the query path in (occurred_at, id) order, for at most PREVIEW_SECONDS per
page; the states of the groups still able to matter are kept between pages in the control table
(an hour), the cursor names them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ulid import ULID

from activitylog.logic import alert_eval, query
from activitylog.logic import cursor as cursors
from activitylog.logic.ports import AlertStore, DestinationStore
from activitylog.logic.query import Budget, QueryPorts
from activitylog.models.alerts import (
    Alert,
    AlertCreate,
    AlertUpdate,
    FiringPage,
    GroupState,
    PreviewAnswer,
    PreviewRequest,
)
from activitylog.models.errors import BadRequestError, ConflictError, InvalidInputError, NotFoundError
from activitylog.models.filters import EventFilter
from activitylog.models.text import epoch_millis, parse_time

MAX_ALERTS = 50  # per tenant
PREVIEW_SECONDS = 10.0  # of reading per preview page
PREVIEW_FIRINGS = 500  # firings per preview page, at most
MAX_PREVIEW_STATE = 350_000  # bytes of compressed states kept between two pages (one item)
_ULID_CHARS = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


@dataclass(frozen=True)
class AlertPorts:
    store: AlertStore
    destinations: DestinationStore
    query: Callable[[str], QueryPorts]  # a tenant's query ports


def _is_id(value: str) -> bool:
    return len(value) == 26 and set(value) <= _ULID_CHARS


def _invalid(field: str, message: str) -> InvalidInputError:
    detail = {"loc": ["body", field], "msg": message, "type": "value_error"}
    return InvalidInputError("the alert is not valid", details=[detail])


def _check_destinations(tenant: str, ids: list[str], ports: AlertPorts) -> None:
    for destination_id in ids:
        found = _is_id(destination_id) and ports.destinations.get_destination(tenant, destination_id)
        if not found:
            raise _invalid("destination_ids", f"no destination {destination_id!r} of this tenant")


def _found(tenant: str, alert_id: str, ports: AlertPorts) -> tuple[Alert, int]:
    found = ports.store.get_alert(tenant, alert_id) if _is_id(alert_id) else None
    if found is None:
        raise NotFoundError("no such alert")
    return found


def create(tenant: str, body: AlertCreate, *, now: datetime, ports: AlertPorts) -> Alert:
    _check_destinations(tenant, body.destination_ids, ports)
    if len(ports.store.list_alerts(tenant)) >= MAX_ALERTS:
        raise ConflictError(f"a tenant has at most {MAX_ALERTS} alerts: delete one first")
    alert = Alert(
        id=str(ULID()),
        created_at=now,
        updated_at=now,
        rule_since=now,
        **body.model_dump(exclude={"filters"}),
        filters=body.filters,
    )
    ports.store.put_alert(tenant, alert)
    return alert


def get(tenant: str, alert_id: str, *, ports: AlertPorts) -> Alert:
    return _found(tenant, alert_id, ports)[0]


def list_alerts(tenant: str, *, ports: AlertPorts) -> list[Alert]:
    return ports.store.list_alerts(tenant)


def update(tenant: str, alert_id: str, body: AlertUpdate, *, now: datetime, ports: AlertPorts) -> Alert:
    """The fields sent replace the stored ones. A change of what decides (filters, grouping,
    threshold, cooldown) takes effect for events accepted from now on, with a state of its own."""
    current, version = _found(tenant, alert_id, ports)
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if "destination_ids" in changes:
        _check_destinations(tenant, changes["destination_ids"], ports)
    merged = AlertCreate.model_validate(
        {**current.model_dump(include=set(AlertCreate.model_fields)), **changes}
    )
    rule_changed = alert_eval.rule_of(merged).key != alert_eval.rule_of(current).key
    alert = Alert(
        **merged.model_dump(exclude={"filters"}),
        filters=merged.filters,
        id=current.id,
        created_at=current.created_at,
        updated_at=now,
        rule_since=now if rule_changed else current.rule_since,
        last_fired_at=current.last_fired_at,
    )
    ports.store.save_alert(tenant, alert, version=version)
    return alert


def delete(tenant: str, alert_id: str, *, ports: AlertPorts) -> None:
    if not (_is_id(alert_id) and ports.store.delete_alert(tenant, alert_id)):
        raise NotFoundError("no such alert")


def firings(tenant: str, alert_id: str, *, limit: int, cursor: str | None, ports: AlertPorts) -> FiringPage:
    """Newest `fired_at` first."""
    _found(tenant, alert_id, ports)
    fp = cursors.fingerprint(tenant, f"firings:{alert_id}", {})
    before = cursors.position_str(cursors.decode(cursor, fp), "p") if cursor else None
    if before is not None and not before.startswith("FIR#"):
        raise BadRequestError("invalid cursor")
    found, last = ports.store.list_firings(tenant, alert_id, limit=limit, before=before)
    return FiringPage(firings=found, next_cursor=cursors.encode(fp, {"p": last}) if last else None)


# --- preview --------------------------------------------------------------------------------------


def _range_filter(body: PreviewRequest) -> EventFilter:
    data = body.alert.filters.model_dump(mode="json", by_alias=True, exclude={"from_", "to"})
    return EventFilter.model_validate({**data, "from": body.from_, "to": body.to})


def _pack(states: dict[str | None, GroupState]) -> bytes:
    pairs = [[group, state.model_dump(mode="json")] for group, state in states.items()]
    return zlib.compress(json.dumps(pairs, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _unpack(blob: bytes) -> dict[str | None, GroupState]:
    try:
        pairs = json.loads(zlib.decompress(blob))
        return {group: GroupState.model_validate(state) for group, state in pairs}
    except (ValueError, zlib.error, TypeError):
        raise BadRequestError("invalid cursor") from None


def preview(
    tenant: str, body: PreviewRequest, cursor: str | None, *, now: datetime, ports: AlertPorts
) -> PreviewAnswer:
    """The firings the alert would have produced on the range's stored events (nothing is sent or
    stored but the states between pages). `fired_at` is the triggering event's `received_at`: about
    when the live path would have recorded it."""
    fp = cursors.fingerprint(tenant, "alert-preview", body.model_dump(mode="json", by_alias=True))
    position: str | None = None
    states: dict[str | None, GroupState] = {}
    if cursor:
        data = cursors.decode(cursor, fp)
        position = cursors.position_ts(data, "p")
        preview_id = cursors.position_str(data, "s")
        blob = ports.store.get_preview(tenant, preview_id) if _is_id(preview_id) else None
        if blob is None:
            raise BadRequestError("this preview's cursor has expired (an hour): start the preview again")
        states = _unpack(blob)
    rule = alert_eval.rule_of(body.alert)
    reading = query.Reading(
        tenant,
        _range_filter(body),
        position=position,
        budget=Budget(seconds=PREVIEW_SECONDS),
        now=now,
        ports=ports.query(tenant),
    )
    received: dict[str, str] = {}
    last = position

    def documents() -> Any:
        nonlocal last
        for ts, document in reading:
            last = ts
            if document is not None:
                received[document.data["id"]] = document.data["received_at"]
                yield document.data

    result = alert_eval.evaluate(
        body.alert, documents(), now_ms=epoch_millis(now), rule=rule, states=states, max_fired=PREVIEW_FIRINGS
    )
    found = [
        alert_eval.firing(f, alert_id=None, group=group, fired_at=parse_time(received[f.trigger]))
        for group, f in result.fired
    ]
    complete = reading.exhausted and len(result.fired) < PREVIEW_FIRINGS
    if complete or last is None:
        return PreviewAnswer(firings=found, complete=True, next_cursor=None)
    at = epoch_millis(parse_time(last.split("#", 1)[0]))
    kept = {g: s for g, s in result.states.items() if not alert_eval.idle(rule, s, at)}
    blob = _pack(kept)
    if len(blob) > MAX_PREVIEW_STATE:
        raise BadRequestError(
            "too many groups are active at once to preview this range in pages: "
            "narrow the filters or the range"
        )
    preview_id = str(ULID())
    ports.store.save_preview(tenant, preview_id, blob, now=now)
    return PreviewAnswer(
        firings=found, complete=False, next_cursor=cursors.encode(fp, {"p": last, "s": preview_id})
    )
