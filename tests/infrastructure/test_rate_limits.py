"""Per-tenant throttling (issue 18, item 1): usage plans keyed by the authorizer, WAF rules per IP.

"each key is throttled ... one tenant's traffic (or anyone's invalid keys) never uses up another
tenant's limit" (API.md, Conventions): every authorized method requires an API Gateway key that only
the authorizer can name (the tenant's), the default plan gives each such key its own bucket, and
the web ACL keeps one address's anonymous or invalid traffic from using up the stage's bucket.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import methods_by_route, resources_of

from infra.constructs.api import STAGE_BURST, STAGE_RATE, TENANT_BURST, TENANT_RATE
from infra.constructs.edge_guard import ANONYMOUS_LIMIT, PER_IP_LIMIT, WELL_FORMED_CREDENTIAL

PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/docs"),
    ("GET", "/v1/downloads/{token}"),
}


def test_api_keys_come_from_the_authorizer_never_from_callers(stateless: dict[str, Any]) -> None:
    (api,) = resources_of(stateless, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


def test_every_authorized_method_requires_the_tenants_key(stateless: dict[str, Any]) -> None:
    # The MOCK methods (ANY: 405; OPTIONS: CORS preflight) answer without a credential or a function.
    routes = {k: v for k, v in methods_by_route(stateless).items() if k[0] not in ("ANY", "OPTIONS")}
    assert len(routes) > 20
    for route, method in routes.items():
        if method["AuthorizationType"] == "CUSTOM":
            assert method.get("ApiKeyRequired") is True, route
        else:
            assert route in PUBLIC, route
            assert not method.get("ApiKeyRequired"), route  # no credential: no tenant to name


def test_default_plan_throttles_each_tenant_on_the_stage(stateless: dict[str, Any]) -> None:
    (plan,) = resources_of(stateless, "AWS::ApiGateway::UsagePlan").values()
    props = plan["Properties"]
    assert props["Throttle"] == {"RateLimit": TENANT_RATE, "BurstLimit": TENANT_BURST}
    assert "Quota" not in props  # the monthly quota is the service's own, counted in events
    (stage_id,) = resources_of(stateless, "AWS::ApiGateway::Stage")
    (api_id,) = resources_of(stateless, "AWS::ApiGateway::RestApi")
    (api_stage,) = props["ApiStages"]
    assert api_stage["ApiId"] == {"Ref": api_id} and api_stage["Stage"] == {"Ref": stage_id}
    # The operator's tools find it through this output (activitylog_ops.throttle).
    (plan_id,) = resources_of(stateless, "AWS::ApiGateway::UsagePlan")
    assert stateless["Outputs"]["TenantUsagePlanId"]["Value"] == {"Ref": plan_id}
    # No key is made by the stack: tenants' keys are made with their first credential.
    assert not resources_of(stateless, "AWS::ApiGateway::ApiKey")


def test_stage_bucket_fits_a_hundred_default_tenants_within_the_account_limit() -> None:
    assert 100 * TENANT_RATE <= STAGE_RATE <= 10_000  # the account's regional default
    assert TENANT_BURST <= STAGE_BURST <= 5_000


def test_authorizer_names_the_tenants_key_in_its_stack(stateless: dict[str, Any]) -> None:
    authorizers = [
        f
        for f in resources_of(stateless, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler", "").endswith("authorizer.handler")
    ]
    (authorizer,) = authorizers
    assert authorizer["Properties"]["Environment"]["Variables"]["THROTTLE_NAMESPACE"] == {
        "Ref": "AWS::StackName"
    }


def _rules(stateless: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (acl,) = resources_of(stateless, "AWS::WAFv2::WebACL").values()
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


@pytest.mark.parametrize(
    ("name", "limit"), [("AnonymousPerIp", ANONYMOUS_LIMIT), ("PerIpCeiling", PER_IP_LIMIT)]
)
def test_rate_rules_block_one_address_with_429_and_retry_after(
    stateless: dict[str, Any], name: str, limit: int
) -> None:
    (acl,) = resources_of(stateless, "AWS::WAFv2::WebACL").values()
    rule = _rules(stateless)[name]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"  # the connecting address, never a header it sends
    assert statement["Limit"] == limit and statement["EvaluationWindowSec"] == 60
    response = rule["Action"]["Block"]["CustomResponse"]
    assert response["ResponseCode"] == 429
    assert response["ResponseHeaders"] == [
        {"Name": "Retry-After", "Value": "60"},
        {"Name": "Access-Control-Allow-Origin", "Value": "*"},
        {"Name": "Access-Control-Expose-Headers", "Value": "Retry-After"},
    ]
    body = json.loads(acl["Properties"]["CustomResponseBodies"][response["CustomResponseBodyKey"]]["Content"])
    assert body["error"]["code"] == "rate_limited" and body["error"]["details"] == []


def test_anonymous_rule_counts_only_requests_without_a_well_formed_credential(
    stateless: dict[str, Any],
) -> None:
    rules = _rules(stateless)
    scope = rules["AnonymousPerIp"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]
    regex = scope["NotStatement"]["Statement"]["RegexMatchStatement"]
    assert regex["FieldToMatch"] == {"SingleHeader": {"Name": "authorization"}}
    assert regex["RegexString"] == WELL_FORMED_CREDENTIAL
    assert "ScopeDownStatement" not in rules["PerIpCeiling"]["Statement"]["RateBasedStatement"]
    assert ANONYMOUS_LIMIT < PER_IP_LIMIT


@pytest.mark.parametrize(
    ("header", "well_formed"),
    [
        ("Bearer alk_" + "A" * 43, True),
        ("bearer alk_" + "a-_9" * 11, True),
        ("Bearer vt_" + "x" * 60, True),
        ("Bearer vt_abc.def~ghi=jkl-mno_pqr", True),
        ("", False),
        ("Bearer", False),
        ("Bearer ", False),
        ("Basic dXNlcjpwYXNz", False),
        ("Bearer alk_short", False),
        ("Bearer xyz_" + "A" * 43, False),
        ("Bearer alk_" + "A" * 43 + " extra", False),
        ("Bearer alk_" + "A" * 42 + "<", False),
    ],
)
def test_well_formed_credential_pattern(header: str, well_formed: bool) -> None:
    assert bool(re.search(WELL_FORMED_CREDENTIAL, header)) is well_formed


def test_a_real_key_is_well_formed() -> None:
    from activitylog.logic.keys import create_api_key

    class Store:
        def put_api_key(self, record: Any) -> None:
            pass

    from datetime import UTC, datetime

    created = create_api_key(
        Store(),  # type: ignore[arg-type]
        tenant="acme",
        scopes=["events:read"],
        actor_id=None,
        name="",
        now=datetime.now(UTC),
    )
    assert re.search(WELL_FORMED_CREDENTIAL, f"Bearer {created.key}")
