"""API models of /v1/api-keys."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from activitylog.models.auth import Scope
from activitylog.models.text import Timestamp, Unicode

KeyName = Annotated[str, StringConstraints(min_length=1, max_length=100), Unicode]
ActorId = Annotated[str, StringConstraints(min_length=1, max_length=256), Unicode]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: KeyName
    scopes: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        min_length=1, max_length=10, description=f"any of: {', '.join(s.value for s in Scope)}"
    )
    actor_id: ActorId | None = Field(
        default=None, description="restrict the key to this actor's own events (read-only events:read:self)"
    )


class ApiKeyView(BaseModel):
    """A key as listed: never the secret, only a short prefix to recognise it."""

    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    actor_id: str | None
    created_at: Timestamp
    last_used_at: Timestamp | None


class ApiKeyCreated(BaseModel):
    """The answer to POST /v1/api-keys: the only time `key` is shown."""

    id: str
    key: str
    name: str
    scopes: list[Scope]
    actor_id: str | None
    created_at: Timestamp


class ApiKeyPage(BaseModel):
    api_keys: list[ApiKeyView]
    next_cursor: str | None
