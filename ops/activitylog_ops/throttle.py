"""Tenants' rate limits on API Gateway: the operator's side of per-tenant throttling.

Each tenant has one API Gateway API key (its value derived by `activitylog.logic.throttle`, which the
authorizer names in `usageIdentifierKey`), and the key belongs to exactly one usage plan of the API's
stage: the stack's default plan (`TenantUsagePlanId`), or the tenant's own plan once an operator has
given it another limit. API Gateway keeps one token bucket per key, so tenants never share one.

Used by the CLI (`activitylog keys create` makes the key with the tenant's first credential;
`activitylog tenants set-rate-limit` / `sync-rate-limits`) and by local mode, whose gateway reads the
same keys and plans from the emulation to enforce them (ops/activitylog_ops/local/gateway.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from activitylog.logic.throttle import usage_key_name, usage_key_value

MAX_RATE = 10_000.0  # the account's regional default; API Gateway refuses a plan above the account's
MAX_BURST = 5_000


@dataclass(frozen=True)
class RateLimit:
    rate: float  # requests per second, steady
    burst: int  # requests at once (the bucket's size)
    plan_id: str
    plan_name: str
    custom: bool  # the tenant's own plan (False: the stack's default plan)


class RateLimitError(Exception):
    """What the operator asked for cannot be done (bad numbers, unknown tenant key)."""


class TenantThrottles:
    """The tenants' keys and plans of one stack (`namespace`: the API stack's name)."""

    def __init__(self, apigateway: Any, *, default_plan_id: str, namespace: str) -> None:
        self._api = apigateway
        self.default_plan_id = default_plan_id
        self.namespace = namespace

    # -- reading -------------------------------------------------------------------------------
    def _keys(self, **params: Any) -> Iterator[dict[str, Any]]:
        for page in self._api.get_paginator("get_api_keys").paginate(**params):
            yield from page.get("items", [])

    def key_of(self, tenant: str) -> dict[str, Any] | None:
        name = usage_key_name(self.namespace, tenant)
        value = usage_key_value(self.namespace, tenant)
        found = (k for k in self._keys(nameQuery=name, includeValues=True) if k.get("value") == value)
        return next(found, None)

    def key_with_value(self, value: str) -> dict[str, Any] | None:
        return next((k for k in self._keys(includeValues=True) if k.get("value") == value), None)

    def limit_of_key(self, key_id: str) -> RateLimit | None:
        """The limit API Gateway applies to this key on our stage (None: the key is in no plan)."""
        plans = []
        for page in self._api.get_paginator("get_usage_plans").paginate(keyId=key_id):
            plans.extend(page.get("items", []))
        for plan in plans:
            throttle = plan.get("throttle") or {}
            if plan["id"] == self.default_plan_id or plan.get("name", "").startswith(self._own_prefix()):
                return RateLimit(
                    rate=float(throttle.get("rateLimit", 0)),
                    burst=int(throttle.get("burstLimit", 0)),
                    plan_id=plan["id"],
                    plan_name=plan.get("name", ""),
                    custom=plan["id"] != self.default_plan_id,
                )
        return None

    def limit_of(self, tenant: str) -> RateLimit | None:
        key = self.key_of(tenant)
        return None if key is None else self.limit_of_key(key["id"])

    # -- changing ------------------------------------------------------------------------------
    def ensure(self, tenant: str) -> RateLimit:
        """The tenant's key exists and is in a plan (the default one unless it has its own)."""
        key = self.key_of(tenant)
        if key is None:
            key = self._api.create_api_key(
                name=usage_key_name(self.namespace, tenant),
                description=f"Rate limit of tenant {tenant} (named by the authorizer, never sent by callers)",
                enabled=True,
                value=usage_key_value(self.namespace, tenant),
            )
        limit = self.limit_of_key(key["id"])
        if limit is None:
            self._api.create_usage_plan_key(
                usagePlanId=self.default_plan_id, keyId=key["id"], keyType="API_KEY"
            )
            limit = self.limit_of_key(key["id"])
        assert limit is not None
        return limit

    def set_limit(self, tenant: str, *, rate: float, burst: int) -> RateLimit:
        """Give the tenant its own plan with this limit (created, or updated in place)."""
        if not 0 < rate <= MAX_RATE or not 0 < burst <= MAX_BURST:
            raise RateLimitError(f"rate must be in (0, {MAX_RATE:,.0f}] and burst in [1, {MAX_BURST:,}]")
        current = self.ensure(tenant)
        throttle = {"rateLimit": rate, "burstLimit": burst}
        if current.custom:
            self._api.update_usage_plan(
                usagePlanId=current.plan_id,
                patchOperations=[
                    {"op": "replace", "path": "/throttle/rateLimit", "value": f"{rate:g}"},
                    {"op": "replace", "path": "/throttle/burstLimit", "value": str(burst)},
                ],
            )
        else:
            default = self._api.get_usage_plan(usagePlanId=self.default_plan_id)
            plan = self._api.create_usage_plan(
                name=self._own_prefix() + tenant,
                description=f"Rate limit of tenant {tenant}, set by an operator",
                apiStages=[{"apiId": s["apiId"], "stage": s["stage"]} for s in default.get("apiStages", [])],
                throttle=throttle,
            )
            self._move(tenant, current.plan_id, plan["id"])
        limit = self.limit_of(tenant)
        assert limit is not None
        return limit

    def reset(self, tenant: str) -> RateLimit:
        """Back to the default plan; the tenant's own plan is deleted."""
        current = self.ensure(tenant)
        if current.custom:
            self._move(tenant, current.plan_id, self.default_plan_id)
            self._api.delete_usage_plan(usagePlanId=current.plan_id)
        limit = self.limit_of(tenant)
        assert limit is not None
        return limit

    def _move(self, tenant: str, source: str, destination: str) -> None:
        # A key may be in only one plan per stage: out of one, then into the other. API Gateway may
        # refuse the tenant's requests (403) for the moment in between (docs/operations.md).
        key = self.key_of(tenant)
        assert key is not None
        self._api.delete_usage_plan_key(usagePlanId=source, keyId=key["id"])
        self._api.create_usage_plan_key(usagePlanId=destination, keyId=key["id"], keyType="API_KEY")

    def _own_prefix(self) -> str:
        return f"{self.namespace}-tenant-plan-"


