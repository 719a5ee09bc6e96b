"""The public REST API (API.md): routes, token authorizer, stage settings, error envelopes.

Every method is a Lambda proxy integration. All methods except the public health/OpenAPI/docs routes
use one TOKEN authorizer; its cached policy allows the whole API, and each handler checks its scope.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import api_gateway_cloudwatch_role
from infra.constructs.gateway_responses import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_ORIGIN,
    CORS_MAX_AGE,
    JSON,
    add_gateway_responses,
    envelope_body,
    literal,
)
from infra.nag import acknowledge

STAGE_NAME = "prod"
# Each tenant's own token bucket (requests per second / burst): the default usage plan, which every
# tenant's API Gateway key joins when the tenant gets its first credential (logic/throttle.py). An
# operator raises one tenant's limit with `activitylog tenants set-rate-limit` (docs/operations.md).
TENANT_RATE = 50
TENANT_BURST = 100
# The stage's bucket, shared by everything reaching the stage (tenants, refused keys, public routes):
# half of the account's regional default (10,000 requests/s, burst 5,000), so that 100 tenants at
# their default limit fit, and room is left for the account's other APIs. docs/infrastructure.md.
STAGE_RATE = 5000
STAGE_BURST = 2500
# How long API Gateway caches the authorizer's answer per Authorization header value: a revoked key
# keeps working for at most this long (API.md: "revocation takes effect within the cache time").
AUTHORIZER_CACHE_TTL = Duration.seconds(60)

# Content types a refused method's request may carry and still get the 405 (any other: 415).
MOCK_CONTENT_TYPES = (
    JSON,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "application/octet-stream",
)

ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "time": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "tenant": "$context.authorizer.tenant",
    "keyId": "$context.authorizer.key_id",
    "errorType": "$context.error.responseType",
    "wafStatus": "$context.waf.status",
}


@dataclass(frozen=True, kw_only=True)
class Route:
    path: str
    method: str
    function: lambda_.IFunction
    public: bool = False


class ActivityLogApi(Construct):
    """RestApi with stage `prod`, access logs, X-Ray, throttling and the API.md error envelope."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        authorizer_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        set_role = api_gateway_cloudwatch_role(self)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="Activity Log HTTP API v1",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway keys come from the authorizer's `usageIdentifierKey` (the tenant's), never
            # from callers: usage plans then throttle each tenant on its own (logic/throttle.py).
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # The region-wide API Gateway logging role is an account setting: set only when asked
            # (infra/config.py; `make deploy` asks when the account has none). Retained on teardown, so
            # the account setting never points at a deleted role.
            cloud_watch_role=set_role,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if set_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                throttling_rate_limit=STAGE_RATE,
                throttling_burst_limit=STAGE_BURST,
                tracing_enabled=True,
                metrics_enabled=True,
                # Execution logs at ERROR only, and never request/response bodies: events hold PII.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # RestApi adds an unnamed "Endpoint" output; the stack exports the contract's ApiUrl instead.
        self.rest_api.node.try_remove_child("Endpoint")
        self.url = (
            f"https://{self.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{STAGE_NAME}"
        )

        self.authorizer = apigw.TokenAuthorizer(
            self,
            "TokenAuthorizer",
            handler=authorizer_function,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
        )
        # Tenants' keys join this plan (created by the operator's tools, not by this stack): no
        # quota here, the monthly event quota is the service's own (API.md "Settings, usage").
        self.tenant_plan = self.rest_api.add_usage_plan(
            "TenantDefault",
            name=f"{Aws.STACK_NAME}-tenant-default",
            description="Each tenant's default rate limit (one token bucket per tenant)",
            throttle=apigw.ThrottleSettings(rate_limit=TENANT_RATE, burst_limit=TENANT_BURST),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        add_gateway_responses(self.rest_api)
        self._acknowledge_api()
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        self.refusals: dict[str, str] = {}  # path -> its Allow header (refuse_other_methods)

    def add_routes(self, routes: Sequence[Route]) -> None:
        """Each area (events, settings, exports, ...) adds its own routes; one authorizer for all."""
        for route in routes:
            self.methods[(route.method, route.path)] = self._add_route(route)

    def refuse_other_methods(self) -> None:
        """Every route's path answers any method it does not define with 405 `method_not_allowed`
        and an `Allow` header (API.md "Errors"), as the local gateway does.

        Without this, API Gateway answers a missing method like an unknown route (403 "Missing
        Authentication Token", our 404 gateway response). An `ANY` method with a MOCK integration
        per resource gives the 405 instead: API Gateway prefers a resource's explicit methods to its
        `ANY`, so only the undefined ones reach it; no function runs and no key is needed (the
        routes are public in the OpenAPI document anyway). Call once, after every `add_routes`.

        Each path also gets an `OPTIONS` MOCK method, the CORS preflight (`_add_preflight`), so
        `OPTIONS` is one of the methods `Allow` names and never a 405.
        """
        by_path: dict[str, list[str]] = {}
        for verb, path in self.methods:
            by_path.setdefault(path, []).append(verb)
        for path, methods in sorted(by_path.items()):
            allow = ", ".join(sorted({*methods, "OPTIONS"}))
            resource = self.rest_api.root.resource_for_path(path)
            self._add_preflight(resource, path, allow)
            body = envelope_body(
                code="method_not_allowed", message=f"{path} answers {allow} only; see the Allow header."
            )
            headers = {"Allow": f"'{allow}'", "Content-Type": f"'{JSON}'"}
            _mock_method(
                resource,
                "ANY",
                status="405",
                headers=headers,
                body=body,
                answers=f"ANY {path} is the 405 answer for methods the route does not define (MOCK "
                "integration, no function, no data): it must answer without a key, as an unknown route does.",
                to_whom="answers 405 to any caller",
            )
            self.refusals[path] = allow

    def _add_preflight(self, resource: apigw.IResource, path: str, allow: str) -> None:
        """`OPTIONS` answers 204 with the CORS headers for any origin (API.md "Console": bearer
        credentials in a header, never cookies), from a MOCK integration: no key, no function.
        The local gateway answers the same (activitylog_ops/local/cors.py; tests/integration/test_cors.py)."""
        headers = {
            "Access-Control-Allow-Origin": CORS_ALLOW_ORIGIN,
            "Access-Control-Allow-Methods": allow,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
            "Allow": allow,
        }
        _mock_method(
            resource,
            "OPTIONS",
            status="204",
            headers={k: literal(v) for k, v in headers.items()},
            body=None,
            answers=f"OPTIONS {path} is the CORS preflight (MOCK integration, no function, no data): "
            "browsers send it without credentials, so it must answer without a key.",
            to_whom="answers a CORS preflight to any caller",
        )

    def _add_route(self, route: Route) -> apigw.Method:
        resource = self.rest_api.root.resource_for_path(route.path)
        integration = apigw.LambdaIntegration(route.function, proxy=True, allow_test_invoke=False)
        if route.public:
            method = resource.add_method(
                route.method, integration, authorization_type=apigw.AuthorizationType.NONE
            )
            acknowledge(
                method,
                rule="AwsSolutions-APIG4",
                reason=f"{route.method} {route.path} is public by contract (API.md: health and OpenAPI "
                "routes need no key); it serves static content and touches no tenant data.",
            )
        else:
            method = resource.add_method(
                route.method,
                integration,
                authorization_type=apigw.AuthorizationType.CUSTOM,
                authorizer=self.authorizer,
                api_key_required=True,  # the tenant's usage plan key, named by the authorizer
            )
        acknowledge(
            method,
            rule="AwsSolutions-COG4",
            reason="Callers are machines holding tenant API keys (API.md), not Cognito users; "
            "authentication is the Lambda TOKEN authorizer (or none for the public routes).",
        )
        return method

    def _acknowledge_api(self) -> None:
        acknowledge(
            self.rest_api,
            rule="AwsSolutions-APIG2",
            reason="Requests are validated by the handlers' pydantic models, which answer with the "
            "API.md error envelope and per-field details (and run identically in local mode); a gateway "
            "model would duplicate them with a different, detail-less error body.",
        )
        role = self.rest_api.node.try_find_child("CloudWatchRole")
        if role is None:
            return
        acknowledge(
            role,
            rule="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            reason="API Gateway's account-level logging role needs exactly the AWS-managed policy "
            "made for it; it lets API Gateway, not our code, write execution and access logs.",
        )


def _mock_method(
    resource: apigw.IResource,
    verb: str,
    *,
    status: str,
    headers: dict[str, str],
    body: str | None,
    answers: str,
    to_whom: str,
) -> None:
    """A method answered by API Gateway itself (MOCK integration: no key, no function, no data) with
    `status`, `headers` (response parameter values, already quoted) and `body`."""
    integration = apigw.MockIntegration(
        # A MOCK integration's status comes from its request template; a request whose
        # Content-Type has no template is refused by API Gateway itself (415, our envelope).
        request_templates={t: f'{{"statusCode": {status}}}' for t in MOCK_CONTENT_TYPES},
        passthrough_behavior=apigw.PassthroughBehavior.NEVER,
        integration_responses=[
            apigw.IntegrationResponse(
                status_code=status,
                response_parameters={f"method.response.header.{k}": v for k, v in headers.items()},
                response_templates={JSON: body} if body is not None else None,
            )
        ],
    )
    method = resource.add_method(
        verb,
        integration,
        authorization_type=apigw.AuthorizationType.NONE,
        method_responses=[
            apigw.MethodResponse(
                status_code=status,
                response_parameters={f"method.response.header.{k}": True for k in headers},
            )
        ],
    )
    acknowledge(method, rule="AwsSolutions-APIG4", reason=answers)
    acknowledge(
        method,
        rule="AwsSolutions-COG4",
        reason=f"Callers are machines holding tenant API keys, not Cognito users; this MOCK method {to_whom} "
        "and reaches nothing.",
    )
