"""Webhook signatures: the Standard Webhooks scheme, with the `standardwebhooks` package.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` with the secret's bytes
(the base64 after `whsec_`). While a rotated secret is still valid (24 hours, API.md) a delivery is
signed with every valid secret, space-separated, as the specification allows: a receiver that knows
either secret verifies it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signature(valid_secrets: Sequence[str], *, msg_id: str, timestamp: datetime, body: str) -> str:
    if not valid_secrets:
        raise ValueError("a delivery needs at least one signing secret")
    return " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=timestamp, data=body) for s in valid_secrets)


def delivery_headers(
    valid_secrets: Sequence[str], *, msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers of one delivery (the same id on every retry)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(valid_secrets, msg_id=msg_id, timestamp=timestamp, body=body),
    }
