"""API keys: random secrets shown once, stored only as a SHA-256 hash.

The secret carries 256 bits of randomness, so a fast hash is enough (no password-style stretching):
nobody can guess a preimage, and the authorizer must hash on every uncached request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from ulid import ULID

from activitylog.logic import cursor as cursors
from activitylog.logic.ports import KeyAdmin, KeyStore
from activitylog.models.auth import ALL_SCOPES, TENANT_PATTERN, ApiKeyRecord, CreatedKey, Principal, Scope
from activitylog.models.errors import ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError

KEY_PREFIX = "alk_"
READ_SCOPES = {Scope.EVENTS_READ, Scope.EVENTS_READ_SELF}
# What a key restricted to one actor may hold: that actor's events, and minting viewer tokens
# restricted to the same actor (logic/viewer_tokens.py).
ACTOR_KEY_SCOPES = READ_SCOPES | {Scope.TOKENS_CREATE}
PREFIX_SHOWN = 12
_TENANT = re.compile(TENANT_PATTERN)


def hash_secret(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> list[Scope]:
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = sorted({s for s in wanted if s not in {x.value for x in ALL_SCOPES}})
    if unknown:
        raise InvalidInputError(f"unknown scopes: {', '.join(unknown)}", details=unknown)
    if not wanted:
        raise InvalidInputError("at least one scope is required")
    return sorted({Scope(s) for s in wanted})


def create_api_key(
    store: KeyStore,
    *,
    tenant: str,
    scopes: Iterable[str],
    actor_id: str | None,
    name: str,
    now: datetime,
) -> CreatedKey:
    if not _TENANT.fullmatch(tenant):
        raise InvalidInputError(f"tenant must match {TENANT_PATTERN}")
    granted = parse_scopes(scopes)
    if actor_id is not None:
        if not actor_id or len(actor_id) > 256:
            raise InvalidInputError("actor_id must be 1-256 characters")
        # A key restricted to one actor is read-only: it reads that actor's own events (and may
        # mint viewer tokens of that actor), nothing else.
        if not set(granted) <= ACTOR_KEY_SCOPES:
            raise InvalidInputError(
                "a key with actor_id can only have the scopes events:read:self and tokens:create"
            )
        granted = _actor_key_scopes(granted)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        id=str(ULID.from_datetime(now)),
        tenant=tenant,
        secret_hash=hash_secret(key),
        prefix=key[:PREFIX_SHOWN],
        name=name,
        scopes=granted,
        actor_id=actor_id,
        created_at=now,
    )
    store.put_api_key(record)
    return CreatedKey(id=record.id, key=key, prefix=record.prefix, record=record, created_at=now)


def _actor_key_scopes(scopes: Iterable[Scope]) -> list[Scope]:
    """An actor key's scopes: any read scope is events:read:self (its actor's events only)."""
    wanted = set(scopes)
    granted = {Scope.EVENTS_READ_SELF} if wanted & READ_SCOPES else set()
    return sorted(granted | (wanted & {Scope.TOKENS_CREATE}))


def resolve_api_key(store: KeyStore, key: str) -> Principal:
    """The authorizer's decision: an unknown, malformed or revoked key is unauthorized."""
    if not key.startswith(KEY_PREFIX) or len(key) > 256:
        raise UnauthorizedError("invalid API key")
    record = store.get_api_key(hash_secret(key))
    if record is None or record.revoked_at is not None:
        raise UnauthorizedError("invalid API key")
    return Principal(
        tenant=record.tenant,
        key_id=record.id,
        scopes=frozenset(s.value for s in record.scopes),
        actor_id=record.actor_id,
    )


def holds(principal: Principal, scope: Scope) -> bool:
    """events:read includes everything events:read:self allows."""
    return principal.can(scope) or (scope is Scope.EVENTS_READ_SELF and principal.can(Scope.EVENTS_READ))


def create_key_for(
    principal: Principal,
    store: KeyStore,
    *,
    name: str,
    scopes: Iterable[str],
    actor_id: str | None,
    now: datetime,
) -> CreatedKey:
    """POST /v1/api-keys: a key can grant only scopes its creator holds (no escalation)."""
    if not principal.can(Scope.KEYS_MANAGE):
        raise ForbiddenError("this key lacks the keys:manage scope")
    wanted = parse_scopes(scopes)
    if actor_id is not None and set(wanted) <= ACTOR_KEY_SCOPES:
        wanted = _actor_key_scopes(wanted)
    missing = sorted(s.value for s in wanted if not holds(principal, s))
    if missing:
        raise ForbiddenError(
            f"a key cannot grant scopes it does not hold: {', '.join(missing)}", details=missing
        )
    return create_api_key(
        store, tenant=principal.tenant, scopes=scopes, actor_id=actor_id, name=name, now=now
    )


def list_keys(
    principal: Principal, store: KeyAdmin, *, limit: int, cursor: str | None
) -> tuple[list[ApiKeyRecord], str | None]:
    if not principal.can(Scope.KEYS_MANAGE):
        raise ForbiddenError("this key lacks the keys:manage scope")
    fp = cursors.fingerprint(principal.tenant, "api-keys", {})
    after = cursors.position_str(cursors.decode(cursor, fp), "p") if cursor else None
    records, last = store.list_api_keys(principal.tenant, limit=limit, after=after)
    return records, (cursors.encode(fp, {"p": last}) if last else None)


def revoke_key(principal: Principal, store: KeyAdmin, key_id: str) -> ApiKeyRecord:
    if not principal.can(Scope.KEYS_MANAGE):
        raise ForbiddenError("this key lacks the keys:manage scope")
    found = store.find_api_key(principal.tenant, key_id) if len(key_id) <= 64 else None
    if found is None:
        raise NotFoundError("no such API key")
    # As with creating (no escalation): a key may revoke only keys whose power it holds itself,
    # so a narrower admin key cannot lock the tenant out of a broader one.
    if missing := sorted(s.value for s in found.scopes if not holds(principal, s)):
        raise ForbiddenError(
            f"this key cannot revoke a key with scopes it does not hold: {', '.join(missing)}",
            details=missing,
        )
    record = store.delete_api_key(principal.tenant, key_id)
    if record is None:
        raise NotFoundError("no such API key")
    return record
