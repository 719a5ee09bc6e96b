"""The web console in AWS: a private S3 bucket behind CloudFront, with `/v1/*` on the same origin.

Layout (the same as local mode's, ops/activitylog_ops/local/console_files.py): the built files live
under `console/` in the bucket and are served at `/console/...`; `/console` and `/` redirect to
`/console/`, a path ending in `/` serves its `index.html` (a viewer-request CloudFront Function: S3
has no directory index behind an origin access control). `/v1/*` goes to the REST API's stage,
uncached, with every viewer header but Host, so the console needs no CORS.

Response-headers policies carry the security headers: every console page refuses to be framed
(`frame-ancestors 'none'`, `X-Frame-Options: DENY`), except `/console/embed.html`, which any site
may frame (API.md "Console", Embedding). Both send HSTS, `nosniff` and `Referrer-Policy:
no-referrer` (the console's URLs carry its filters).
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.constructs.api import STAGE_NAME
from infra.nag import acknowledge
from infra.paths import REPO_ROOT

DIST = REPO_ROOT / "console" / "dist"  # `make console` builds it (before synth, deploy and the tests)

PREFIX = "console"
CSP = "default-src 'self'; frame-ancestors 'none'"
EMBED_CSP = "default-src 'self'"  # no frame-ancestors: any site may frame the embed page
EMBED_PATH = f"/{PREFIX}/embed.html"
API_PATH = "/v1/*"
HSTS_MAX_AGE = Duration.days(730)  # 63,072,000 s

# Viewer request: `/` and `/console` redirect to `/console/`; a directory path gets its index.html.
VIEWER_REQUEST = f"""function handler(event) {{
  var request = event.request;
  var uri = request.uri;
  if (uri === "/" || uri === "/{PREFIX}") {{
    return {{statusCode: 301, statusDescription: "Moved Permanently",
             headers: {{location: {{value: "/{PREFIX}/"}}}}}};
  }}
  if (uri.endsWith("/")) {{
    request.uri = uri + "index.html";
  }}
  return request;
}}
"""


def _security_headers(*, csp: str, deny_framing: bool) -> cloudfront.ResponseSecurityHeadersBehavior:
    return cloudfront.ResponseSecurityHeadersBehavior(
        content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
            content_security_policy=csp, override=True
        ),
        content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
        frame_options=(
            cloudfront.ResponseHeadersFrameOptions(
                frame_option=cloudfront.HeadersFrameOption.DENY, override=True
            )
            if deny_framing
            else None
        ),
        referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
            referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
        ),
        strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
            access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
        ),
    )


def _static(
    origin: cloudfront.IOrigin,
    headers: cloudfront.IResponseHeadersPolicy,
    functions: list[cloudfront.FunctionAssociation] | None = None,
) -> cloudfront.BehaviorOptions:
    """A behaviour serving the bucket's files (GET and HEAD only), cached, with `headers` added."""
    return cloudfront.BehaviorOptions(
        origin=origin,
        viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
        response_headers_policy=headers,
        function_associations=functions,
        compress=True,
    )


