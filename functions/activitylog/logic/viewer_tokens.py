"""Viewer tokens (API.md Part 2): short-lived, restricted credentials minted by a vendor's backend.

A token is a random secret (`vt_` + 256 bits) stored, like an API key, only as its SHA-256 hash in
the control table, with the tenant, scopes, restriction and expiry (docs/security.md, "Viewer
tokens", says why stored rather than self-contained). The authorizer resolves it to a Principal
carrying the restriction; from `expires_at` on it is refused (401), by the authorizer and again by
every handler (an authorizer answer cached by API Gateway does not outlive the token).
"""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from ulid import ULID

from activitylog.logic.keys import hash_secret, holds
from activitylog.models.auth import ApiKeyRecord, Principal, Scope, TargetRef
from activitylog.models.errors import ForbiddenError, InvalidInputError, UnauthorizedError
from activitylog.models.text import format_time, to_millis
from activitylog.models.viewer_tokens import TOKEN_SCOPES, TokenTarget, ViewerTokenCreate, ViewerTokenRecord

TOKEN_PREFIX = "vt_"  # noqa: S105 (a prefix, not a secret)
MAX_TOKEN_LENGTH = 256


class ViewerTokenStore(Protocol):
    def put_viewer_token(self, record: ViewerTokenRecord, *, expires: int) -> None: ...
    def get_viewer_token(self, secret_hash: str) -> ViewerTokenRecord | None: ...


class MinterLookup(Protocol):
    def find_api_key(self, tenant: str, key_id: str) -> ApiKeyRecord | None: ...


def token_scopes(requested: list[str]) -> list[Scope]:
    """The asked scopes, each one a token may carry (else 422), without repeats."""
    allowed = {s.value for s in TOKEN_SCOPES}
    wanted = [s.strip() for s in requested if s.strip()]
    if not wanted:
        raise InvalidInputError("at least one scope is required")
    outside = sorted({s for s in wanted if s not in allowed})
    if outside:
        raise InvalidInputError(
            f"a viewer token can only have the scopes {', '.join(sorted(allowed))}: not {', '.join(outside)}",
            details=outside,
        )
    return sorted({Scope(s) for s in wanted})


def mint(
    principal: Principal, store: ViewerTokenStore, request: ViewerTokenCreate, *, now: datetime
) -> tuple[str, ViewerTokenRecord]:
    """POST /v1/viewer-tokens: the token (shown once) and what is stored of it.

    Never wider than the minting key: its scopes are the key's (403 otherwise), and a key restricted
    to an actor mints only tokens restricted to that same actor."""
    if not principal.can(Scope.TOKENS_CREATE):
        raise ForbiddenError("this key lacks the tokens:create scope")
    scopes = token_scopes(request.scopes)
    missing = sorted(s.value for s in scopes if not holds(principal, s))
    if missing:
        raise ForbiddenError(
            f"a key cannot grant scopes it does not hold: {', '.join(missing)}", details=missing
        )
    actor_id = request.actor_id
    if principal.actor_id is not None:
        if actor_id is not None and actor_id != principal.actor_id:
            raise ForbiddenError("this key can only mint tokens restricted to its own actor_id")
        actor_id = principal.actor_id
    target = request.target
    if principal.target is not None:  # not reachable today (a token cannot mint): kept narrow anyway
        if target is not None and (target.type, target.id) != (principal.target.type, principal.target.id):
            raise ForbiddenError("this credential can only mint tokens restricted to its own target")
        target = TokenTarget(type=principal.target.type, id=principal.target.id)
    if Scope.EVENTS_READ_SELF in scopes and actor_id is None:
        raise InvalidInputError("events:read:self needs actor_id (the actor whose events the token shows)")
    created = to_millis(now)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ViewerTokenRecord(
        id=str(ULID.from_datetime(created)),
        tenant=principal.tenant,
        secret_hash=hash_secret(secret),
        scopes=scopes,
        actor_id=actor_id,
        target=target,
        label=request.label,
        created_by=principal.key_id,
        created_at=created,
        expires_at=created + timedelta(seconds=request.ttl_seconds),
    )
    # The item may go (DynamoDB TTL) once the token is dead; reads check `expires_at` themselves.
    store.put_viewer_token(record, expires=math.ceil(record.expires_at.timestamp()))
    return secret, record


def resolve_viewer_token(
    store: ViewerTokenStore, minters: MinterLookup, token: str, *, now: datetime
) -> Principal:
    """The authorizer's decision: an unknown, malformed or expired token is unauthorized."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise UnauthorizedError("invalid viewer token")
    record = store.get_viewer_token(hash_secret(token))
    if record is None or now >= record.expires_at:
        raise UnauthorizedError("invalid viewer token")
    # Revoking a key ends the tokens it minted (within the authorizer's cache time, as for the key).
    if minters.find_api_key(record.tenant, record.created_by) is None:
        raise UnauthorizedError("invalid viewer token")
    return principal_of_record(record)


def principal_of_record(record: ViewerTokenRecord) -> Principal:
    return Principal(
        tenant=record.tenant,
        key_id=record.id,
        scopes=frozenset(s.value for s in record.scopes),
        actor_id=record.actor_id,
        target=TargetRef(record.target.type, record.target.id) if record.target else None,
        expires_at=record.expires_at,
        token=True,
    )


def audit_metadata(record: ViewerTokenRecord) -> dict[str, str | None]:
    """What the `activitylog.viewer_token.created` event keeps: never the token itself."""
    return {
        "token_id": record.id,
        "scopes": " ".join(s.value for s in record.scopes),
        "actor_id": record.actor_id,
        "target_type": record.target.type if record.target else None,
        "target_id": record.target.id if record.target else None,
        "expires_at": format_time(record.expires_at),
        "label": record.label,
    }
