"""A regional WAF web ACL on the API stage: bodies Lambda could never receive, and per-IP floods.

API Gateway REST accepts bodies up to 10 MB, but a synchronous Lambda invocation carries at most
6 MB: such a request would fail inside API Gateway as a 5xx. This ACL answers 413 with the API.md
envelope for any request whose declared Content-Length is 2,000,000 bytes or more, well below the
6 MB invocation limit including the proxy event's own overhead. Bodies from 1 MiB up to that size
reach the ingest handler, which answers 413 itself (API.md's 1 MiB limit), so local mode (no WAF)
and AWS agree. See docs/infrastructure.md for the remaining gap (bodies without Content-Length).

Tenants are throttled by their usage plans (infra/constructs/api.py), but a request that fails
authorization belongs to no tenant: it draws only on the stage's shared bucket. Two rate-based
rules keep one source address from using up that bucket: requests without a well-formed credential
(no key, a malformed one, the public routes) at most `ANONYMOUS_LIMIT` per minute per IP, and any
request at most `PER_IP_LIMIT` per minute per IP (well-formed but invalid keys reach the authorizer,
whose refusals API Gateway caches per header value). Both answer 429 `rate_limited` with
`Retry-After`, the envelope of API Gateway's own throttling. docs/security.md, "Rate limits".
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.constructs.gateway_responses import envelope_body

# Content-Length >= 2,000,000: seven digits starting with 2-9, or eight or more digits (leading
# zeros ignored). WAF regexes are PCRE-like; this pattern means the same in Python's `re` (tested).
OVERSIZED_CONTENT_LENGTH = r"^0*([2-9][0-9]{6}|[1-9][0-9]{7,})$"
TOO_LARGE_BODY_KEY = "payload_too_large"
RATE_LIMITED_BODY_KEY = "rate_limited"
# What a credential looks like (API keys `alk_` + 43 URL-safe characters, viewer tokens `vt_...`):
# a request whose Authorization header does not match counts as anonymous. The same pattern in
# Python's `re` (tested). WAF evaluates regexes on at most the first 8 KB of a header.
WELL_FORMED_CREDENTIAL = r"^[Bb][Ee][Aa][Rr][Ee][Rr] +(alk|vt)_[A-Za-z0-9_.~=-]{20,}$"
RATE_WINDOW_SECONDS = 60
ANONYMOUS_LIMIT = 300  # per IP per minute: 5 requests/s on average (docs, health, downloads, errors)
PER_IP_LIMIT = 60_000  # per IP per minute: 1,000 requests/s, above any one tenant's default limit
RETRY_AFTER_SECONDS = str(RATE_WINDOW_SECONDS)


def _visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
    )


def _cors_headers() -> list[wafv2.CfnWebACL.CustomHTTPHeaderProperty]:
    """As on every other answer (API.md "Console": CORS for any origin): a browser script sees the
    413 or 429 and its Retry-After instead of a network error."""
    return [
        wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Access-Control-Allow-Origin", value="*"),
        wafv2.CfnWebACL.CustomHTTPHeaderProperty(name="Access-Control-Expose-Headers", value="Retry-After"),
    ]


def _rate_rule(
    name: str, *, priority: int, limit: int, scope_down: wafv2.CfnWebACL.StatementProperty | None = None
) -> wafv2.CfnWebACL.RuleProperty:
    """Block a source IP's requests beyond `limit` per minute (those matching `scope_down`) with 429."""
    return wafv2.CfnWebACL.RuleProperty(
        name=name,
        priority=priority,
        action=wafv2.CfnWebACL.RuleActionProperty(
            block=wafv2.CfnWebACL.BlockActionProperty(
                custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                    response_code=429,
                    custom_response_body_key=RATE_LIMITED_BODY_KEY,
                    response_headers=[
                        wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                            name="Retry-After", value=RETRY_AFTER_SECONDS
                        ),
                        *_cors_headers(),
                    ],
                )
            )
        ),
        statement=wafv2.CfnWebACL.StatementProperty(
            rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                aggregate_key_type="IP",
                limit=limit,
                evaluation_window_sec=RATE_WINDOW_SECONDS,
                scope_down_statement=scope_down,
            )
        ),
        visibility_config=_visibility(name),
    )


class EdgeGuard(Construct):
    """The web ACL and its association with one REST API stage."""

    def __init__(self, scope: Construct, construct_id: str, *, stage_arn: str) -> None:
        super().__init__(scope, construct_id)
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="Activity Log API: refuse bodies larger than Lambda can receive, and per-IP floods",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("ActivityLogApi"),
            custom_response_bodies={
                TOO_LARGE_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=envelope_body(code="payload_too_large", message="The request body is too large."),
                ),
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON",
                    content=envelope_body(
                        code="rate_limited",
                        message="Too many requests from this address; retry after the number of seconds "
                        "in Retry-After.",
                    ),
                ),
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="OversizedContentLength",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=413,
                                custom_response_body_key=TOO_LARGE_BODY_KEY,
                                response_headers=_cors_headers(),
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
                ),
                _rate_rule(
                    "AnonymousPerIp",
                    priority=1,
                    limit=ANONYMOUS_LIMIT,
                    scope_down=wafv2.CfnWebACL.StatementProperty(
                        not_statement=wafv2.CfnWebACL.NotStatementProperty(
                            statement=wafv2.CfnWebACL.StatementProperty(
                                regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                        single_header={"Name": "authorization"}
                                    ),
                                    regex_string=WELL_FORMED_CREDENTIAL,
                                    text_transformations=[
                                        wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                                    ],
                                )
                            )
                        )
                    ),
                ),
                _rate_rule("PerIpCeiling", priority=2, limit=PER_IP_LIMIT),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