class ConsoleSite(Construct):
    """Bucket, distribution, headers policies and the deployment of `dist` (console/dist)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, rest_api: apigw.RestApi, dist: Path = DIST
    ) -> None:
        super().__init__(scope, construct_id)
        if not (dist / "index.html").is_file():
            raise FileNotFoundError(f"{dist} holds no built console: run `make console` first")
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=False,
            # The stateless stack may be destroyed: the deployment below empties the bucket first.
            removal_policy=RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.bucket,
            rule="AwsSolutions-S1",
            reason="The bucket holds only the console's public build output (no tenant data) and is "
            "read only by CloudFront through origin access control; who asked for which file is of "
            "no audit value, and an access-log bucket would keep the stateless stack from being destroyed.",
        )
        self.page_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "PageHeaders",
            comment="Activity Log console pages: CSP default-src 'self', never framed",
            security_headers_behavior=_security_headers(csp=CSP, deny_framing=True),
        )
        self.embed_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "EmbedHeaders",
            comment="Activity Log console embed.html: CSP default-src 'self', any site may frame it",
            security_headers_behavior=_security_headers(csp=EMBED_CSP, deny_framing=False),
        )
        files = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket,
            # LIST: a missing file is S3's 404, not a 403 that would look like a refusal.
            origin_access_levels=[cloudfront.AccessLevel.READ, cloudfront.AccessLevel.LIST],
        )
        viewer_request = cloudfront.Function(
            self,
            "ViewerRequest",
            comment="/ and /console redirect to /console/; a directory path serves its index.html",
            code=cloudfront.FunctionCode.from_inline(VIEWER_REQUEST),
            runtime=cloudfront.FunctionRuntime.JS_2_0,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Activity Log console (/console/) and API (/v1/)",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_100,
            default_behavior=_static(
                files,
                self.page_headers,
                [
                    cloudfront.FunctionAssociation(
                        function=viewer_request, event_type=cloudfront.FunctionEventType.VIEWER_REQUEST
                    )
                ],
            ),
            additional_behaviors={
                EMBED_PATH: _static(files, self.embed_headers),
                API_PATH: cloudfront.BehaviorOptions(
                    # The stage's own URL with origin path /prod: /v1/events here is /prod/v1/events there.
                    origin=origins.RestApiOrigin(rest_api, origin_path=f"/{STAGE_NAME}"),
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Every viewer header (Authorization included: allowed when caching is disabled)
                    # but Host, which must stay the execute-api domain for API Gateway to route.
                    origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                    compress=False,
                ),
            },
        )
        self._acknowledge_distribution()
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Files",
            sources=[s3deploy.Source.asset(str(dist))],  # a zip of the directory: no Docker
            destination_bucket=self.bucket,
            destination_key_prefix=f"{PREFIX}/",
            prune=True,
            retain_on_delete=False,  # the bucket is emptied before it is deleted
            cache_control=[s3deploy.CacheControl.no_cache()],  # names are not hashed: revalidate
            distribution=self.distribution,
            distribution_paths=[f"/{PREFIX}/*"],
        )
        self.url = f"https://{self.distribution.distribution_domain_name}/{PREFIX}/"
        self._acknowledge_deployment_handler()

    def _acknowledge_distribution(self) -> None:
        acknowledge(
            self.distribution,
            rule="AwsSolutions-CFR1",
            reason="The console and API serve tenants wherever they are; no country is refused.",
        )
        acknowledge(
            self.distribution,
            rule="AwsSolutions-CFR2",
            reason="The API behind /v1/* has its regional web ACL on the stage (EdgeGuard); the static "
            "console files need none. A CLOUDFRONT-scope ACL must be made in us-east-1 "
            "(docs/infrastructure.md).",
        )
        acknowledge(
            self.distribution,
            rule="AwsSolutions-CFR3",
            reason="Requests to /v1/* are recorded by the API stage's access log (tenant, key, route, "
            "status); the rest are static console files, whose access log would hold nothing of value.",
        )
        acknowledge(
            self.distribution,
            rule="AwsSolutions-CFR4",
            reason="The distribution uses its default *.cloudfront.net certificate, for which CloudFront "
            "does not let the minimum TLS version be set; a custom domain with its own certificate would.",
        )

    def _acknowledge_deployment_handler(self) -> None:
        """BucketDeployment's handler is CDK's own singleton function (one per stack), run by
        CloudFormation at deploy time only; its role and runtime are CDK's, not ours to shape."""
        stack = Stack.of(self)
        (handler,) = [c for c in stack.node.children if c.node.id.startswith("Custom::CDKBucketDeployment")]
        acknowledge(
            handler,
            rule="AwsSolutions-L1",
            reason="CDK's BucketDeployment handler: its runtime is pinned by aws-cdk-lib and moves with "
            "it; it runs only while CloudFormation deploys the console's files.",
        )
        acknowledge(
            handler,
            rule="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            reason="CDK's BucketDeployment handler writes its own logs with the AWS-managed basic "
            "execution policy, which grants exactly that (CloudWatch Logs) and nothing else.",
        )
        grants = {
            "Action::s3:GetObject*": "reads the console's asset zip",
            "Action::s3:GetBucket*": "reads the buckets' location to copy between them",
            "Action::s3:List*": "lists the console bucket to prune files the build no longer has",
            "Action::s3:DeleteObject*": "deletes pruned files (and all of them when the stack is deleted)",
            "Action::s3:Abort*": "aborts its own incomplete multipart uploads",
            "Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*": (
                "reads objects of the CDK bootstrap asset bucket, where the console's zip is uploaded"
            ),
            "Resource::<ConsoleBucket86B6957C.Arn>/*": "writes the console's files, any key under the bucket",
            "Resource::*": "creates the distribution's invalidation and waits for it (CDK grants "
            "cloudfront:CreateInvalidation and GetInvalidation on *)",
        }
        for finding, why in grants.items():
            acknowledge(
                handler,
                rule=f"AwsSolutions-IAM5[{finding}]",
                reason=f"CDK's BucketDeployment grant (grant_read / grant_read_write): the handler {why}.",
            )
