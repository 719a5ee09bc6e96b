"""REST API: routes, integrations, authorizer, stage settings, gateway responses and the edge guard."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import integration_function, methods_by_route, resources_of

from infra.constructs.edge_guard import OVERSIZED_CONTENT_LENGTH

ROUTES = {
    ("POST", "/v1/events"): "ingest",
    ("GET", "/v1/events"): "query",
    ("GET", "/v1/events/count"): "query",
    ("GET", "/v1/events/{id}"): "query",
    ("GET", "/v1/actions"): "query",
    ("GET", "/v1/actors"): "query",
    ("GET", "/v1/targets"): "query",
    ("GET", "/v1/settings"): "admin",
    ("PUT", "/v1/settings"): "admin",
    ("GET", "/v1/usage"): "admin",
    ("POST", "/v1/api-keys"): "admin",
    ("GET", "/v1/api-keys"): "admin",
    ("DELETE", "/v1/api-keys/{key_id}"): "admin",
    ("POST", "/v1/viewer-tokens"): "admin",
    ("GET", "/v1/health"): "docs",
    ("GET", "/v1/openapi.json"): "docs",
    ("GET", "/v1/docs"): "docs",
    ("POST", "/v1/exports"): "exports",
    ("GET", "/v1/exports"): "exports",
    ("GET", "/v1/exports/{export_id}"): "exports",
    ("DELETE", "/v1/exports/{export_id}"): "exports",
    ("POST", "/v1/exports/{export_id}/runs"): "exports",
    ("GET", "/v1/exports/{export_id}/runs"): "exports",
    ("GET", "/v1/exports/{export_id}/runs/{run_id}"): "exports",
    ("GET", "/v1/exports/{export_id}/runs/{run_id}/download"): "exports",
    ("PUT", "/v1/exports/{export_id}/schedule"): "exports",
    ("GET", "/v1/exports/{export_id}/schedule"): "exports",
    ("DELETE", "/v1/exports/{export_id}/schedule"): "exports",
    ("GET", "/v1/downloads/{token}"): "exports",
    ("GET", "/v1/destinations"): "destinations",
    ("POST", "/v1/destinations"): "destinations",
    ("GET", "/v1/destinations/{id}"): "destinations",
    ("PUT", "/v1/destinations/{id}"): "destinations",
    ("DELETE", "/v1/destinations/{id}"): "destinations",
    ("POST", "/v1/destinations/{id}/rotate-secret"): "destinations",
    ("POST", "/v1/destinations/{id}/test"): "destinations",
    ("GET", "/v1/destinations/{id}/deliveries"): "destinations",
    ("POST", "/v1/destinations/{id}/deliveries/{delivery_id}/retry"): "destinations",
    ("POST", "/v1/destinations/{id}/replays"): "destinations",
    ("GET", "/v1/destinations/{id}/replays/{replay_id}"): "destinations",
    ("POST", "/v1/alerts"): "alerts",
    ("GET", "/v1/alerts"): "alerts",
    ("POST", "/v1/alerts/preview"): "alerts",
    ("GET", "/v1/alerts/{alert_id}"): "alerts",
    ("PUT", "/v1/alerts/{alert_id}"): "alerts",
    ("DELETE", "/v1/alerts/{alert_id}"): "alerts",
    ("GET", "/v1/alerts/{alert_id}/firings"): "alerts",
    ("GET", "/v1/reports/activity"): "reports",
    ("GET", "/v1/reports/heatmap"): "reports",
}
PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/docs"),
    ("GET", "/v1/downloads/{token}"),
}

GATEWAY_RESPONSES = {
    # type: (status code or None to keep API Gateway's, envelope code)
    "UNAUTHORIZED": ("401", "unauthorized"),
    "ACCESS_DENIED": ("403", "forbidden"),
    "INVALID_API_KEY": ("403", "forbidden"),  # the tenant's rate-limit key is missing (test_rate_limits.py)
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),
    "RESOURCE_NOT_FOUND": ("404", "not_found"),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
    "UNSUPPORTED_MEDIA_TYPE": ("415", "unsupported_media_type"),
    "THROTTLED": ("429", "rate_limited"),
    "QUOTA_EXCEEDED": ("429", "quota_exceeded"),
    "DEFAULT_4XX": (None, "bad_request"),
    "DEFAULT_5XX": (None, "internal_error"),
}


@pytest.fixture(scope="module")
def routes(stateless: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    # ANY: the 405 answers; OPTIONS: the CORS preflights (tests/infrastructure/test_console_site.py)
    return {k: v for k, v in methods_by_route(stateless).items() if k[0] not in ("ANY", "OPTIONS")}


@pytest.fixture(scope="module")
def refusals(stateless: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Path -> its ANY method (the 405 answer for the methods the route does not define)."""
    return {path: m for (verb, path), m in methods_by_route(stateless).items() if verb == "ANY"}


