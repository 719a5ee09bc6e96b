"""Principals, scopes and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from activitylog.models.text import Timestamp

TENANT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
TenantId = Annotated[str, Field(pattern=TENANT_PATTERN)]


class Scope(StrEnum):
    EVENTS_WRITE = "events:write"
    EVENTS_READ = "events:read"
    EVENTS_READ_SELF = "events:read:self"
    EXPORTS_MANAGE = "exports:manage"
    LOGGING_MANAGE = "logging:manage"
    KEYS_MANAGE = "keys:manage"
    # Part 2 (API.md): alerts, streaming destinations, minting viewer tokens.
    ALERTS_MANAGE = "alerts:manage"
    STREAMS_MANAGE = "streams:manage"
    TOKENS_CREATE = "tokens:create"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One target (`type` + `id`): a viewer token's restriction to one resource's history."""

    type: str
    id: str


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved by the authorizer, never taken from the request.

    `actor_id` and `target` restrict what it sees (every read, count and export is narrowed by them:
    logic/query_plan.py `visible_filters`); `expires_at` is set for a viewer token (`token`), which
    stops working at that instant whatever a cache says (handlers/http.py checks it again).
    """

    tenant: str
    key_id: str
    scopes: frozenset[str]
    actor_id: str | None = None
    target: TargetRef | None = None
    expires_at: datetime | None = None
    token: bool = False  # a viewer token (key_id is then the token's id)

    def can(self, scope: Scope) -> bool:
        return scope.value in self.scopes

    @property
    def restricted(self) -> bool:
        return self.actor_id is not None or self.target is not None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class ApiKeyRecord(BaseModel):
    """What is stored for a key: the hash of the secret, never the secret."""

    id: str
    tenant: TenantId
    secret_hash: str
    prefix: str
    name: str
    scopes: list[Scope]
    actor_id: str | None = None
    created_at: Timestamp
    revoked_at: Timestamp | None = None
    last_used_at: Timestamp | None = None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    id: str
    key: str
    prefix: str
    record: ApiKeyRecord
    created_at: datetime
