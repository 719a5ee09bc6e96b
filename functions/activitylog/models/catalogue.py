"""The catalogue: the actions, actors and targets that appear in a tenant's log (API.md Part 2,
"Catalogue"), as the API answers them and as ingestion and the store pass them to each other.

An entry is known by its key (an action name; an actor id; a target's type and id) and carries the
data that "latest seen wins" applies to (an actor's type, name and email; a target's name), when
its events were last seen and until when it is kept (docs/data-model.md, "Catalogue").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from activitylog.models.text import Timestamp

Kind = Literal["action", "actor", "target"]
QUERY_LENGTH = 200  # `q`: a prefix typed into a picker
CATALOGUE_PAGE = 50  # default `limit`, as every list of the API
MAX_CATALOGUE_PAGE = 200


def fold(text: str) -> str:
    """The case-insensitive form of a search term or a value (the same folding as `q` of events)."""
    return text.casefold()


@dataclass(frozen=True, slots=True)
class EntryKey:
    kind: Kind
    id: str  # the action name, the actor id, the target id
    type: str = ""  # a target's type ("" for actions and actors)


@dataclass(frozen=True, slots=True)
class EntryData:
    """What the latest event carrying the entry says (None: absent)."""

    type: str | None = None  # an actor's type
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    key: EntryKey
    data: EntryData
    seen_ms: int  # occurred time (epoch ms) of the latest event recorded for it (docs: precision)
    expires: int  # epoch s: when the latest event recorded for it expires
    until: int  # epoch s: the items' TTL (a while after `expires`: logic/catalogue.py, REFRESH)
    first_ms: int | None = None  # actions: when first recorded (epoch ms)

    def terms(self) -> tuple[str, ...]:
        """The values a prefix search matches: id, name and email of an actor; id and name of a
        target; the name of an action."""
        values = (self.key.id, self.data.name, self.data.email if self.key.kind == "actor" else None)
        return tuple(v for v in values if v)


@dataclass(frozen=True, slots=True)
class Sighting:
    """What one accepted event tells the catalogue (made while the event is validated)."""

    action: str
    actor: tuple[str, str, str | None, str | None]  # id, type, name, email
    targets: tuple[tuple[str, str, str | None], ...]  # type, id, name
    occurred_ms: int
    expires: int  # the event's TTL, epoch s


# --- API answers ----------------------------------------------------------------------------------


class ActionEntry(BaseModel):
    action: str
    first_seen_at: Timestamp


class ActionList(BaseModel):
    actions: list[ActionEntry]


class ActorEntry(BaseModel):
    id: str
    type: str
    name: str | None
    email: str | None
    last_seen_at: Timestamp


class ActorPage(BaseModel):
    actors: list[ActorEntry]
    next_cursor: str | None


class TargetEntry(BaseModel):
    type: str
    id: str
    name: str | None
    last_seen_at: Timestamp


class TargetPage(BaseModel):
    targets: list[TargetEntry]
    next_cursor: str | None
