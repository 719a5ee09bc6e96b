"""Viewer tokens (API.md Part 2): the request and answer of POST /v1/viewer-tokens, the stored record."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from activitylog.models.auth import Scope
from activitylog.models.filters import ActorId, TargetId, TargetType
from activitylog.models.text import Timestamp, Unicode

# What a token may carry: reading and exporting, never writing, settings, keys or more tokens.
TOKEN_SCOPES = (Scope.EVENTS_READ, Scope.EVENTS_READ_SELF, Scope.EXPORTS_MANAGE)
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 86_400
DEFAULT_TTL_SECONDS = 900

Label = Annotated[str, StringConstraints(min_length=1, max_length=200), Unicode]


class TokenTarget(BaseModel):
    """The one resource whose history the token shows (events that have this target)."""

    model_config = ConfigDict(extra="forbid")

    type: TargetType
    id: TargetId


class ViewerTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        min_length=1,
        max_length=10,
        description="a subset of the minting key's scopes and of: "
        + ", ".join(s.value for s in TOKEN_SCOPES),
    )
    actor_id: ActorId | None = Field(
        default=None,
        description="only this actor's events (as events:read:self); "
        "a key with an actor_id mints only its own",
    )
    target: TokenTarget | None = Field(default=None, description="only events that have this target")
    ttl_seconds: Annotated[StrictInt, Field(ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS)] = DEFAULT_TTL_SECONDS
    label: Label | None = Field(default=None, description="what the token is for (kept in the audit trail)")


class ViewerTokenCreated(BaseModel):
    """The answer of POST /v1/viewer-tokens: the only time `token` is shown."""

    token: str
    expires_at: Timestamp
    scopes: list[Scope]
    actor_id: str | None
    target: TokenTarget | None


class ViewerTokenRecord(BaseModel):
    """What is stored for a token: the hash of its secret, never the secret (logic/viewer_tokens.py)."""

    id: str
    tenant: str
    secret_hash: str
    scopes: list[Scope]
    actor_id: str | None = None
    target: TokenTarget | None = None
    label: str | None = None
    created_by: str  # the minting key's id
    created_at: Timestamp
    expires_at: Timestamp