ENV_PLAN = "ACTIVITYLOG_USAGE_PLAN_ID"  # in `.local/env` (local mode's default plan on the emulation)
ENV_NAMESPACE = "ACTIVITYLOG_THROTTLE_NAMESPACE"


def local_throttles(env: dict[str, str]) -> TenantThrottles:
    """The local stack's tenants' rate limits, from what `.local/env` (or LocalService.env) holds."""
    import boto3

    client = boto3.session.Session().client(
        "apigateway",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the local emulation's dummy credentials
    )
    return TenantThrottles(client, default_plan_id=env[ENV_PLAN], namespace=env[ENV_NAMESPACE])


def tenants_with_keys(dynamodb: Any, control_table: str) -> list[str]:
    """Every tenant that holds an API key (a scan: for `sync-rate-limits`, an operator's one-off)."""
    tenants: set[str] = set()
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=control_table,
        FilterExpression="sk = :key AND begins_with(gpk, :tenant)",
        ExpressionAttributeValues={":key": {"S": "KEY"}, ":tenant": {"S": "TENANT#"}},
        ProjectionExpression="gpk",
    )
    for page in pages:
        for item in page.get("Items", []):
            owner = item["gpk"]["S"]  # TENANT#<t>#KEYS (activitylog.dal.api_keys)
            tenants.add(owner.removeprefix("TENANT#").removesuffix("#KEYS"))
    return sorted(tenants)
