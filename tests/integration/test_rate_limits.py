"""Per-tenant rate limits end to end through local mode (issue 18, item 1; API.md "Rate limits").

"each key is throttled (documented steady rate and burst), and one tenant's traffic (or anyone's
invalid keys) never uses up another tenant's limit; over it → 429 `rate_limited` with `Retry-After`".
The local gateway applies the usage plans the operator's tools keep on the emulation, as API Gateway
applies them (ops/activitylog_ops/local/rate_limits.py), and the operator changes them with the CLI.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from activitylog.logic.throttle import usage_key_name, usage_key_value
from activitylog_ops import cli
from activitylog_ops.local.service import LocalService
from activitylog_ops.throttle import RateLimitError, TenantThrottles, local_throttles

from tests.integration.conftest import Api, Keys

REFRESH = 1.2  # the local gateway re-reads a key's plan every second


@pytest.fixture
def operator(local_stack: LocalService, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Runs the operator CLI against the local stack (as after `source .local/env`)."""
    monkeypatch.chdir(tmp_path)  # no .local/env here: the CLI takes the sourced variables
    for name, value in local_stack.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str) -> int:
        return cli.main(list(args))

    yield run


def burst(api: Api, count: int) -> tuple[list[int], float, list[Any]]:
    started = time.monotonic()
    answers = [api.request("GET", "/v1/events/count") for _ in range(count)]
    return [a.status_code for a in answers], time.monotonic() - started, answers


