"""Opaque cursors, bound to the tenant, the caller's actor restriction and the filters.

A cursor carries only a position (a sort-key value of the tenant's own index entries); queries
always run on the caller's tenant keys, so even a forged position cannot reach another tenant.
The fingerprint makes a cursor from other filters or another tenant a clear 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any

from activitylog.models.errors import BadRequestError
from activitylog.models.patterns import EVENT_ID_PATTERN

# A sort-key value of the events indexes: `<occurred_at, 24 characters>#<event id>`.
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z#" + EVENT_ID_PATTERN.removeprefix("^"), re.ASCII)

VERSION = 1


def fingerprint(tenant: str, scope: str, filters: dict[str, Any]) -> str:
    canonical = json.dumps([tenant, scope, filters], sort_keys=True, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()[:12]).decode()


def encode(fp: str, position: dict[str, Any]) -> str:
    raw = json.dumps({"v": VERSION, "f": fp, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, fp: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise BadRequestError("invalid cursor") from None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise BadRequestError("invalid cursor")
    if data.get("f") != fp:
        raise BadRequestError("the cursor belongs to another query: use it with the same filters")
    return data


def position_str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    # Positions are sort-key values "<time>#<id>": printable, bounded.
    if not isinstance(value, str) or not 0 < len(value) <= 200 or not value.isprintable():
        raise BadRequestError("invalid cursor")
    return value


def position_ts(data: dict[str, Any], key: str) -> str:
    """A position in the events indexes: a stored `ts` value, in exactly that format.

    The query logic derives its exclusive read bounds from the format (`logic.query.before`), so
    anything else is refused, as a forged or corrupted cursor.
    """
    value = position_str(data, key)
    if not _TS.fullmatch(value):
        raise BadRequestError("invalid cursor")
    return value


def position_int(data: dict[str, Any], key: str, upper: int) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < upper:
        raise BadRequestError("invalid cursor")
    return value
