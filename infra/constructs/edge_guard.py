"""A regional WAF web ACL on the API stage that refuses bodies Lambda could never receive.

API Gateway REST accepts bodies up to 10 MB, but a synchronous Lambda invocation carries at most
6 MB: such a request would fail inside API Gateway as a 5xx. This ACL answers 413 with the API.md
envelope for any request whose declared Content-Length is 2,000,000 bytes or more, well below the
6 MB invocation limit including the proxy event's own overhead. Bodies from 1 MiB up to that size
reach the ingest handler, which answers 413 itself (API.md's 1 MiB limit), so local mode (no WAF)
and AWS agree. See docs/infrastructure.md for the remaining gap (bodies without Content-Length).
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.constructs.gateway_responses import envelope_body

# Content-Length >= 2,000,000: seven digits starting with 2-9, or eight or more digits (leading
# zeros ignored). WAF regexes are PCRE-like; this pattern means the same in Python's `re` (tested).
OVERSIZED_CONTENT_LENGTH = r"^0*([2-9][0-9]{6}|[1-9][0-9]{7,})$"
TOO_LARGE_BODY_KEY = "payload_too_large"


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


class EdgeGuard(Construct):
    """The web ACL and its association with one REST API stage."""

    def __init__(self, scope: Construct, construct_id: str, *, stage_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="Activity Log API: refuse bodies larger than Lambda can receive",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("ActivityLogApi"),
            custom_response_bodies={
                TOO_LARGE_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=envelope_body(code="payload_too_large", message="The request body is too large."),
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="OversizedContentLength",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=413, custom_response_body_key=TOO_LARGE_BODY_KEY
                            )
                        )
                    ),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                single_header={"Name": "content-length"}
                            ),
                            regex_string=OVERSIZED_CONTENT_LENGTH,
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                            ],
                        )
                    ),
                    visibility_config=_visibility("OversizedContentLength"),
                )
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