def test_a_tenant_over_its_limit_gets_429_while_another_tenant_is_served(
    keys: Keys, operator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    hot, quiet = keys.api(), keys.api()
    assert operator("tenants", "set-rate-limit", hot.tenant, "--rate", "1", "--burst", "3") == 0
    assert f"tenant {hot.tenant}: 1 requests/s, burst 3 (its own plan" in capsys.readouterr().out
    time.sleep(REFRESH)

    with ThreadPoolExecutor(2) as pool:
        hot_run = pool.submit(burst, hot, 12)
        quiet_run = pool.submit(burst, quiet, 12)
        hot_codes, elapsed, hot_answers = hot_run.result()
        quiet_codes, _, _ = quiet_run.result()

    assert hot_codes[:3] == [200, 200, 200]  # the burst
    # Beyond it, one request per second of the run at most (plus the token being refilled).
    assert hot_codes.count(200) <= 3 + int(elapsed) + 1, (hot_codes, elapsed)
    assert 429 in hot_codes
    refused = next(a for a in hot_answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert quiet_codes == [200] * 12  # the default limit (50/s, burst 100), its own bucket


def test_invalid_keys_never_use_up_a_tenants_limit(keys: Keys, operator: Any, anonymous: Api) -> None:
    tenant = keys.api()
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--rate", "1", "--burst", "5") == 0
    time.sleep(REFRESH)
    forged = Api(anonymous.url, "alk_" + "x" * 43, tenant.tenant)
    assert {forged.request("GET", "/v1/events/count").status_code for _ in range(40)} == {401}
    codes, _, _ = burst(tenant, 5)
    assert codes == [200] * 5  # its whole burst is still there


def test_an_operator_raises_and_resets_a_limit(
    keys: Keys, operator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = keys.api()
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--rate", "1", "--burst", "2") == 0
    time.sleep(REFRESH)
    assert 429 in burst(tenant, 6)[0]
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--rate", "500", "--burst", "1000") == 0
    time.sleep(REFRESH)
    assert burst(tenant, 30)[0] == [200] * 30
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--default") == 0
    assert "50 requests/s, burst 100 (the default plan" in capsys.readouterr().out
    assert operator("tenants", "show", tenant.tenant) == 0
    assert "rate limit: 50 requests/s, burst 100 (the default plan" in capsys.readouterr().out
    throttles = local_throttles(keys.stack.env)
    own_plans = [
        p for p in throttles._api.get_usage_plans()["items"] if p["name"].endswith(f"-plan-{tenant.tenant}")
    ]
    assert own_plans == []  # deleted with the reset
    # Each change is in the tenant's audit trail, as the other operator changes of its limits are.
    answer = tenant.events(action="activitylog.rate_limit.updated", limit=10)
    assert answer.status_code == 200, answer.text
    changes = [(e["metadata"]["rate_limit"], e["metadata"]["burst_limit"]) for e in answer.json()["events"]]
    assert changes == [(50, 100), (500, 1000), (1, 2)]  # newest first
    assert {e["actor"]["type"] for e in answer.json()["events"]} == {"operator"}


def test_the_cli_refuses_meaningless_limits(
    keys: Keys, operator: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = keys.api()
    assert (
        operator("tenants", "set-rate-limit", tenant.tenant, "--rate", "0", "--burst", "5") == cli.EXIT_USAGE
    )
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--rate", "5") == cli.EXIT_USAGE
    assert operator("tenants", "set-rate-limit", tenant.tenant, "--default", "--rate", "5") == cli.EXIT_USAGE
    assert "rate must be in" in capsys.readouterr().err


def test_a_tenant_without_its_rate_limit_key_is_refused_until_synced(
    local_stack: LocalService, operator: Any, anonymous: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key made without the operator's tools (as before this change): API Gateway would answer
    INVALID_API_KEY (403); `sync-rate-limits` gives every tenant with a key its rate-limit key."""
    from datetime import UTC, datetime

    from activitylog.handlers.wiring import Container
    from activitylog.logic.keys import create_api_key

    from tests.integration.conftest import new_tenant

    tenant = new_tenant()
    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    control = Container(
        environ={"CONTROL_TABLE": local_stack.env["ACTIVITYLOG_CONTROL_TABLE"]},
        clients={"dynamodb": dynamodb},
    )
    created = create_api_key(
        control.control,
        tenant=tenant,
        scopes=["events:read"],
        actor_id=None,
        name="old",
        now=datetime.now(UTC),
    )
    api = Api(anonymous.url, created.key, tenant)
    answer = api.request("GET", "/v1/events/count")
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"
    assert operator("tenants", "sync-rate-limits") == 0
    assert f"tenant {tenant}: 50 requests/s" in capsys.readouterr().out
    time.sleep(REFRESH)
    assert api.request("GET", "/v1/events/count").status_code == 200


# --- the operator's plans, on the emulation's API Gateway ---------------------------------------


@pytest.fixture
def throttles(local_stack: LocalService) -> Iterator[TenantThrottles]:
    """A default plan and a namespace of this test's own, on the session's shared emulation."""
    client = local_throttles(local_stack.env)._api
    namespace = f"Test-{uuid.uuid4().hex[:8]}"
    plan = client.create_usage_plan(
        name=f"{namespace}-tenant-default",
        apiStages=[{"apiId": "local", "stage": "prod"}],
        throttle={"rateLimit": 50, "burstLimit": 100},
    )
    yield TenantThrottles(client, default_plan_id=plan["id"], namespace=namespace)
    for existing in client.get_usage_plans()["items"]:
        if existing["name"].startswith(namespace):
            for key in client.get_usage_plan_keys(usagePlanId=existing["id"]).get("items", []):
                client.delete_usage_plan_key(usagePlanId=existing["id"], keyId=key["id"])
            client.delete_usage_plan(usagePlanId=existing["id"])
    for key in client.get_api_keys(nameQuery=namespace)["items"]:
        client.delete_api_key(apiKey=key["id"])


def own_plans(throttles: TenantThrottles) -> set[str]:
    return {
        p["name"]
        for p in throttles._api.get_usage_plans()["items"]
        if p["name"].startswith(throttles.namespace)
    }


def test_ensure_makes_the_tenants_key_once_in_the_default_plan(throttles: TenantThrottles) -> None:
    first = throttles.ensure("acme")
    assert (first.rate, first.burst, first.custom) == (50, 100, False)
    assert throttles.ensure("acme") == first  # idempotent: every credential of the tenant calls it
    keys = throttles._api.get_api_keys(nameQuery=throttles.namespace, includeValues=True)["items"]
    assert [(k["name"], k["value"], k["enabled"]) for k in keys] == [
        (usage_key_name(throttles.namespace, "acme"), usage_key_value(throttles.namespace, "acme"), True)
    ]
    assert throttles.limit_of("acme-2") is None  # a prefix of another tenant's name is not its key
    throttles.ensure("acme-2")
    assert len(throttles._api.get_api_keys(nameQuery=throttles.namespace)["items"]) == 2


def test_set_limit_moves_the_key_to_its_own_plan_updates_it_and_resets(throttles: TenantThrottles) -> None:
    throttles.ensure("quiet")
    raised = throttles.set_limit("acme", rate=500, burst=1000)
    assert (raised.rate, raised.burst, raised.custom) == (500, 1000, True)
    again = throttles.set_limit("acme", rate=800, burst=1500)
    assert (again.rate, again.burst, again.plan_id) == (800, 1500, raised.plan_id)  # updated in place
    plans = own_plans(throttles)
    assert plans == {f"{throttles.namespace}-tenant-default", f"{throttles.namespace}-tenant-plan-acme"}
    quiet = throttles.limit_of("quiet")
    assert quiet is not None and (quiet.rate, quiet.custom) == (50, False)  # other tenants untouched
    back = throttles.reset("acme")
    assert (back.rate, back.burst, back.custom) == (50, 100, False)
    assert own_plans(throttles) == {f"{throttles.namespace}-tenant-default"}


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (10, 0), (20_000, 10), (10, 6_000)])
def test_set_limit_refuses_numbers_api_gateway_would_not_honour(
    throttles: TenantThrottles, rate: float, burst: int
) -> None:
    with pytest.raises(RateLimitError):
        throttles.set_limit("acme", rate=rate, burst=burst)
