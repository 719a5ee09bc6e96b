"""The console's hosting in AWS (infra/constructs/console_site.py) and the API's CORS answers, from the
synthesized template: a private bucket read through origin access control, the behaviours, the
response-headers policies with their exact CSP (and the embed page's exception), the deployment of
console/dist with an invalidation, the ConsoleUrl output, the OPTIONS preflights and the CORS
headers of every gateway response. Where local mode must answer the same, the values are compared
with local mode's own (activitylog_ops.local.console_files / cors), so neither can drift alone."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest
from activitylog_ops.local import console_files, cors
from infra_support import methods_by_route, resources_of

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"


def _one(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    (found,) = resources_of(template, kind).items()
    return found[0], found[1]["Properties"]


@pytest.fixture(scope="module")
def distribution(stateless: dict[str, Any]) -> dict[str, Any]:
    return _one(stateless, "AWS::CloudFront::Distribution")[1]["DistributionConfig"]


@pytest.fixture(scope="module")
def policies(stateless: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Logical ID -> ResponseHeadersPolicyConfig."""
    return {
        k: v["Properties"]["ResponseHeadersPolicyConfig"]
        for k, v in resources_of(stateless, "AWS::CloudFront::ResponseHeadersPolicy").items()
    }


def _behaviour(distribution: dict[str, Any], pattern: str) -> dict[str, Any]:
    (found,) = [b for b in distribution["CacheBehaviors"] if b["PathPattern"] == pattern]
    return found


def _origin(distribution: dict[str, Any], origin_id: str) -> dict[str, Any]:
    (found,) = [o for o in distribution["Origins"] if o["Id"] == origin_id]
    return found


def _headers(config: dict[str, Any]) -> dict[str, str]:
    """The headers a response-headers policy adds, as CloudFront writes them on the wire."""
    security = config["SecurityHeadersConfig"]
    headers = {}
    if "ContentSecurityPolicy" in security:
        headers["Content-Security-Policy"] = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    if "FrameOptions" in security:
        headers["X-Frame-Options"] = security["FrameOptions"]["FrameOption"]
    if "ContentTypeOptions" in security:
        headers["X-Content-Type-Options"] = "nosniff"
    if "ReferrerPolicy" in security:
        headers["Referrer-Policy"] = security["ReferrerPolicy"]["ReferrerPolicy"]
    if "StrictTransportSecurity" in security:
        hsts = security["StrictTransportSecurity"]
        value = f"max-age={hsts['AccessControlMaxAgeSec']}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        headers["Strict-Transport-Security"] = value
    for custom in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[custom["Header"]] = custom["Value"]
    return headers


# --- the bucket: private, TLS only, encrypted, read by this distribution alone -----------------------


