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


class PowertoolsEnv(Env):
    """Read by Powertools itself (Logger, Metrics): in every function's model, with the defaults the
    code would use without them."""

    service_name: str = Field(default="activitylog", alias="POWERTOOLS_SERVICE_NAME", min_length=1)
    log_level: str = Field(default="INFO", alias="POWERTOOLS_LOG_LEVEL", min_length=1)


class MetricsEnv(Env):
    """The CloudWatch namespace of the EMF metrics (handlers/metrics.py): only functions that emit."""

    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1)


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


class DeliveryQueueEnv(Env):
    """The streaming deliveries' queue (docs/streaming.md): the router and the API enqueue, the
    deliverer enqueues retries now and replays' next steps."""

    delivery_queue_url: str = Field(alias="DELIVERY_QUEUE_URL", min_length=1)


class AlertQueueEnv(Env):
    """The alert-work queue (SQS): the router's messages to the alert evaluator (docs/alerts.md)."""

    alert_queue_url: str = Field(alias="ALERT_QUEUE_URL", min_length=1)


class RollupQueueEnv(Env):
    """The rollup-work queue (SQS): hours to count for reports (docs/reports.md), from the router,
    the reports API (a report that ran out of time) and the worker itself (an hour not yet due)."""

    rollup_queue_url: str = Field(alias="ROLLUP_QUEUE_URL", min_length=1)


class ConsoleEnv(Env):
    """The web console's address, for links in emails (the CloudFront URL; local mode's /console/)."""

    console_url: str = Field(alias="CONSOLE_URL", min_length=1)


class WebhookEnv(Env):
    """Local mode only sets it (ops/activitylog_ops/local/service.py): webhooks may then point at
    `http://127.0.0.1:<port>` and `http://localhost:<port>` (API.md). Never set in a template."""

    webhook_allow_loopback: bool = Field(default=False, alias="WEBHOOK_ALLOW_LOOPBACK")


# --- one model per function (docs/components.md, "Environment") ------------------------------------
# Each lists exactly what its function's code path reads: the template gives a function exactly the
# variables of its model (tests/infrastructure/test_function_env.py), nothing "just in case".


class ThrottleEnv(Env):
    """Whose API Gateway key names the tenant (logic/throttle.py): the API's stack name."""

    throttle_namespace: str = Field(alias="THROTTLE_NAMESPACE", min_length=1)


class AuthorizerEnv(ControlEnv, ThrottleEnv, MetricsEnv, PowertoolsEnv):
    pass


class IngestEnv(EventsEnv, ControlEnv, IdempotencyEnv, SenderEnv, MetricsEnv, PowertoolsEnv):
    pass


class QueryEnv(EventsEnv, ControlEnv, PowertoolsEnv):
    pass


class AdminEnv(EventsEnv, ControlEnv, PowertoolsEnv):
    pass


class DocsEnv(PowertoolsEnv):
    """The Docs function reads no resource."""


class ExportsEnv(EventsEnv, ControlEnv, BucketEnv, LinksEnv, StateMachineEnv, SchedulerEnv, PowertoolsEnv):
    """The exports API: definitions, runs, downloads, schedules (and its audit events)."""


# The workflow's steps: each reaches only what `wiring.workflow_ports` hands its code path (the
# events table through the queries of plan and slice, the bucket through the files of the others).


class PlanEnv(EventsEnv, ControlEnv, PowertoolsEnv):
    """Plan: the run's time range (the tenant's earliest event) and slices; writes no file."""


class SliceEnv(EventsEnv, ControlEnv, BucketEnv, PowertoolsEnv):
    """Slice: one time slice's events into a temporary object."""


class AssembleEnv(ControlEnv, BucketEnv, MetricsEnv, PowertoolsEnv):
    """Assemble: the slices into the run's file; reads no event."""


class FailEnv(ControlEnv, BucketEnv, MetricsEnv, PowertoolsEnv):
    """Fail (the Catch target) and the watchdog: the run failed, its partial objects removed."""


class WatchdogEnv(FailEnv):
    pass


class NotifyEnv(ControlEnv, LinksEnv, SenderEnv, MetricsEnv, PowertoolsEnv):
    """Notify: the outcome email, the daily mail cap (control table), the download link's key."""


class FireEnv(ControlEnv, StateMachineEnv, MetricsEnv, PowertoolsEnv):
    """The target of every export schedule."""


# Streaming (docs/streaming.md).


class StreamRouterEnv(ControlEnv, DeliveryQueueEnv, AlertQueueEnv, RollupQueueEnv, MetricsEnv, PowertoolsEnv):
    """The router: the events table's stream in, destinations and alerts (control table) read,
    deliveries, alert work and rollup work out."""


class DelivererEnv(EventsEnv, ControlEnv, DeliveryQueueEnv, SenderEnv, WebhookEnv, MetricsEnv, PowertoolsEnv):
    """The deliverer: events read by id (and by time for replays), the ledger, the disable notice."""


class DestinationsEnv(EventsEnv, ControlEnv, DeliveryQueueEnv, WebhookEnv, PowertoolsEnv):
    """The /v1/destinations API: definitions, tests, retries, replays (and their audit events)."""


# Alerts (docs/alerts.md).


class AlertsEnv(EventsEnv, ControlEnv, PowertoolsEnv):
    """The /v1/alerts API: definitions, firings, preview (reads events; writes audit events)."""


class AlertEvaluatorEnv(
    EventsEnv, ControlEnv, DeliveryQueueEnv, SenderEnv, ConsoleEnv, MetricsEnv, PowertoolsEnv
):
    """The evaluator: alert states and firings (control table), the firing's event and email, its
    deliveries (ledger and deliveries queue), the firing's events read by id for the email."""


# Reports (docs/reports.md).


class ReportsEnv(EventsEnv, ControlEnv, RollupQueueEnv, PowertoolsEnv):
    """The /v1/reports API: rollups (control table) and events read; background rollup work out."""


class RollupWorkerEnv(EventsEnv, ControlEnv, RollupQueueEnv, MetricsEnv, PowertoolsEnv):
    """The rollup worker: an hour's events read, its rollup written; work not yet due sent back."""


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
