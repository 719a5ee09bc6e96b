"""What each handler counts (handlers/metrics.py), read back from the EMF line it writes, and the
environment each function is given (models/env.py, docs/components.md "Environment")."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from activitylog.handlers import metrics, wiring
from activitylog.models.exports import RunRecord
from activitylog.models.schedules import FireResult
from activitylog.models.settings import TenantLimits, TenantSettings

from tests.fakes import FakeControl, FakeEventStore, FakeExports
from tests.unit.test_notify_and_metrics import ENV, REFS, Context, emitted, stores

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


class NoFiles:
    def delete_prefix(self, prefix: str) -> None:
        pass


@pytest.fixture
def container() -> Iterator[wiring.Container]:
    made = wiring.Container(environ={**ENV, "IDEMPOTENCY_TABLE": "idem"}).override(
        export_store=stores("running"), control=FakeControl(), events=FakeEventStore(), files=NoFiles()
    )
    before = wiring.use(made)
    try:
        yield made
    finally:
        wiring.use(before)


def handler_of(name: str) -> Any:
    return importlib.import_module(f"activitylog.handlers.{name}").handler


def only_blob(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    [blob] = emitted(capsys.readouterr().out)
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    return blob


def test_ingest_counts_each_outcome_and_a_quota_refusal(
    container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    from activitylog.handlers.routes import ingest as route
    from activitylog.models.errors import QuotaExceededError

    control: FakeControl = container.control  # type: ignore[assignment]
    control.settings["acme"] = TenantSettings(limits=TenantLimits(monthly_quota=2))
    good = {"action": "user.login", "actor": {"id": "u1"}}
    route._run({"tenant": "acme", "events": [good, {**good, "id": "x"}, {"action": "BAD"}]})
    metrics.flush()
    blob = only_blob(capsys)
    assert (blob[metrics.EVENTS_ACCEPTED], blob[metrics.EVENTS_REJECTED]) == ([2.0], [1.0])
    assert blob[metrics.EVENTS_SKIPPED] == [0.0] and blob[metrics.EVENTS_FAILED] == [0.0]
    with pytest.raises(QuotaExceededError):
        route._run({"tenant": "acme", "events": [good]})
    metrics.flush()
    blob = only_blob(capsys)
    assert blob[metrics.QUOTA_REFUSALS] == [1.0] and metrics.EVENTS_ACCEPTED not in blob


def test_assemble_counts_the_run_its_rows_bytes_and_duration(
    container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    done = RunRecord(
        id="R1",
        export_id="E1",
        status="succeeded",
        created_at=NOW - timedelta(minutes=30),
        started_at=NOW - timedelta(minutes=20),
        not_before=NOW - timedelta(minutes=5),
        finished_at=NOW,
        row_count=42,
        bytes=4096,
    )
    handler = handler_of("export_assemble")
    with mock.patch("activitylog.handlers.export_assemble.assemble_run", return_value=done):
        capsys.readouterr()
        handler({**REFS.model_dump(), "slice_results": []}, Context())
    blob = only_blob(capsys)
    assert blob[metrics.EXPORT_RUNS_SUCCEEDED] == [1.0]
    assert (blob[metrics.EXPORT_ROWS], blob[metrics.EXPORT_BYTES]) == ([42.0], [4096.0])
    assert blob[metrics.EXPORT_DURATION] == [300.0]  # from the end of the settle wait, not from the start


@pytest.mark.parametrize("name", ["export_fail", "export_watchdog"])
def test_a_run_marked_failed_is_counted_once(
    container: wiring.Container, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    handler = handler_of(name)
    event: dict[str, Any] = (
        {**REFS.model_dump(), "error": {"Error": "States.Timeout"}}
        if name == "export_fail"
        else {"detail": {"status": "TIMED_OUT", "input": json.dumps(REFS.model_dump())}}
    )
    capsys.readouterr()
    handler(event, Context())
    assert only_blob(capsys)[metrics.EXPORT_RUNS_FAILED] == [1.0]
    handler(event, Context())  # already failed: nothing changes, nothing is counted, nothing written
    assert emitted(capsys.readouterr().out) == []


def test_a_schedule_firing_is_counted(
    container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    container.override(schedule_store=object())  # `fire` itself is replaced: only its count matters here
    handler = handler_of("export_fire")
    firing = {"tenant": "acme", "export_id": "E1", "scheduled_time": "2026-11-23T10:00:00Z"}
    with mock.patch("activitylog.handlers.export_fire.fire", return_value=FireResult(outcome="skipped")):
        capsys.readouterr()
        handler(firing, Context())
    assert only_blob(capsys)[metrics.SCHEDULE_FIRINGS] == [1.0]


def test_an_authorizer_denial_is_counted(
    container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    container.override(api_keys=FakeControl())
    handler = handler_of("authorizer")
    capsys.readouterr()
    with pytest.raises(Exception, match="Unauthorized"):
        handler({"authorizationToken": "Bearer alk_nope", "methodArn": "arn:x"}, Context())
    assert only_blob(capsys)[metrics.AUTHORIZER_DENIALS] == [1.0]


# --- each function's environment: exactly what its code reads (the template gives exactly these) ------

COMMON = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
METRICS = {"POWERTOOLS_METRICS_NAMESPACE"}
LINKS = {"DOWNLOAD_SIGNING_SECRET", "API_BASE_URL"}
SCHEDULER = {"SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "SCHEDULE_TARGET_ARN", "SCHEDULE_DLQ_ARN"}
EXPECTED = {
    "authorizer": COMMON | METRICS | {"CONTROL_TABLE", "THROTTLE_NAMESPACE"},
    "ingest": COMMON | METRICS | {"EVENTS_TABLE", "CONTROL_TABLE", "IDEMPOTENCY_TABLE", "SENDER_EMAIL"},
    "query": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE"},
    "admin": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE"},
    "docs": COMMON,
    "exports": COMMON
    | {"EVENTS_TABLE", "CONTROL_TABLE", "EXPORTS_BUCKET", "EXPORT_STATE_MACHINE"}
    | LINKS
    | SCHEDULER,
    "export_plan": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE"},
    "export_slice": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE", "EXPORTS_BUCKET"},
    "export_assemble": COMMON | METRICS | {"CONTROL_TABLE", "EXPORTS_BUCKET"},
    "export_fail": COMMON | METRICS | {"CONTROL_TABLE", "EXPORTS_BUCKET"},
    "export_watchdog": COMMON | METRICS | {"CONTROL_TABLE", "EXPORTS_BUCKET"},
    "export_notify": COMMON | METRICS | {"CONTROL_TABLE", "SENDER_EMAIL"} | LINKS,
    "export_fire": COMMON | METRICS | {"CONTROL_TABLE", "EXPORT_STATE_MACHINE"},
    "stream_router": COMMON
    | METRICS
    | {"CONTROL_TABLE", "DELIVERY_QUEUE_URL", "ALERT_QUEUE_URL", "ROLLUP_QUEUE_URL"},
    "rollup_worker": COMMON | METRICS | {"EVENTS_TABLE", "CONTROL_TABLE", "ROLLUP_QUEUE_URL"},
    "reports": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE", "ROLLUP_QUEUE_URL"},
    "deliverer": COMMON
    | METRICS
    | {"EVENTS_TABLE", "CONTROL_TABLE", "DELIVERY_QUEUE_URL", "SENDER_EMAIL", "WEBHOOK_ALLOW_LOOPBACK"},
    "destinations": COMMON
    | {"EVENTS_TABLE", "CONTROL_TABLE", "DELIVERY_QUEUE_URL", "WEBHOOK_ALLOW_LOOPBACK"},
    "alerts": COMMON | {"EVENTS_TABLE", "CONTROL_TABLE"},
    "alert_evaluator": COMMON
    | METRICS
    | {"EVENTS_TABLE", "CONTROL_TABLE", "DELIVERY_QUEUE_URL", "SENDER_EMAIL", "CONSOLE_URL"},
}


def variables(model: Any) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_each_function_declares_exactly_the_variables_it_reads(module: str) -> None:
    environ = {name: "x" for names in EXPECTED.values() for name in names} | {
        "WEBHOOK_ALLOW_LOOPBACK": "false"
    }
    before = wiring.use(wiring.Container(environ=environ))
    try:
        loaded = importlib.import_module(f"activitylog.handlers.{module}")
    finally:
        wiring.use(before)
    assert variables(loaded.ENVIRONMENT) == EXPECTED[module]


def test_a_workflow_step_runs_without_the_variables_it_does_not_read() -> None:
    """Plan reaches the events table (the tenant's earliest event) and never the bucket; assemble,
    fail and the watchdog the bucket and never the events table: their ports are made lazily."""
    from activitylog.models.env import AssembleEnv, ConfigurationError, PlanEnv

    plan_only = {"CONTROL_TABLE": "c", "EVENTS_TABLE": "e"}
    c = wiring.Container(environ=plan_only).override(export_store=FakeExports(), control=FakeControl())
    c.env(PlanEnv)
    ports = c.workflow_ports()
    with pytest.raises(ConfigurationError):  # the bucket is not Plan's: asking for it fails loudly
        ports.files.delete_prefix("tmp/")
    assemble_only = {"CONTROL_TABLE": "c", "EXPORTS_BUCKET": "b", "POWERTOOLS_METRICS_NAMESPACE": "n"}
    c = wiring.Container(environ=assemble_only).override(export_store=FakeExports(), control=FakeControl())
    c.env(AssembleEnv)
    ports = c.workflow_ports()  # builds without EVENTS_TABLE
    with pytest.raises(ConfigurationError):
        ports.query("acme")


def test_the_authorizer_names_the_tenants_rate_limit_key(container: wiring.Container) -> None:
    """API Gateway throttles on `usageIdentifierKey` (issue 18, item 1): the tenant's own key."""
    from activitylog.logic.keys import create_api_key
    from activitylog.logic.throttle import usage_key_value

    keys = FakeControl()
    container.override(api_keys=keys)
    created = create_api_key(
        keys, tenant="acme", scopes=["events:read"], actor_id=None, name="", now=datetime.now(UTC)
    )
    other = create_api_key(
        keys, tenant="other", scopes=["events:read"], actor_id=None, name="", now=datetime.now(UTC)
    )
    handler = handler_of("authorizer")
    answers = [
        handler(
            {
                "authorizationToken": f"Bearer {k.key}",
                "methodArn": "arn:aws:execute-api:r:a:api/prod/GET/v1/x",
            },
            Context(),
        )
        for k in (created, other)
    ]
    assert answers[0]["usageIdentifierKey"] == usage_key_value(ENV["THROTTLE_NAMESPACE"], "acme")
    assert answers[1]["usageIdentifierKey"] == usage_key_value(ENV["THROTTLE_NAMESPACE"], "other")
