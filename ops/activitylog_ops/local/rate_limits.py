"""Local mode's per-tenant throttling: what API Gateway does with usage plans, on the emulation's plans.

On AWS, a method with `ApiKeyRequired` takes the API Gateway key the authorizer names
(`usageIdentifierKey`), refuses the request with 403 when that key is unknown or in no plan of the
stage, and otherwise takes a token from the key's bucket (the plan's rate and burst), answering 429
when it is empty. The local gateway does the same with the keys and plans the operator's tools
created on the emulation (activitylog_ops.throttle), so raising a tenant's limit with
`activitylog tenants set-rate-limit` works locally too. A key's plan is re-read at most every
`refresh_seconds` (API Gateway applies a change within seconds to minutes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from activitylog_ops.throttle import RateLimit, TenantThrottles


class Admission(Enum):
    ALLOWED = "allowed"
    THROTTLED = "throttled"  # API Gateway's THROTTLED: 429 rate_limited
    INVALID_KEY = "invalid_key"  # API Gateway's INVALID_API_KEY: 403 forbidden


@dataclass
class TokenBucket:
    """`rate` tokens per second up to `burst`; one token per request (API Gateway's algorithm)."""

    rate: float
    burst: int
    tokens: float
    at: float

    @classmethod
    def full(cls, rate: float, burst: int, now: float) -> TokenBucket:
        return cls(rate, burst, float(burst), now)

    def take(self, now: float) -> bool:
        self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def resize(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = min(self.tokens, float(burst))


@dataclass
class _Known:
    limit: RateLimit | None
    key_id: str | None
    read_at: float


class LocalRateLimits:
    def __init__(
        self,
        throttles: TenantThrottles,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_seconds: float = 1.0,
    ) -> None:
        self._throttles = throttles
        self._clock = clock
        self._refresh = refresh_seconds
        self._known: dict[str, _Known] = {}
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def admit(self, usage_key: str | None) -> Admission:
        if not usage_key:
            return Admission.INVALID_KEY
        known = self._lookup(usage_key)
        if known.limit is None or known.key_id is None:
            return Admission.INVALID_KEY
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(known.key_id)
            if bucket is None:
                bucket = self._buckets[known.key_id] = TokenBucket.full(
                    known.limit.rate, known.limit.burst, now
                )
            elif (bucket.rate, bucket.burst) != (known.limit.rate, known.limit.burst):
                bucket.resize(known.limit.rate, known.limit.burst)
            return Admission.ALLOWED if bucket.take(now) else Admission.THROTTLED

    def _lookup(self, usage_key: str) -> _Known:
        now = self._clock()
        with self._lock:
            known = self._known.get(usage_key)
        if known is not None and now - known.read_at < self._refresh:
            return known
        key = self._throttles.key_with_value(usage_key)
        enabled = key is not None and key.get("enabled", True)
        limit = self._throttles.limit_of_key(key["id"]) if key is not None and enabled else None
        known = _Known(limit, key["id"] if key is not None else None, now)
        with self._lock:
            self._known[usage_key] = known
        return known
