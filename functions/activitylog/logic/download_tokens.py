"""Download tokens: the credential in an emailed `/v1/downloads/{token}` link.

A token names one file (tenant, export, run) and when it stops working (when the file expires,
7 days after the run finished). It is HMAC-SHA256 signed with a key from Secrets Manager, so it
cannot be forged or altered; it is checked in constant time. Format (URL-safe, no padding):

    base64url(json [version, tenant, export id, run id, expires epoch s]) "." base64url(hmac)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from activitylog.models.errors import GoneError, NotFoundError

VERSION = 1
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    tenant: str
    export_id: str
    run_id: str
    expires: int  # epoch seconds


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


_CANONICAL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64(text: str) -> bytes:
    """Only the one encoding `_b64` writes: the URL-safe alphabet, no padding, no other characters,
    and unused trailing bits zero (a decoder that is lenient about any of these accepts several
    spellings of one token, so an altered link would still work)."""
    if not _CANONICAL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, b"activitylog-download:" + body.encode("ascii"), hashlib.sha256).digest()


def issue(key: bytes, grant: DownloadGrant) -> str:
    payload = [VERSION, grant.tenant, grant.export_id, grant.run_id, grant.expires]
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_b64(_sign(key, body))}"


def verify(keys: bytes | Iterable[bytes], token: str, *, now: datetime) -> DownloadGrant:
    """The grant of a genuine token; NotFoundError for anything not signed by us, GoneError once expired.

    `keys`: the key, or the keys a token may be signed with, newest first (the signing secret's
    current and previous versions: one rotation does not break links already emailed). They are
    tried in order and lazily, so the previous one is read only for a token the current one refuses.
    """
    invalid = NotFoundError("no such download")
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise invalid
    body, signature = token.split(".")
    try:
        given = _unb64(signature)
        if not body.isascii():
            raise invalid
        candidates = [keys] if isinstance(keys, bytes) else keys
        if not any(hmac.compare_digest(given, _sign(key, body)) for key in candidates):
            raise invalid
        version, tenant, export_id, run_id, expires = json.loads(_unb64(body))
    except (ValueError, UnicodeError, binascii.Error, TypeError):
        raise invalid from None
    if version != VERSION or not all(isinstance(v, str) for v in (tenant, export_id, run_id)):
        raise invalid
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise invalid
    if now.timestamp() >= expires:
        raise GoneError("this download link has expired")
    return DownloadGrant(tenant, export_id, run_id, expires)
