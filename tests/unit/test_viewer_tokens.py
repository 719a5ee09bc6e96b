"""Viewer tokens with fakes: minting rules, resolving (expired, tampered), the restriction in the one
filter model, the handler-side expiry check, and which exports a restricted token sees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from activitylog.handlers.http import build_resolver, principal_of
from activitylog.logic.exports import (
    ExportPorts,
    create_export,
    download_url,
    get_export,
    get_run,
    list_exports,
    start_run,
    visible_to,
)
from activitylog.logic.keys import create_key_for, hash_secret
from activitylog.logic.query_plan import matches_document, plan, visible_filters
from activitylog.logic.viewer_tokens import audit_metadata, mint, resolve_viewer_token
from activitylog.models.auth import Principal, TargetRef
from activitylog.models.errors import ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError
from activitylog.models.exports import Export, ExportCreate, ExportFilters
from activitylog.models.filters import EventFilter
from activitylog.models.text import epoch_millis
from activitylog.models.viewer_tokens import ViewerTokenCreate, ViewerTokenRecord
from aws_lambda_powertools.event_handler.router import Router
from pydantic import ValidationError

from tests.fakes import FakeControl, FakeExports

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
MINTER = Principal(
    tenant="acme",
    key_id="k1",
    scopes=frozenset({"events:read", "exports:manage", "tokens:create", "keys:manage"}),
)


class FakeTokens:
    def __init__(self) -> None:
        self.items: dict[str, tuple[ViewerTokenRecord, int]] = {}

    def put_viewer_token(self, record: ViewerTokenRecord, *, expires: int) -> None:
        self.items[record.secret_hash] = (record, expires)

    def get_viewer_token(self, secret_hash: str) -> ViewerTokenRecord | None:
        found = self.items.get(secret_hash)
        return found[0] if found else None


class Minters:
    """The minting keys that exist (revoking one removes it)."""

    def __init__(self, *key_ids: str) -> None:
        self.key_ids = set(key_ids)

    def find_api_key(self, tenant: str, key_id: str) -> Any:
        return object() if key_id in self.key_ids else None


LIVE = Minters(MINTER.key_id)


def request(**body: Any) -> ViewerTokenCreate:
    return ViewerTokenCreate.model_validate({"scopes": ["events:read"], **body})


# --- minting ---------------------------------------------------------------------------------------


def test_a_minted_token_is_stored_hashed_and_resolves_to_its_restriction() -> None:
    store = FakeTokens()
    token, record = mint(MINTER, store, request(target={"type": "asset", "id": "7"}, label="l"), now=NOW)
    assert token.startswith("vt_") and list(store.items) == [hash_secret(token)]
    assert token not in str([r.model_dump() for r, _ in store.items.values()])
    assert record.expires_at == NOW + timedelta(seconds=900)  # the default ttl
    assert store.items[hash_secret(token)][1] == int((NOW + timedelta(seconds=900)).timestamp())
    principal = resolve_viewer_token(store, LIVE, token, now=NOW)
    assert principal == Principal(
        tenant="acme",
        key_id=record.id,
        scopes=frozenset({"events:read"}),
        target=TargetRef("asset", "7"),
        expires_at=NOW + timedelta(seconds=900),
        token=True,
    )
    assert token not in str(audit_metadata(record)) and audit_metadata(record)["target_id"] == "7"


@pytest.mark.parametrize("scopes", [["events:write"], ["tokens:create"], ["keys:manage"], ["x"], [" "]])
def test_a_scope_a_token_cannot_have_is_invalid(scopes: list[str]) -> None:
    with pytest.raises(InvalidInputError):
        mint(MINTER, FakeTokens(), request(scopes=scopes), now=NOW)


def test_a_token_never_has_a_scope_its_minting_key_lacks() -> None:
    reader = Principal(tenant="acme", key_id="k2", scopes=frozenset({"events:read", "tokens:create"}))
    with pytest.raises(ForbiddenError):
        mint(reader, FakeTokens(), request(scopes=["events:read", "exports:manage"]), now=NOW)
    without = Principal(tenant="acme", key_id="k3", scopes=frozenset({"events:read"}))
    with pytest.raises(ForbiddenError):
        mint(without, FakeTokens(), request(), now=NOW)
    _, record = mint(reader, FakeTokens(), request(scopes=["events:read:self"], actor_id="u1"), now=NOW)
    assert [s.value for s in record.scopes] == ["events:read:self"]  # events:read includes it


def test_an_actor_key_mints_only_tokens_of_its_actor() -> None:
    actor_key = Principal(
        tenant="acme", key_id="k4", scopes=frozenset({"events:read:self", "tokens:create"}), actor_id="u1"
    )
    with pytest.raises(ForbiddenError):
        mint(actor_key, FakeTokens(), request(scopes=["events:read:self"], actor_id="u2"), now=NOW)
    _, record = mint(actor_key, FakeTokens(), request(scopes=["events:read:self"]), now=NOW)
    assert record.actor_id == "u1"
    with pytest.raises(ForbiddenError):  # events:read is wider than its events:read:self
        mint(actor_key, FakeTokens(), request(scopes=["events:read"]), now=NOW)


def test_read_self_needs_an_actor() -> None:
    with pytest.raises(InvalidInputError):
        mint(MINTER, FakeTokens(), request(scopes=["events:read:self"]), now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        {"ttl_seconds": 59},
        {"ttl_seconds": 86_401},
        {"ttl_seconds": "900"},
        {"ttl_seconds": True},
        {"scopes": []},
        {"target": {"type": "asset"}},
        {"target": {"type": "asset", "id": "7", "name": "x"}},
        {"actor_id": ""},
        {"actor_id": "\ud800"},
        {"label": ""},
        {"token": "vt_mine"},
    ],
)
def test_bad_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        request(**body)


def test_ttl_bounds_are_accepted() -> None:
    for ttl in (60, 86_400):
        _, record = mint(MINTER, FakeTokens(), request(ttl_seconds=ttl), now=NOW)
        assert record.expires_at - record.created_at == timedelta(seconds=ttl)


# --- resolving -------------------------------------------------------------------------------------


def test_expired_tampered_and_unknown_tokens_are_unauthorized() -> None:
    store = FakeTokens()
    token, record = mint(MINTER, store, request(ttl_seconds=60), now=NOW)
    for moment in (record.expires_at, record.expires_at + timedelta(days=400)):
        with pytest.raises(UnauthorizedError):
            resolve_viewer_token(store, LIVE, token, now=moment)
    assert resolve_viewer_token(store, LIVE, token, now=record.expires_at - timedelta(milliseconds=1))
    flipped = [token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :] for i in range(len(token))]
    for bad in [*flipped, token + "A", token[:-1], "", "vt_", token.upper(), token + "é", "vt_" + "a" * 300]:
        with pytest.raises(UnauthorizedError):
            resolve_viewer_token(store, LIVE, bad, now=NOW)


def test_a_token_of_a_revoked_key_is_unauthorized() -> None:
    store = FakeTokens()
    token, _ = mint(MINTER, store, request(), now=NOW)
    assert resolve_viewer_token(store, LIVE, token, now=NOW)
    with pytest.raises(UnauthorizedError):
        resolve_viewer_token(store, Minters(), token, now=NOW)


# --- the restriction in the one filter model ---------------------------------------------------------


TARGET_TOKEN = Principal(
    tenant="acme",
    key_id="t1",
    scopes=frozenset({"events:read"}),
    target=TargetRef("asset", "7"),
    expires_at=NOW + timedelta(minutes=15),
    token=True,
)


def test_a_restriction_narrows_and_a_conflict_sees_nothing() -> None:
    assert visible_filters(TARGET_TOKEN, EventFilter()) == EventFilter(target_type="asset", target_id="7")
    narrowed = visible_filters(TARGET_TOKEN, EventFilter(actor_id="u1"))
    assert narrowed == EventFilter(actor_id="u1", target_type="asset", target_id="7")
    # Another target: the events that have both (the restriction's is checked on every event).
    other = visible_filters(TARGET_TOKEN, EventFilter(target_type="asset", target_id="8"))
    assert other is not None and (other.target_type, other.target_id) == ("asset", "8")
    assert other.also_target == ("asset", "7") and "7" not in other.model_dump_json()
    assert other != EventFilter(target_type="asset", target_id="8")  # never the wider filter
    assert plan(other, shard_count=1, known_actions=set).residual
    assert visible_filters(TARGET_TOKEN, EventFilter(target_type="asset", target_id="7")) == EventFilter(
        target_type="asset", target_id="7"
    )
    both = Principal(
        tenant="acme",
        key_id="t2",
        scopes=frozenset({"events:read"}),
        actor_id="u1",
        target=TargetRef("a", "1"),
    )
    assert visible_filters(both, EventFilter(actor_id="u2")) is None
    assert visible_filters(both, EventFilter()) == EventFilter(actor_id="u1", target_type="a", target_id="1")


def test_an_event_must_have_both_targets_when_a_request_names_another() -> None:
    def stored(*targets: tuple[str, str]) -> dict[str, Any]:
        return {
            "action": "asset.viewed",
            "actor": {"id": "u1"},
            "targets": [{"type": t, "id": i} for t, i in targets],
            "occurred_at": "2026-12-02T09:00:00.000Z",
            "expires_at": "2027-12-02T09:00:00.000Z",
        }

    other = visible_filters(TARGET_TOKEN, EventFilter(target_type="asset", target_id="8"))
    assert other is not None
    now = epoch_millis(NOW)
    assert matches_document(stored(("asset", "8"), ("asset", "7")), other, now)
    assert not matches_document(stored(("asset", "8")), other, now)
    assert not matches_document(stored(("asset", "7")), other, now)
    again = other.within(target_type="folder", target_id="1")  # a third target: nothing
    assert again is None


def test_an_actor_token_with_events_read_is_still_only_its_actor() -> None:
    token = Principal(
        tenant="acme", key_id="t3", scopes=frozenset({"events:read"}), actor_id="u1", token=True
    )
    assert visible_filters(token, EventFilter()) == EventFilter(actor_id="u1")


def test_a_restricted_token_sees_only_exports_within_its_restriction() -> None:
    def export(**filters: Any) -> Export:
        return Export(
            id="01JD0000000000000000000000",
            name="n",
            format="csv",
            compression="none",
            filters=ExportFilters(**filters),
            recipients=[],
            created_at=NOW,
        )

    assert visible_to(export(target_type="asset", target_id="7", outcome="failure"), TARGET_TOKEN)
    assert not visible_to(export(), TARGET_TOKEN)
    assert not visible_to(export(target_type="asset", target_id="8"), TARGET_TOKEN)
    assert visible_to(export(), MINTER) and visible_to(export(), None)


# --- the handler checks expiry itself (the authorizer's answer may be cached) --------------------------


def _resolve(context: dict[str, str], now: datetime) -> dict[str, Any]:
    router = Router()

    @router.get("/v1/whoami")
    def whoami() -> dict[str, Any]:
        p = principal_of(router)
        return {"target": [p.target.type, p.target.id] if p.target else None, "token": p.token}

    event = {
        "resource": "/v1/whoami",
        "path": "/v1/whoami",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"authorizer": context, "httpMethod": "GET", "path": "/v1/whoami"},
        "body": None,
        "isBase64Encoded": False,
    }
    with mock.patch("activitylog.logic.clock.now", return_value=now):
        return build_resolver(router).resolve(event, None)


def test_principal_of_refuses_an_expired_token_from_a_cached_context() -> None:
    expires = NOW + timedelta(minutes=15)
    context = {
        "tenant": "acme",
        "scopes": "events:read",
        "actor_id": "",
        "key_id": "t1",
        "credential": "viewer_token",
        "target_type": "asset",
        "target_id": "7",
        "expires_at": str(epoch_millis(expires)),
    }
    alive = _resolve(context, expires - timedelta(milliseconds=1))
    assert alive["statusCode"] == 200 and '"target":["asset","7"]' in alive["body"]
    for moment in (expires, expires + timedelta(hours=1)):
        dead = _resolve(context, moment)
        assert dead["statusCode"] == 401 and '"unauthorized"' in dead["body"]
    assert _resolve({**context, "expires_at": "soon"}, NOW)["statusCode"] == 401  # unreadable: refused
    key = {k: v for k, v in context.items() if k in ("tenant", "scopes", "actor_id", "key_id")}
    assert _resolve(key, NOW + timedelta(days=9999))["statusCode"] == 200  # API keys do not expire


# --- the new scopes in the key API -------------------------------------------------------------------


def test_keys_take_the_part_2_scopes_only_when_the_creator_holds_them() -> None:
    admin = Principal(tenant="acme", key_id="k0", scopes=frozenset({"keys:manage", "alerts:manage"}))
    made = create_key_for(admin, FakeControl(), name="n", scopes=["alerts:manage"], actor_id=None, now=NOW)
    assert [s.value for s in made.record.scopes] == ["alerts:manage"]
    for scope in ("streams:manage", "tokens:create"):
        with pytest.raises(ForbiddenError):
            create_key_for(admin, FakeControl(), name="n", scopes=[scope], actor_id=None, now=NOW)


def test_an_actor_key_may_mint_tokens_but_nothing_else_new() -> None:
    admin = Principal(
        tenant="acme", key_id="k0", scopes=frozenset({"keys:manage", "events:read", "tokens:create"})
    )
    made = create_key_for(
        admin, FakeControl(), name="n", scopes=["events:read", "tokens:create"], actor_id="u1", now=NOW
    )
    assert [s.value for s in made.record.scopes] == ["events:read:self", "tokens:create"]
    with pytest.raises(InvalidInputError):
        create_key_for(admin, FakeControl(), name="n", scopes=["keys:manage"], actor_id="u1", now=NOW)


# --- exports of a restricted token (logic/exports.py, with fakes) -----------------------------------


class _ExportStore(FakeExports):
    def put_export(self, tenant: str, export: Export) -> None:
        self.exports[(tenant, export.id)] = export

    def list_exports(self, tenant: str, *, limit: int, after: str | None) -> tuple[list[Export], bool]:
        mine = sorted((e for (t, _), e in self.exports.items() if t == tenant), key=lambda e: e.id)
        mine = [e for e in mine if after is None or e.id > after]
        return mine[:limit], len(mine) > limit


def _export_ports(store: _ExportStore) -> ExportPorts:
    return ExportPorts(
        store=store,
        start_workflow=lambda _: None,
        presign=lambda key, name: f"https://files/{key}",
        delete_files=lambda _: None,
        verification_keys=lambda: [b"k"],
        base_url="https://api",
        remove_schedule=lambda *_: None,
    )


def test_a_restricted_token_export_carries_its_restriction_and_sees_only_its_kind() -> None:
    store = _ExportStore()
    ports = _export_ports(store)
    everything = create_export(
        "acme", ExportCreate(name="all", format="csv"), now=NOW, ports=ports, within=MINTER
    ).export
    assert everything.filters == ExportFilters()  # an unrestricted key's export is as asked
    body = ExportCreate.model_validate({"name": "a7", "format": "csv", "filters": {"outcome": "failure"}})
    mine = create_export(
        "acme", body, now=NOW + timedelta(seconds=1), ports=ports, within=TARGET_TOKEN
    ).export
    assert mine.filters == ExportFilters(outcome="failure", target_type="asset", target_id="7")
    assert store.exports[("acme", mine.id)].filters == mine.filters  # stored with the restriction
    conflicting = ExportCreate.model_validate(
        {"name": "a8", "format": "csv", "filters": {"target_type": "asset", "target_id": "8"}}
    )
    with pytest.raises(InvalidInputError):
        create_export("acme", conflicting, now=NOW, ports=ports, within=TARGET_TOKEN)

    page = list_exports("acme", limit=50, cursor=None, ports=ports, within=TARGET_TOKEN)
    assert [e.id for e in page.exports] == [mine.id]
    assert {e.id for e in list_exports("acme", limit=50, cursor=None, ports=ports).exports} == {
        everything.id,
        mine.id,
    }
    assert get_export("acme", mine.id, ports=ports, within=TARGET_TOKEN) == mine
    with pytest.raises(NotFoundError):
        get_export("acme", everything.id, ports=ports, within=TARGET_TOKEN)
    run = start_run("acme", mine.id, now=NOW, ports=ports, within=TARGET_TOKEN)
    with pytest.raises(NotFoundError):
        start_run("acme", everything.id, now=NOW, ports=ports, within=TARGET_TOKEN)
    with pytest.raises(NotFoundError):
        get_run("acme", everything.id, run.id, now=NOW, ports=ports, within=TARGET_TOKEN)
    with pytest.raises(NotFoundError):
        download_url("acme", everything.id, run.id, now=NOW, ports=ports, within=TARGET_TOKEN)