def test_bucket_is_private_encrypted_and_tls_only(stateless: dict[str, Any]) -> None:
    buckets = {
        k: v["Properties"] for k, v in resources_of(stateless, "AWS::S3::Bucket").items() if "Console" in k
    }
    ((bucket_id, bucket),) = buckets.items()
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "WebsiteConfiguration" not in bucket  # never a public website endpoint
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources_of(stateless, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    deny_plain = [s for s in policy if s["Effect"] == "Deny"]
    assert deny_plain and deny_plain[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allows = [s for s in policy if s["Effect"] == "Allow"]
    assert allows and all(s["Principal"] == {"Service": "cloudfront.amazonaws.com"} for s in allows)
    distribution_id, _ = _one(stateless, "AWS::CloudFront::Distribution")
    for statement in allows:
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
        assert {"Ref": distribution_id} in source["Fn::Join"][1]  # this distribution, no other
        assert set(statement["Action"]) <= {"s3:GetObject", "s3:ListBucket"}


def test_the_bucket_is_read_through_origin_access_control(
    stateless: dict[str, Any], distribution: dict[str, Any]
) -> None:
    oac_id, oac = _one(stateless, "AWS::CloudFront::OriginAccessControl")
    config = oac["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == "s3"
    assert (config["SigningBehavior"], config["SigningProtocol"]) == ("always", "sigv4")
    origin = _origin(distribution, distribution["DefaultCacheBehavior"]["TargetOriginId"])
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # no legacy OAI


# --- behaviours ---------------------------------------------------------------------------------------


def test_the_default_behaviour_serves_the_console_files_with_the_page_headers(
    stateless: dict[str, Any], distribution: dict[str, Any], policies: dict[str, dict[str, Any]]
) -> None:
    default = distribution["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    page = policies[default["ResponseHeadersPolicyId"]["Ref"]]
    assert _headers(page) == dict(console_files.PAGE_HEADERS)
    (association,) = default["FunctionAssociations"]
    function_id, _ = _one(stateless, "AWS::CloudFront::Function")
    assert association == {
        "EventType": "viewer-request",
        "FunctionARN": {"Fn::GetAtt": [function_id, "FunctionARN"]},
    }


def test_the_page_policy_carries_the_exact_csp_hsts_and_nosniff(
    distribution: dict[str, Any], policies: dict[str, dict[str, Any]]
) -> None:
    page = policies[distribution["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]["Ref"]]
    assert _headers(page) == {
        "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    }
    security = page["SecurityHeadersConfig"]
    assert all(security[name]["Override"] for name in security)  # the origin cannot weaken them


def test_only_embed_html_may_be_framed(
    distribution: dict[str, Any], policies: dict[str, dict[str, Any]]
) -> None:
    embed = _behaviour(distribution, "/console/embed.html")
    assert embed["TargetOriginId"] == distribution["DefaultCacheBehavior"]["TargetOriginId"]
    assert embed["AllowedMethods"] == ["GET", "HEAD"]
    headers = _headers(policies[embed["ResponseHeadersPolicyId"]["Ref"]])
    assert headers["Content-Security-Policy"] == "default-src 'self'"  # no frame-ancestors at all
    assert "X-Frame-Options" not in headers
    assert headers == dict(console_files.EMBED_HEADERS)
    # And no other behaviour serves console files with a policy that allows framing
    framed = [
        b["PathPattern"]
        for b in distribution["CacheBehaviors"]
        if "ResponseHeadersPolicyId" in b
        and "frame-ancestors 'none'"
        not in _headers(policies[b["ResponseHeadersPolicyId"]["Ref"]])["Content-Security-Policy"]
    ]
    assert framed == ["/console/embed.html"]


def test_v1_goes_to_the_api_stage_uncached_with_every_viewer_header_but_host(
    stateless: dict[str, Any], distribution: dict[str, Any]
) -> None:
    api = _behaviour(distribution, "/v1/*")
    assert api["CachePolicyId"] == CACHING_DISABLED
    assert api["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(api["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert api["ViewerProtocolPolicy"] == "https-only"
    assert "ResponseHeadersPolicyId" not in api  # the API's answers are its own
    origin = _origin(distribution, api["TargetOriginId"])
    assert origin["OriginPath"] == "/prod"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    rest_api_id, _ = _one(stateless, "AWS::ApiGateway::RestApi")
    assert {"Ref": rest_api_id} in origin["DomainName"]["Fn::Select"][1]["Fn::Split"][1]["Fn::Join"][1]


def test_viewer_request_function_maps_paths_as_local_mode_does(stateless: dict[str, Any]) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the CloudFront function")
    _, function = _one(stateless, "AWS::CloudFront::Function")
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    script = function["FunctionCode"] + (
        "\nfor (const uri of ['/', '/console', '/console/', '/console/embed.html', '/console/app.js']) {"
        "\n  console.log(JSON.stringify([uri, handler({request: {uri: uri}})]));\n}\n"
    )
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout  # noqa: S603
    answers = dict(json.loads(line) for line in out.splitlines())
    for uri in ("/", "/console"):
        assert (
            answers[uri]["statusCode"] == 301 and answers[uri]["headers"]["location"]["value"] == "/console/"
        )
    assert answers["/console/"] == {"uri": "/console/index.html"}
    assert answers["/console/embed.html"] == {"uri": "/console/embed.html"}
    assert answers["/console/app.js"] == {"uri": "/console/app.js"}


# --- deployment and output -----------------------------------------------------------------------------


def test_console_dist_is_deployed_under_console_and_the_distribution_invalidated(
    stateless: dict[str, Any],
) -> None:
    (deployment,) = [v["Properties"] for v in resources_of(stateless, "Custom::CDKBucketDeployment").values()]
    bucket_id = next(k for k in resources_of(stateless, "AWS::S3::Bucket") if "Console" in k)
    distribution_id, _ = _one(stateless, "AWS::CloudFront::Distribution")
    assert deployment["DestinationBucketName"] == {"Ref": bucket_id}
    assert deployment["DestinationBucketKeyPrefix"] == "console/"
    assert deployment["DistributionId"] == {"Ref": distribution_id}
    assert deployment["DistributionPaths"] == ["/console/*"]
    assert deployment["Prune"] is True and deployment["RetainOnDelete"] is False
    assert deployment["SystemMetadata"]["cache-control"] == "no-cache"
    assert len(deployment["SourceObjectKeys"]) == 1  # one zip of console/dist (no Docker bundling)


def test_console_url_output_is_the_distribution_console_path(stateless: dict[str, Any]) -> None:
    distribution_id, _ = _one(stateless, "AWS::CloudFront::Distribution")
    value = stateless["Outputs"]["ConsoleUrl"]["Value"]
    assert value == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, "/console/"]]
    }


# --- CORS: the preflights and the gateway's own answers --------------------------------------------


def test_every_route_path_answers_options_with_the_cors_preflight(stateless: dict[str, Any]) -> None:
    methods = methods_by_route(stateless)
    paths = {path for verb, path in methods if verb not in ("ANY", "OPTIONS")}
    preflights = {path: m for (verb, path), m in methods.items() if verb == "OPTIONS"}
    assert set(preflights) == paths and len(paths) >= 15
    for path, method in preflights.items():
        defined = [verb for verb, p in methods if p == path and verb not in ("ANY", "OPTIONS")]
        assert method["AuthorizationType"] == "NONE" and "AuthorizerId" not in method
        integration = method["Integration"]
        assert integration["Type"] == "MOCK" and integration["PassthroughBehavior"] == "NEVER"
        assert set(integration["RequestTemplates"].values()) == {'{"statusCode": 204}'}
        (answer,) = integration["IntegrationResponses"]
        assert answer["StatusCode"] == "204"
        headers = {
            k.removeprefix("method.response.header."): v.strip("'")
            for k, v in answer["ResponseParameters"].items()
        }
        assert headers == dict(cors.preflight_headers(defined)), path  # what local mode answers
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in headers
        assert set(headers["Access-Control-Allow-Headers"].split(", ")) == {
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
        }
        # And the 405 of the same path names OPTIONS among the methods it has
        refusal = methods[("ANY", path)]["Integration"]["IntegrationResponses"][0]
        assert refusal["ResponseParameters"]["method.response.header.Allow"] == f"'{headers['Allow']}'"


def test_every_gateway_response_carries_the_cors_headers(stateless: dict[str, Any]) -> None:
    responses = resources_of(stateless, "AWS::ApiGateway::GatewayResponse")
    assert len(responses) >= 10
    for logical_id, response in responses.items():
        parameters = response["Properties"]["ResponseParameters"]
        found = {
            k.removeprefix("gatewayresponse.header."): v.strip("'")
            for k, v in parameters.items()
            if k.startswith("gatewayresponse.header.Access-Control-")
        }
        assert found == dict(cors.GATEWAY_HEADERS), logical_id  # what local mode's refusals carry
