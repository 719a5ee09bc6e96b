"""Per-tenant rate limits: the usage key and local mode's token bucket (the operator's plans on the
emulation: tests/integration/test_rate_limits.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from activitylog.logic.throttle import usage_key_name, usage_key_value
from activitylog_ops.local.rate_limits import Admission, LocalRateLimits, TokenBucket
from activitylog_ops.throttle import RateLimit
from hypothesis import given
from hypothesis import strategies as st

NAMESPACE = "ActivityLog-Stateless"


def test_usage_key_is_a_valid_api_gateway_value_distinct_per_tenant_and_stack() -> None:
    a, b = usage_key_value(NAMESPACE, "acme"), usage_key_value(NAMESPACE, "acme-2")
    other_stack = usage_key_value("Staging-Stateless", "acme")
    assert len({a, b, other_stack}) == 3
    longest = usage_key_value("x" * 128, "t" * 63)
    assert all(20 <= len(v) <= 128 for v in (a, b, other_stack, longest))
    assert usage_key_value(NAMESPACE, "acme") == a  # derived, so the authorizer and the CLI agree
    assert usage_key_name(NAMESPACE, "acme") == "ActivityLog-Stateless-tenant-acme"


# --- the token bucket ------------------------------------------------------------------------------


def test_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket.full(rate=2, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5) is True  # one token back after half a second at 2/s
    assert bucket.take(0.5) is False
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never above the burst


@given(
    rate=st.integers(1, 50),
    burst=st.integers(1, 100),
    gaps=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=1, max_size=200),
)
def test_bucket_never_admits_more_than_burst_plus_rate_times_elapsed(
    rate: int, burst: int, gaps: list[float]
) -> None:
    bucket = TokenBucket.full(rate=rate, burst=burst, now=0.0)
    now, admitted = 0.0, 0
    for gap in gaps:
        now += gap
        admitted += bucket.take(now)
    assert admitted <= burst + rate * now + 1e-9


@dataclass
class FakeThrottles:
    """Keys by value and their limits, as TenantThrottles reads them from API Gateway."""

    limits: dict[str, RateLimit | None] = field(default_factory=dict)
    reads: int = 0

    def key_with_value(self, value: str) -> dict[str, Any] | None:
        self.reads += 1
        return {"id": f"id-{value}", "value": value, "enabled": True} if value in self.limits else None

    def limit_of_key(self, key_id: str) -> RateLimit | None:
        return self.limits[key_id.removeprefix("id-")]


def limit(rate: float, burst: int) -> RateLimit:
    return RateLimit(rate=rate, burst=burst, plan_id="p", plan_name="plan", custom=False)


def test_each_tenant_has_its_own_bucket_and_unknown_keys_are_refused() -> None:
    clock = [0.0]
    throttles = FakeThrottles({"a": limit(1, 2), "b": limit(1, 2), "orphan": None})
    limits = LocalRateLimits(throttles, clock=lambda: clock[0])  # type: ignore[arg-type]
    assert [limits.admit("a") for _ in range(3)] == [Admission.ALLOWED] * 2 + [Admission.THROTTLED]
    assert [limits.admit("b") for _ in range(2)] == [Admission.ALLOWED] * 2  # a's use did not touch b's
    assert limits.admit("nobody") is Admission.INVALID_KEY
    assert limits.admit("orphan") is Admission.INVALID_KEY  # a key in no plan of the stage
    assert limits.admit(None) is Admission.INVALID_KEY


def test_a_changed_plan_applies_after_the_refresh_and_reads_are_cached() -> None:
    clock = [0.0]
    throttles = FakeThrottles({"a": limit(1, 1)})
    limits = LocalRateLimits(throttles, clock=lambda: clock[0], refresh_seconds=1.0)  # type: ignore[arg-type]
    assert limits.admit("a") is Admission.ALLOWED
    assert limits.admit("a") is Admission.THROTTLED
    reads = throttles.reads
    throttles.limits["a"] = limit(100, 50)
    clock[0] = 0.5
    assert limits.admit("a") is Admission.THROTTLED  # not re-read yet (0.5 tokens)
    assert throttles.reads == reads
    clock[0] = 1.5
    assert [limits.admit("a") for _ in range(20)] == [Admission.ALLOWED] * 20  # the raised limit
    assert throttles.reads == reads + 1
