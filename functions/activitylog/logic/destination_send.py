"""What one attempt sends to a destination, by its type (API.md "Streaming destinations").

- webhook: one POST of `{"type": "activitylog.events", "timestamp", "data": {"events": [...]}}`,
  signed with every valid secret (Standard Webhooks; `webhook-id` is the delivery id, the same on
  every retry);
- s3: one gzip JSON Lines object `<prefix>/YYYY/MM/DD/HH/<delivery id>.jsonl.gz` (the hour of the
  delivery's creation, so a retry writes the same key);
- eventbridge: PutEvents, one entry per event (source `activitylog`, detail-type
  `Activity Log Event`, detail = the StoredEvent).

The events go out as the API shows them (`StoredEvent`, defaults and nulls filled in), whatever
the stored document leaves out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from activitylog.logic.ports import RoleTargets, Webhooks
from activitylog.logic.webhook_signing import delivery_headers
from activitylog.models.destinations import EXTERNAL_ID_PREFIX, DestinationSettings, StoredDestination
from activitylog.models.events import StoredEvent
from activitylog.models.text import format_time

EVENTS_TYPE = "activitylog.events"
TEST_TYPE = "activitylog.test"


@dataclass(frozen=True)
class Attempt:
    delivered: bool
    http_status: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class SendPorts:
    webhooks: Webhooks
    targets: RoleTargets


def api_json(documents: Sequence[str]) -> list[str]:
    """Stored documents as the API's StoredEvent JSON."""
    return [StoredEvent.model_validate_json(d).model_dump_json() for d in documents]


def external_id(tenant: str, settings: DestinationSettings) -> str:
    return settings.external_id or f"{EXTERNAL_ID_PREFIX}{tenant}"


def object_key(settings: DestinationSettings, created_at: datetime, name: str) -> str:
    path = f"{created_at:%Y/%m/%d/%H}/{name}.jsonl.gz"
    return f"{settings.prefix}/{path}" if settings.prefix else path


def webhook_body(kind: str, now: datetime, data_json: str) -> str:
    return f'{{"type":{json.dumps(kind)},"timestamp":"{format_time(now)}","data":{data_json}}}'


def send(
    tenant: str,
    destination: StoredDestination,
    *,
    message_id: str,
    created_at: datetime,
    events: Sequence[str],
    now: datetime,
    ports: SendPorts,
    kind: str = EVENTS_TYPE,
) -> Attempt:
    """One attempt: `events` are API JSON documents (`api_json`); for any other `kind` (a test,
    an alert's firing) they are the one payload's `data`."""
    settings = destination.settings
    if settings.type == "webhook":
        assert settings.url is not None
        data = events[0] if kind != EVENTS_TYPE else '{"events":[' + ",".join(events) + "]}"
        body = webhook_body(kind, now, data)
        secrets = destination.valid_secrets(now)
        headers = delivery_headers(secrets, msg_id=message_id, timestamp=now, body=body)
        headers["content-type"] = "application/json"
        answer = ports.webhooks.post(settings.url, body.encode("utf-8"), headers)
        return Attempt(answer.delivered, answer.http_status, answer.error, answer.duration_ms)
    assert settings.role_arn is not None
    lines = [webhook_body(kind, now, events[0])] if kind != EVENTS_TYPE else list(events)
    if settings.type == "s3":
        assert settings.bucket is not None
        result = ports.targets.put_object(
            role_arn=settings.role_arn,
            external_id=external_id(tenant, settings),
            bucket=settings.bucket,
            key=object_key(settings, created_at, message_id),
            lines=lines,
        )
    else:
        assert settings.event_bus_arn is not None
        result = ports.targets.put_events(
            role_arn=settings.role_arn,
            external_id=external_id(tenant, settings),
            event_bus_arn=settings.event_bus_arn,
            details=lines,
        )
    return Attempt(result.delivered, None, result.error, result.duration_ms)
