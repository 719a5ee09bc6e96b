"""Ids for events sent without one, under an `Idempotency-Key`.

A retry of a request whose answer was not recorded (some events `failed`) must not store the
events that were accepted the first time again. Their ids are therefore derived from the tenant, the
key and the event's position, so the retry finds them stored. Without the header, ids are ULIDs
(time-ordered), as API.md says; these derived ids are not time-ordered (nothing relies on that:
listings sort by `occurred_at`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

PREFIX = "ik"


def derived_id(tenant: str, idempotency_key: str, index: int) -> str:
    digest = hashlib.sha256(f"{tenant}\x1f{idempotency_key}\x1f{index}".encode()).digest()
    return PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()[:32]


def with_request_ids(raw_events: Sequence[Any], tenant: str, idempotency_key: str) -> list[Any]:
    """Copies of the events, id-less objects given their derived id; anything else untouched."""
    return [
        {**raw, "id": derived_id(tenant, idempotency_key, index)}
        if isinstance(raw, dict) and raw.get("id") is None
        else raw
        for index, raw in enumerate(raw_events)
    ]
