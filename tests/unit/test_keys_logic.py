"""API keys: hashing, scopes, escalation and the actor restriction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from activitylog.logic.keys import create_api_key, create_key_for, hash_secret, resolve_api_key
from activitylog.models.auth import Principal
from activitylog.models.errors import ForbiddenError, InvalidInputError, UnauthorizedError

from tests.fakes import FakeControl

NOW = datetime(2026, 11, 23, tzinfo=UTC)
ADMIN = Principal(
    tenant="acme", key_id="k0", scopes=frozenset({"keys:manage", "events:read", "events:write"})
)


def test_only_the_hash_is_stored_and_the_key_resolves() -> None:
    store = FakeControl()
    created = create_api_key(store, tenant="acme", scopes=["events:write"], actor_id=None, name="n", now=NOW)
    assert created.key not in str([r.model_dump() for r in store.keys.values()])
    assert list(store.keys) == [hash_secret(created.key)] and created.prefix == created.key[:12]
    principal = resolve_api_key(store, created.key)
    assert (principal.tenant, principal.scopes) == ("acme", frozenset({"events:write"}))
    for bad in ("", "alk_wrong", created.key + "x", "Bearer " + created.key, "alk_" + "a" * 300):
        with pytest.raises(UnauthorizedError):
            resolve_api_key(store, bad)


def test_unknown_scopes_and_bad_tenants_are_invalid() -> None:
    for scopes, tenant in (
        (["events:delete"], "acme"),
        ([], "acme"),
        (["events:read"], "Acme"),
        (["*"], "acme"),
    ):
        with pytest.raises(InvalidInputError):
            create_api_key(FakeControl(), tenant=tenant, scopes=scopes, actor_id=None, name="n", now=NOW)


def test_no_escalation() -> None:
    with pytest.raises(ForbiddenError) as refused:
        create_key_for(
            ADMIN, FakeControl(), name="n", scopes=["events:read", "exports:manage"], actor_id=None, now=NOW
        )
    assert refused.value.details == ["exports:manage"]
    made = create_key_for(ADMIN, FakeControl(), name="n", scopes=["events:read:self"], actor_id="u1", now=NOW)
    assert [s.value for s in made.record.scopes] == ["events:read:self"]
    reader = Principal(tenant="acme", key_id="k1", scopes=frozenset({"events:read"}))
    with pytest.raises(ForbiddenError):
        create_key_for(reader, FakeControl(), name="n", scopes=["events:read"], actor_id=None, now=NOW)


def test_actor_keys_are_read_only() -> None:
    made = create_key_for(ADMIN, FakeControl(), name="n", scopes=["events:read"], actor_id="u1", now=NOW)
    assert [s.value for s in made.record.scopes] == ["events:read:self"] and made.record.actor_id == "u1"
    with pytest.raises(InvalidInputError):
        create_key_for(ADMIN, FakeControl(), name="n", scopes=["events:write"], actor_id="u1", now=NOW)
