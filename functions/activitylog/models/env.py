"""The functions' environment: one model per function, each variable declared once.

Every handler module validates its function's model when it loads (`activitylog.handlers.wiring.
require`), so a missing or malformed variable fails the cold start loudly instead of the first
request that happens to need it. A function's model is composed of the parts below; the composition
root reads the part an adapter needs (the events table's name, the bucket's, ...), so one process
that serves several functions (local mode) needs each variable once, too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class Env(BaseModel):
    """The base of every environment model: reads the variables it names, ignores the rest."""

    # Built on first validation: a function validates its own model only (the composition root reads
    # the parts an adapter needs from it), so the other models never cost their schema at cold start.
    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)


# --- parts (one per resource a function is given) --------------------------------------------------


class ControlEnv(Env):
    control_table: str = Field(alias="CONTROL_TABLE", min_length=1)


class EventsEnv(Env):
    events_table: str = Field(alias="EVENTS_TABLE", min_length=1)


class IdempotencyEnv(Env):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=1)


class SenderEnv(Env):
    """The verified SES sender of notification emails (quota warnings, export notices)."""

    sender_email: str = Field(alias="SENDER_EMAIL", min_length=1)


class BucketEnv(Env):
    exports_bucket: str = Field(alias="EXPORTS_BUCKET", min_length=1)


class LinksEnv(Env):
    """What emailed download links are made of."""

    signing_secret: str = Field(alias="DOWNLOAD_SIGNING_SECRET", min_length=1)
    # https://<api id>.execute-api.<region>.<suffix>/<stage> (local mode: the local gateway)
    api_base_url: str = Field(alias="API_BASE_URL", min_length=1)


class StateMachineEnv(Env):
    """The export workflow that runs are started on."""

    state_machine: str = Field(alias="EXPORT_STATE_MACHINE", min_length=1)


class SchedulerEnv(Env):
    """Where export schedules live and what they invoke."""

    schedule_group: str = Field(alias="SCHEDULE_GROUP", min_length=1)
    scheduler_role_arn: str = Field(alias="SCHEDULER_ROLE_ARN", min_length=1)  # may invoke Fire only
    schedule_target_arn: str = Field(alias="SCHEDULE_TARGET_ARN", min_length=1)  # the Fire function
    schedule_dlq_arn: str = Field(alias="SCHEDULE_DLQ_ARN", min_length=1)


# --- one model per function (docs/components.md, "Environment") ------------------------------------


class AuthorizerEnv(ControlEnv):
    pass


class IngestEnv(EventsEnv, ControlEnv, IdempotencyEnv, SenderEnv):
    pass


class QueryEnv(EventsEnv, ControlEnv):
    pass


class AdminEnv(EventsEnv, ControlEnv):
    pass


class DocsEnv(Env):
    """The Docs function reads nothing."""


class ExportsEnv(EventsEnv, ControlEnv, BucketEnv, LinksEnv, StateMachineEnv, SchedulerEnv):
    """The exports API: definitions, runs, downloads, schedules (and its audit events)."""


class WorkflowEnv(EventsEnv, ControlEnv, BucketEnv):
    """The workflow's steps: plan, slice, assemble, fail, and the watchdog."""


class NotifyEnv(ControlEnv, LinksEnv, SenderEnv):
    pass


class FireEnv(ControlEnv, StateMachineEnv):
    """The target of every export schedule."""


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or malformed: a deployment defect, never a request's."""


E = TypeVar("E", bound=Env)


def parse_env(model: type[E], environ: Mapping[str, str]) -> E:
    try:
        return model.model_validate(dict(environ))
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors(include_input=False)
        )
        raise ConfigurationError(
            f"{model.__name__}: the function's environment is not valid ({problems})"
        ) from None
