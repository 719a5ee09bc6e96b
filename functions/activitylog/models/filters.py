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

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
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

    @model_validator(mode="after")
    def _consistent(self) -> EventFilter:
        if (self.target_type is None) != (self.target_id is None):
            raise ValueError("target_type and target_id go together")
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("`from` must be earlier than `to`")
        return self

    def within(
        self, *, actor_id: str | None = None, target_type: str | None = None, target_id: str | None = None
    ) -> EventFilter | None:
        """This filter narrowed to a restriction (a key's actor, a viewer token's actor and target);
        None when the two ask for different things, so that nothing can match (never a wider answer).

        The filter names one target: a request for another target than the restriction's gets
        nothing, also for an event that carries both (docs/security.md, "Viewer tokens")."""
        update: dict[str, str] = {}
        if actor_id is not None:
            if self.actor_id is not None and self.actor_id != actor_id:
                return None
            update["actor_id"] = actor_id
        if target_type is not None and target_id is not None:
            asked = (self.target_type, self.target_id)
            if self.target_type is not None and asked != (target_type, target_id):
                return None
            update |= {"target_type": target_type, "target_id": target_id}
        return self.model_copy(update=update) if update else self
