"""The service's CloudWatch metrics: every name, its unit, and the one Powertools `Metrics` instance.

Metrics are Embedded Metric Format lines in the function's log (no API call, no extra latency):
CloudWatch extracts them in namespace `POWERTOOLS_METRICS_NAMESPACE` (`ActivityLog`) with the one
dimension `service` (`POWERTOOLS_SERVICE_NAME`, `activitylog`). No tenant id is ever a dimension
(thousands of tenants would be thousands of metrics): the tenant is in the handler's log line.
The alarms and the dashboard (infra) are built on exactly the names below; logic returns what
happened and the handlers count it here.

A handler wrapped in `flushed` writes its metrics once at the end of each invocation, and nothing
(no EMF line, no Powertools "no metrics" warning) when it counted nothing. Local mode sets
`POWERTOOLS_METRICS_DISABLED` (docs/components.md, "Metrics").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from activitylog.handlers import wiring
from activitylog.models.env import MetricsEnv, PowertoolsEnv

# --- Ingest ----------------------------------------------------------------------------------------
EVENTS_ACCEPTED = "EventsAccepted"  # Count: events stored (or already stored: a re-sent id)
EVENTS_SKIPPED = "EventsSkipped"  # Count: not stored by the tenant's logging settings
EVENTS_REJECTED = "EventsRejected"  # Count: invalid events (the client's fault)
EVENTS_FAILED = "EventsFailed"  # Count: valid events the store could not take (503 per event)
QUOTA_REFUSALS = "QuotaRefusals"  # Count: requests refused with 429 quota_exceeded
# --- export workflow (Assemble; Fail and the watchdog) ---------------------------------------------
EXPORT_RUNS_SUCCEEDED = "ExportRunsSucceeded"  # Count
EXPORT_ROWS = "ExportRows"  # Count: rows of a succeeded run's file
EXPORT_BYTES = "ExportBytes"  # Bytes: size of a succeeded run's file (as stored, compressed or not)
EXPORT_DURATION = "ExportDuration"  # Seconds: reading start (after a schedule's settle) to file ready
EXPORT_RUNS_FAILED = "ExportRunsFailed"  # Count: runs marked failed (by Fail or by the watchdog)
# --- email (Notify: run outcomes; Ingest: quota warnings) ------------------------------------------
EMAILS_SENT = "EmailsSent"  # Count: messages the mail service accepted
EMAILS_FAILED = "EmailsFailed"  # Count: messages the mail service refused (the run keeps its status)
EMAILS_SKIPPED = "EmailsSkipped"  # Count: run emails not sent, the tenant's daily cap reached
# --- ExportFire, Authorizer ------------------------------------------------------------------------
SCHEDULE_FIRINGS = "ScheduleFirings"  # Count: invocations by EventBridge Scheduler (any outcome)
AUTHORIZER_DENIALS = "AuthorizerDenials"  # Count: requests refused 401 by the authorizer
# --- reports (RollupWorker) ------------------------------------------------------------------------
ROLLUP_HOURS = "RollupHoursComputed"  # Count: hours of a tenant (or a filter) counted and stored

UNITS: dict[str, MetricUnit] = {
    EVENTS_ACCEPTED: MetricUnit.Count,
    EVENTS_SKIPPED: MetricUnit.Count,
    EVENTS_REJECTED: MetricUnit.Count,
    EVENTS_FAILED: MetricUnit.Count,
    QUOTA_REFUSALS: MetricUnit.Count,
    EXPORT_RUNS_SUCCEEDED: MetricUnit.Count,
    EXPORT_ROWS: MetricUnit.Count,
    EXPORT_BYTES: MetricUnit.Bytes,
    EXPORT_DURATION: MetricUnit.Seconds,
    EXPORT_RUNS_FAILED: MetricUnit.Count,
    EMAILS_SENT: MetricUnit.Count,
    EMAILS_FAILED: MetricUnit.Count,
    EMAILS_SKIPPED: MetricUnit.Count,
    SCHEDULE_FIRINGS: MetricUnit.Count,
    AUTHORIZER_DENIALS: MetricUnit.Count,
    ROLLUP_HOURS: MetricUnit.Count,
}
NAMES = frozenset(UNITS)  # what the alarms and the dashboard may refer to
SERVICE_DIMENSION = "service"  # the only dimension (its value: POWERTOOLS_SERVICE_NAME)

# Powertools keeps the metric set at class level (shared by every instance): one instance is enough.
# Its namespace and service are set from the function's validated environment when it flushes.
metrics = Metrics()

H = TypeVar("H", bound=Callable[..., Any])


def add(name: str, value: float = 1) -> None:
    """Count `value` of metric `name` (one of the names above) in this invocation."""
    metrics.add_metric(name=name, unit=UNITS[name], value=value)


def flush() -> None:
    """Write this invocation's metrics as one EMF line, if it counted any; then start afresh.

    Powertools warns on an empty flush (and, when disabled, keeps the set): neither is wanted."""
    try:
        if metrics.metric_set:
            container = wiring.container()
            metrics.provider.namespace = container.env(MetricsEnv).metrics_namespace
            metrics.provider.service = container.env(PowertoolsEnv).service_name
            metrics.flush_metrics()
    finally:
        metrics.clear_metrics()


def flushed(handler: H) -> H:
    """The Lambda handler, writing its metrics when it returns or raises."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            flush()

    return wrapper  # type: ignore[return-value]
