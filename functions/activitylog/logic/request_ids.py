"""Ids for events sent without one, under an `Idempotency-Key`.

A retry of a request whose answer was not recorded (some events `failed`) must not store the
events that were accepted the first time again. Their ids are therefore derived from the tenant, the
key, the event's position and the event's content, so the retry (the same body) finds them stored,
for as long as they are retained; a different body sent under a key used before (its stored answer
expired after 24 hours, or it never had one) gets other ids and is stored, never silently taken for
the old events. Without the header, ids are ULIDs
(time-ordered), as API.md says; these derived ids are not time-ordered (nothing relies on that:
listings sort by `occurred_at`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

PREFIX = "ik"


def content_of(raw: dict[str, Any]) -> str:
    """The event as sent, canonically (key order and spacing do not matter; `id` is not part of it)."""
    return json.dumps({k: v for k, v in raw.items() if k != "id"}, sort_keys=True, separators=(",", ":"))


def derived_id(tenant: str, idempotency_key: str, index: int, content: str) -> str:
    seed = "\x1f".join((tenant, idempotency_key, str(index), content))
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    return PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()[:32]


def with_request_ids(raw_events: Sequence[Any], tenant: str, idempotency_key: str) -> list[Any]:
    """Copies of the events, id-less objects given their derived id; anything else untouched."""
    return [
        {**raw, "id": derived_id(tenant, idempotency_key, index, content_of(raw))}
        if isinstance(raw, dict) and raw.get("id") is None
        else raw
        for index, raw in enumerate(raw_events)
    ]
