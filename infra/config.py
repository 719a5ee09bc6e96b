"""Deploy-time choices read from CDK context (`-c key=value` or cdk.json), in one place.

Every value here is known at synth time, so the stacks pass them as values (ARNs are built from them)
instead of cross-stack exports (docs/infrastructure.md, "Cross-stack references"). `make deploy`
(`ops/activitylog_ops/deploy.py`) sets them for a real account and refuses the placeholder sender;
`make synth`, local mode and the tests use the defaults below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs import Construct

SENDER_CONTEXT = "activitylog:senderEmail"
SENDER_DOMAIN_CONTEXT = "activitylog:senderDomain"
CREATE_IDENTITY_CONTEXT = "activitylog:createSenderIdentity"
CLOUDWATCH_ROLE_CONTEXT = "activitylog:apiGatewayCloudWatchRole"
# An example value for synth, local mode and tests only: `example.com` can never be verified in SES,
# so `make deploy` refuses it (ops/activitylog_ops/deploy.py).
PLACEHOLDER_SENDER = "exports@example.com"

_ADDRESS = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")


class ConfigError(ValueError):
    """A deploy-time choice is malformed: synthesis stops with what to fix."""


def _flag(scope: Construct, key: str, *, default: bool) -> bool:
    value = scope.node.try_get_context(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ConfigError(f"context {key} must be true or false, not {value!r}")
    return text == "true"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who notification emails come from, and which SES identity authorises it.

    `identity` is the address itself, or its domain when the domain is verified instead (`senderDomain`).
    `create_identity` is False when the identity was verified in SES outside this app (creating it again
    would fail: SES identities are unique per account and region).
    """

    address: str
    identity: str
    create_identity: bool

    @property
    def is_domain(self) -> bool:
        return self.identity != self.address

    @property
    def is_placeholder(self) -> bool:
        return self.address == PLACEHOLDER_SENDER

    @classmethod
    def of(cls, scope: Construct) -> Sender:
        address = str(scope.node.try_get_context(SENDER_CONTEXT) or PLACEHOLDER_SENDER).strip()
        match = _ADDRESS.match(address)
        if not match:
            raise ConfigError(f"context {SENDER_CONTEXT} must be an email address, not {address!r}")
        domain = str(scope.node.try_get_context(SENDER_DOMAIN_CONTEXT) or "").strip().lower()
        if domain and match.group(1).lower() != domain:
            raise ConfigError(
                f"the sender {address} is not in the verified domain {domain} ({SENDER_DOMAIN_CONTEXT})"
            )
        return cls(
            address=address,
            identity=domain or address,
            create_identity=_flag(scope, CREATE_IDENTITY_CONTEXT, default=True),
        )


def api_gateway_cloudwatch_role(scope: Construct) -> bool:
    """Whether this app sets the region-wide API Gateway CloudWatch Logs role (an account setting).

    Off by default: setting it overwrites whatever another stack or person configured. `make deploy`
    turns it on only when the account has no role yet (the stage's logs need one).
    """
    return _flag(scope, CLOUDWATCH_ROLE_CONTEXT, default=False)
