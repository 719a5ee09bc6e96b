"""Lambda `Authorizer`: a REST API TOKEN authorizer resolving `Bearer <key>` to tenant and scopes.

A viewer token (`Bearer vt_...`, logic/viewer_tokens.py) resolves the same way, with its target and
expiry added to the context (handlers re-check the expiry: API Gateway caches this answer).

It allows the whole API (a cached policy applies to every route) and hands `{tenant, scopes,
actor_id, key_id}` to the handlers, which check their route's scope. Raising "Unauthorized" makes
API Gateway answer 401 (with our envelope, from the gateway response).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from activitylog.handlers import metrics, wiring
from activitylog.handlers.log import logger
from activitylog.logic import clock
from activitylog.logic.keys import hash_secret, resolve_api_key
from activitylog.logic.throttle import usage_key_value
from activitylog.logic.viewer_tokens import TOKEN_PREFIX, resolve_viewer_token
from activitylog.models.auth import Principal
from activitylog.models.env import AuthorizerEnv, ThrottleEnv
from activitylog.models.errors import UnauthorizedError
from activitylog.models.text import epoch_millis

ENVIRONMENT = AuthorizerEnv  # what this function is given (docs/components.md, "Environment")
wiring.require(ENVIRONMENT)  # when the module loads: a missing variable fails the cold start


def api_wide_arn(method_arn: str) -> str:
    """arn:aws:execute-api:region:account:api-id/stage/VERB/path -> .../api-id/stage/*/*"""
    prefix, _, path = method_arn.partition(":execute-api:")
    parts = path.split("/")
    return f"{prefix}:execute-api:{parts[0]}/{parts[1] if len(parts) > 1 else '*'}/*/*"


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("missing bearer token")
    return token.strip()


def restriction_context(principal: Principal) -> dict[str, str]:
    """A viewer token's target and expiry (handlers/http.py `principal_of` reads them back)."""
    if not principal.token:
        return {}
    expires = str(epoch_millis(principal.expires_at)) if principal.expires_at else ""
    target = principal.target
    return {
        "credential": "viewer_token",
        "target_type": target.type if target else "",
        "target_id": target.id if target else "",
        "expires_at": expires,
    }


@metrics.flushed
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    keys = wiring.container().api_keys
    try:
        token = bearer_token(event.get("authorizationToken"))
        if token.startswith(TOKEN_PREFIX):  # a viewer token (logic/viewer_tokens.py)
            principal = resolve_viewer_token(wiring.container().viewer_tokens, keys, token, now=clock.now())
        else:
            principal = resolve_api_key(keys, token)
    except UnauthorizedError:
        logger.info("api key refused")  # never log the key itself
        metrics.add(metrics.AUTHORIZER_DENIALS)
        raise Exception("Unauthorized") from None  # the exact text API Gateway expects
    try:
        if not principal.token:
            keys.touch_api_key(hash_secret(token), int(clock.now().timestamp()))
    except Exception:  # `last_used_at` is informative: never refuse a valid key over it
        logger.exception("last_used_at not recorded")
    logger.append_keys(tenant=principal.tenant, key_id=principal.key_id)
    namespace = wiring.container().env(ThrottleEnv).throttle_namespace
    return {
        "principalId": f"{principal.tenant}/{principal.key_id}",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": api_wide_arn(event.get("methodArn", "")),
                }
            ],
        },
        # API Gateway throttles on the tenant's own usage plan key (logic/throttle.py).
        "usageIdentifierKey": usage_key_value(namespace, principal.tenant),
        "context": {
            "tenant": principal.tenant,
            "scopes": " ".join(sorted(principal.scopes)),
            "actor_id": principal.actor_id or "",
            "key_id": principal.key_id,
            **restriction_context(principal),
        },
    }