def test_every_route_path_answers_other_methods_405_with_allow(
    refusals: dict[str, dict[str, Any]], routes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    paths = {path for _, path in ROUTES}
    assert set(refusals) == paths
    for path, method in refusals.items():
        allow = ", ".join(sorted([*(verb for verb, p in ROUTES if p == path), "OPTIONS"]))
        assert method["AuthorizationType"] == "NONE" and "AuthorizerId" not in method
        integration = method["Integration"]
        assert integration["Type"] == "MOCK" and integration["PassthroughBehavior"] == "NEVER"
        assert set(integration["RequestTemplates"].values()) == {'{"statusCode": 405}'}
        (answer,) = integration["IntegrationResponses"]
        assert answer["StatusCode"] == "405"
        assert answer["ResponseParameters"]["method.response.header.Allow"] == f"'{allow}'"
        body = json.loads(answer["ResponseTemplates"]["application/json"])
        assert body["error"]["code"] == "method_not_allowed" and body["error"]["details"] == []
        (declared,) = method["MethodResponses"]
        assert declared["StatusCode"] == "405"
        assert declared["ResponseParameters"]["method.response.header.Allow"] is True


def test_exactly_the_contract_routes_exist(routes: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert set(routes) == set(ROUTES)


def test_each_route_is_a_proxy_integration_of_its_function(
    routes: dict[tuple[str, str], dict[str, Any]], functions_by_module: dict[str, str]
) -> None:
    for route, module in ROUTES.items():
        assert integration_function(routes[route]) == functions_by_module[module], route


def test_authorizer_guards_every_route_except_the_public_ones(
    stateless: dict[str, Any], routes: dict[tuple[str, str], dict[str, Any]]
) -> None:
    (authorizer_id,) = resources_of(stateless, "AWS::ApiGateway::Authorizer")
    for route, method in routes.items():
        if route in PUBLIC:
            assert method["AuthorizationType"] == "NONE", route
            assert "AuthorizerId" not in method, route
        else:
            assert method["AuthorizationType"] == "CUSTOM", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route


def test_token_authorizer_reads_authorization_header_and_caches_60s(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (authorizer,) = resources_of(stateless, "AWS::ApiGateway::Authorizer").values()
    props = authorizer["Properties"]
    assert props["Type"] == "TOKEN"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["AuthorizerResultTtlInSeconds"] == 60
    assert functions_by_module["authorizer"] in json.dumps(props["AuthorizerUri"])


def test_stage_prod_with_throttling_tracing_and_access_logs(stateless: dict[str, Any]) -> None:
    (stage,) = resources_of(stateless, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "prod"
    assert props["TracingEnabled"] is True
    assert props["AccessLogSetting"]["DestinationArn"]["Fn::GetAtt"][1] == "Arn"
    fields = json.loads(props["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "tenant"} <= set(fields)
    (settings,) = props["MethodSettings"]
    assert settings["ResourcePath"] == "/*" and settings["HttpMethod"] == "*"
    # The stage's shared bucket, sized for the service; each tenant has its own (test_rate_limits.py).
    assert settings["ThrottlingRateLimit"] == 5000 and settings["ThrottlingBurstLimit"] == 2500
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False  # bodies hold PII: never in execution logs


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_gateway_responses_carry_the_error_envelope(stateless: dict[str, Any], response_type: str) -> None:
    found = [
        r["Properties"]
        for r in resources_of(stateless, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == response_type
    ]
    assert len(found) == 1, response_type
    props = found[0]
    status, code = GATEWAY_RESPONSES[response_type]
    assert props.get("StatusCode") == status
    body = json.loads(props["ResponseTemplates"]["application/json"])
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["details"] == []


def test_throttling_answers_carry_retry_after(stateless: dict[str, Any]) -> None:
    for response in resources_of(stateless, "AWS::ApiGateway::GatewayResponse").values():
        props = response["Properties"]
        if props["ResponseType"] in {"THROTTLED", "QUOTA_EXCEEDED"}:
            retry_after = props["ResponseParameters"]["gatewayresponse.header.Retry-After"]
            assert re.fullmatch(r"'[1-9][0-9]*'", retry_after), retry_after


def test_api_url_output_is_the_stage_root(stateless: dict[str, Any]) -> None:
    value = stateless["Outputs"]["ApiUrl"]["Value"]["Fn::Join"][1]
    assert value[0] == "https://" and value[-1] == "/prod"
    assert {"ApiUrl", "TenantUsagePlanId"} <= set(stateless["Outputs"])


def test_web_acl_refuses_oversized_bodies_with_the_envelope(stateless: dict[str, Any]) -> None:
    (acl,) = resources_of(stateless, "AWS::WAFv2::WebACL").values()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    (rule,) = [r for r in props["Rules"] if r["Name"] == "OversizedContentLength"]
    assert rule["Priority"] == 0  # before the rate rules: a refused body is refused whatever its rate
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 413
    assert {"Name": "Access-Control-Allow-Origin", "Value": "*"} in block["ResponseHeaders"]  # CORS
    body = props["CustomResponseBodies"][block["CustomResponseBodyKey"]]
    assert body["ContentType"] == "APPLICATION_JSON"
    assert json.loads(body["Content"])["error"]["code"] == "payload_too_large"
    statement = rule["Statement"]["RegexMatchStatement"]
    assert statement["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    assert statement["RegexString"] == OVERSIZED_CONTENT_LENGTH
    (association,) = resources_of(stateless, "AWS::WAFv2::WebACLAssociation").values()
    (stage_id,) = resources_of(stateless, "AWS::ApiGateway::Stage")
    assert {"Ref": stage_id} in association["Properties"]["ResourceArn"]["Fn::Join"][1]


@pytest.mark.parametrize(
    ("content_length", "blocked"),
    [
        ("0", False),
        ("1048576", False),  # API.md's 1 MiB limit: the handler answers 413 itself above it
        ("1999999", False),
        ("2000000", True),
        ("6291456", True),  # Lambda's synchronous payload limit
        ("10485760", True),  # API Gateway's own limit
        ("0002000000", True),
        ("00999999", False),
        ("123456789012", True),
    ],
)
def test_oversized_content_length_pattern(content_length: str, blocked: bool) -> None:
    assert bool(re.search(OVERSIZED_CONTENT_LENGTH, content_length)) is blocked
