"""The one event filter: what `GET /v1/events` takes as query parameters and what every stored
definition that selects events holds (exports today; destinations, alerts, reports and viewer-token
restrictions in Part 2). One model, one set of rules, one conversion to a query plan
(`activitylog.logic.query_plan.plan`).

Where a filter comes from decides only how a broken rule is answered: in a query string it is the
URL that is wrong (400 `bad_request`), in a JSON body the body's schema (422 `validation_error`),
as the API has always answered (docs/components.md, "One filter model").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    model_validator,
)
from typing_extensions import TypeAliasType

from activitylog.models.patterns import ACTION_PATTERN
from activitylog.models.text import Timestamp, Unicode

# `user.login` exactly, or every action below a prefix: `user.*`.
ACTION_FILTER = ACTION_PATTERN[:-1] + r"(\.\*)?$"
MAX_ACTIONS = 20
ACTION_FILTER_LENGTH = 102
ACTOR_ID_LENGTH = 256
TARGET_TYPE_LENGTH = 64
TARGET_ID_LENGTH = 256
TEXT_LENGTH = 200

# Named aliases: the OpenAPI document gives each enum one schema of its name (`Outcome`), which
# generated clients turn into one enum each instead of one per place it is used.
Outcome = TypeAliasType("Outcome", Literal["success", "failure"])
Order = TypeAliasType("Order", Literal["desc", "asc"])
ActionFilter = Annotated[str, StringConstraints(max_length=ACTION_FILTER_LENGTH, pattern=ACTION_FILTER)]


ActorId = Annotated[str, StringConstraints(min_length=1, max_length=ACTOR_ID_LENGTH), Unicode]
TargetType = Annotated[str, StringConstraints(min_length=1, max_length=TARGET_TYPE_LENGTH), Unicode]
TargetId = Annotated[str, StringConstraints(min_length=1, max_length=TARGET_ID_LENGTH), Unicode]
SearchText = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_LENGTH), Unicode]


def _distinct(actions: list[str]) -> list[str]:
    return list(dict.fromkeys(actions))


class EventFilter(BaseModel):
    """Every field optional; all that are set must match (actions: any of them)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True)

    actions: Annotated[list[ActionFilter], AfterValidator(_distinct)] = Field(
        default_factory=list, max_length=MAX_ACTIONS
    )
    actor_id: ActorId | None = None
    target_type: TargetType | None = None
    target_id: TargetId | None = None
    outcome: Outcome | None = None
    q: SearchText | None = None
    from_: Timestamp | None = Field(default=None, alias="from")  # inclusive
    to: Timestamp | None = None  # exclusive
    # A second target every event must also have: a viewer token's target when the request names
    # another one (a field names one target). Set only by `within`, never read from input, never
    # serialized: a stored filter (an export's) never has one (logic/exports.py refuses it).
    _also_target: tuple[str, str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> EventFilter:
        if (self.target_type is None) != (self.target_id is None):
            raise ValueError("target_type and target_id go together")
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("`from` must be earlier than `to`")
        return self

    @property
    def also_target(self) -> tuple[str, str] | None:
        return self._also_target

    def within(
        self, *, actor_id: str | None = None, target_type: str | None = None, target_id: str | None = None
    ) -> EventFilter | None:
        """This filter narrowed to a restriction (a key's actor, a viewer token's actor and target);
        None when nothing can match both (another actor), never a wider filter.

        Another target than the restriction's means events that have both: the filter keeps the
        asked target and the restriction's becomes `also_target` (checked on every event)."""
        update: dict[str, str] = {}
        also: tuple[str, str] | None = None
        if actor_id is not None:
            if self.actor_id is not None and self.actor_id != actor_id:
                return None
            update["actor_id"] = actor_id
        if target_type is not None and target_id is not None:
            restriction = (target_type, target_id)
            if self.target_type is None:
                update |= {"target_type": target_type, "target_id": target_id}
            elif (self.target_type, self.target_id) != restriction:
                if self._also_target not in (None, restriction):
                    return None  # a third target: not expressible, so nothing (never more)
                also = restriction
        if not update and also is None:
            return self
        narrowed = self.model_copy(update=update)
        if also is not None:
            narrowed._also_target = also
        return narrowed
