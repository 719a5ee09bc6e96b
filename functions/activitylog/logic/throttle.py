"""Per-tenant rate limits: the tenant's usage identifier, which API Gateway throttles on.

The REST API takes its API keys from the authorizer (`apiKeySource: AUTHORIZER`): for each request
the authorizer names the tenant's API Gateway API key by its value (`usageIdentifierKey`), and API
Gateway applies the throttle of the usage plan that key belongs to, one token bucket per key. Every
credential of a tenant (its API keys, its viewer tokens) names the same key, so one tenant's traffic
never draws on another tenant's bucket, and requests that fail authorization draw on none.

The value is derived, not stored: the authorizer and the operator's tools (which create the key when
a tenant gets its first credential, and move it to another plan to raise its limit) compute the same
value from the stack's name and the tenant id. It is not a secret: callers never send API Gateway
keys (the `x-api-key` header is ignored with this key source), only our bearer credentials.
"""

from __future__ import annotations

import hashlib

USAGE_KEY_PREFIX = "alu_"  # API Gateway key values are 20-128 characters


def usage_key_value(namespace: str, tenant: str) -> str:
    """The value of `tenant`'s API Gateway API key in the stack `namespace` (unique per region)."""
    digest = hashlib.sha256(f"{namespace}\n{tenant}".encode()).hexdigest()
    return USAGE_KEY_PREFIX + digest[:40]


def usage_key_name(namespace: str, tenant: str) -> str:
    """The key's name, for people reading the API Gateway console: the stack and the tenant."""
    return f"{namespace}-tenant-{tenant}"
