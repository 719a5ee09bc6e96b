"""The run's email and what becomes of it (`notification`), the daily mail cap, the EMF metrics the
handlers write, and the signing key's rotation as warm containers see it. Fakes only, no network."""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.handlers import metrics, wiring
from activitylog.logic import download_tokens
from activitylog.logic.export_notify import NotifyPorts, notify
from activitylog.models.exports import Export, RunRecord, WorkflowInput
from activitylog.models.settings import TenantLimits, TenantSettings

from tests.fakes import FakeControl, FakeExports, FakeMailer, FakeSecret

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
REFS = WorkflowInput(tenant="acme", export_id="E1", run_id="R1")
ENV = {
    "CONTROL_TABLE": "control",
    "EVENTS_TABLE": "events",
    "EXPORTS_BUCKET": "bucket",
    "DOWNLOAD_SIGNING_SECRET": "secret",
    "API_BASE_URL": "https://api.example.com/v1x",
    "SENDER_EMAIL": "exports@example.org",
    "EXPORT_STATE_MACHINE": "arn:aws:states:us-east-1:1:stateMachine:x",
    "POWERTOOLS_METRICS_NAMESPACE": "ActivityLog",
    "POWERTOOLS_SERVICE_NAME": "activitylog",
    "THROTTLE_NAMESPACE": "ActivityLog-Stateless",
}


def stores(status: str = "succeeded", recipients: tuple[str, ...] = ("a@example.com",)) -> FakeExports:
    exports = FakeExports()
    exports.exports[("acme", "E1")] = Export(
        id="E1",
        name="Weekly",
        format="csv",
        compression="none",
        filters={},
        recipients=list(recipients),
        created_at=NOW - timedelta(hours=1),
    )
    exports.put_run(
        "acme",
        RunRecord(
            id="R1",
            export_id="E1",
            status=status,
            created_at=NOW - timedelta(minutes=5),
            started_at=NOW - timedelta(minutes=4),
            finished_at=NOW - timedelta(minutes=1),
            row_count=3,
            bytes=10,
            sha256="0" * 64,
            key="exports/acme/E1/R1/f.csv",
            error=None if status == "succeeded" else "x",
        ),
    )
    return exports


@pytest.fixture
def container() -> Iterator[wiring.Container]:
    """A container of fakes for the handlers, put back afterwards."""
    control, secret = FakeControl(), FakeSecret(b"k1" * 32)
    made = wiring.Container(environ=ENV).override(
        export_store=stores(), control=control, mailer=FakeMailer(), signing_key=secret
    )
    before = wiring.use(made)
    try:
        yield made
    finally:
        wiring.use(before)


def emitted(text: str) -> list[dict[str, Any]]:
    """The EMF blobs among a handler's stdout lines (Powertools' documented way to test metrics)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def notify_handler() -> Any:
    return importlib.import_module("activitylog.handlers.export_notify").handler


class Context:
    function_name = "ExportNotify"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:1:function:ExportNotify"
    aws_request_id = "r1"


# --- notification: the logic -------------------------------------------------------------------------


def ports(exports: FakeExports, mailer: FakeMailer, control: FakeControl | None = None) -> NotifyPorts:
    control = control or FakeControl()
    return NotifyPorts(
        store=exports,
        send=lambda m: mailer.send(m.to, m.subject, m.text, m.html),
        signing_key=lambda: b"k" * 64,
        base_url="https://api.example.com",
        claim_mail=lambda t, day: control.claim_mail(
            t, day, control.get_limits(t).daily_mail_limit, expires=0
        ),
    )


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_a_sent_email_is_recorded_on_the_run(status: str) -> None:
    exports, mailer = stores(status), FakeMailer()
    done = notify(REFS, now=NOW, ports=ports(exports, mailer))
    assert done.notification == "sent" and len(mailer.sent) == 1
    run = exports.get_run("acme", "E1", "R1")
    assert run is not None and run.notification == "sent" and run.status == status


def test_a_refused_email_leaves_the_run_succeeded_and_says_failed() -> None:
    # Given SES refusing the message (MessageRejected: the sender is not verified)
    exports, mailer = stores(), FakeMailer(fail=1)
    # When Notify runs, it returns normally
    done = notify(REFS, now=NOW, ports=ports(exports, mailer))
    # Then the run is still succeeded (downloadable) and its notification says failed; the reason is
    # for the log only
    run = exports.get_run("acme", "E1", "R1")
    assert run is not None and (run.status, run.notification) == ("succeeded", "failed")
    assert done.notification == "failed" and done.reason is not None and "MessageRejected" in done.reason


def test_no_recipients_is_none_and_sends_nothing() -> None:
    exports, mailer = stores(recipients=()), FakeMailer()
    assert notify(REFS, now=NOW, ports=ports(exports, mailer)).notification == "none"
    assert mailer.sent == [] and exports.runs[("acme", "E1", "R1")].notification == "none"


def test_the_daily_cap_skips_the_email_and_the_run_says_so() -> None:
    # Given a tenant whose cap is 2 emails a day, 2 sent already today
    control = FakeControl()
    control.settings["acme"] = TenantSettings(limits=TenantLimits(daily_mail_limit=2))
    mailer = FakeMailer()
    for _ in range(2):
        assert notify(REFS, now=NOW, ports=ports(stores(), mailer, control)).notification == "sent"
    # When a third run ends that day, then it is skipped; the next UTC day it is sent again
    exports = stores()
    assert notify(REFS, now=NOW, ports=ports(exports, mailer, control)).notification == "skipped_daily_limit"
    assert exports.runs[("acme", "E1", "R1")].notification == "skipped_daily_limit"
    assert len(mailer.sent) == 2
    tomorrow = NOW + timedelta(days=1)
    assert notify(REFS, now=tomorrow, ports=ports(stores(), mailer, control)).notification == "sent"


def test_the_default_cap_is_documented_and_a_run_not_ended_is_left_alone() -> None:
    assert TenantLimits().daily_mail_limit == 100
    exports = stores("running")
    assert notify(REFS, now=NOW, ports=ports(exports, FakeMailer())).notification is None
    assert exports.runs[("acme", "E1", "R1")].notification is None


# --- notification: the handler and its metrics ------------------------------------------------------


def test_the_notify_handler_returns_normally_on_a_mail_failure_and_counts_it(
    container: wiring.Container, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    container.override(mailer=FakeMailer(fail=1))
    handler = notify_handler()
    capsys.readouterr()
    answer = handler(REFS.model_dump(), Context())
    assert answer["notification"] == "failed"
    out = capsys.readouterr().out
    [blob] = emitted(out)
    assert blob[metrics.EMAILS_FAILED] == [1.0] and metrics.EMAILS_SENT not in blob
    [definition] = blob["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "ActivityLog" and definition["Dimensions"] == [["service"]]
    assert blob["service"] == "activitylog" and "acme" not in json.dumps(blob)  # no tenant dimension
    # The reason is in the log line (with the tenant), not in the API or the metric
    [logged] = [r for r in caplog.records if r.getMessage() == "run notification not sent"]
    assert "MessageRejected" in logged.reason and logged.tenant == "acme"  # type: ignore[attr-defined]


def test_a_sent_run_email_is_counted(container: wiring.Container, capsys: pytest.CaptureFixture[str]) -> None:
    handler = notify_handler()
    capsys.readouterr()
    assert handler(REFS.model_dump(), Context())["notification"] == "sent"
    [blob] = emitted(capsys.readouterr().out)
    assert blob[metrics.EMAILS_SENT] == [1.0]
    assert {"Name": metrics.EMAILS_SENT, "Unit": "Count"} in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]


def test_an_invocation_that_counts_nothing_writes_no_metric_and_no_warning(
    container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    container.override(export_store=stores(recipients=()))  # notification "none": nothing to count
    handler = notify_handler()
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools' "No application metrics to publish" would raise
        assert handler(REFS.model_dump(), Context())["notification"] == "none"
    assert emitted(capsys.readouterr().out) == []


def test_metrics_disabled_writes_nothing_and_keeps_nothing(
    container: wiring.Container, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")  # what local mode sets
    handler = notify_handler()
    capsys.readouterr()
    handler(REFS.model_dump(), Context())
    assert emitted(capsys.readouterr().out) == [] and metrics.metrics.metric_set == {}


def test_every_metric_has_a_unit_and_a_stable_name() -> None:
    names = {
        v for k, v in vars(metrics).items() if k.isupper() and isinstance(v, str) and k != "SERVICE_DIMENSION"
    }
    assert names == metrics.NAMES == set(metrics.UNITS)
    assert (
        metrics.UNITS[metrics.EXPORT_BYTES].value == "Bytes"
        and metrics.UNITS[metrics.EXPORT_DURATION].value == "Seconds"
    )
    assert all(name.isalnum() and name[0].isupper() for name in names)


# --- the signing key: rotation as a warm container sees it --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keyed(secret: FakeSecret, clock: Clock) -> wiring.Container:
    made = wiring.Container(environ=ENV).override(signing_key=secret)
    made.__dict__["key_cache"] = type(made.key_cache)(ttl=wiring.KEY_CACHE_SECONDS, clock=clock)
    return made


def test_a_rotated_secret_signs_within_the_cache_time_and_old_links_still_verify() -> None:
    secret, clock = FakeSecret(b"old" * 20), Clock()
    c = keyed(secret, clock)
    grant = download_tokens.DownloadGrant("acme", "E1", "R1", int(NOW.timestamp()) + 3600)
    emailed = download_tokens.issue(c.current_key(), grant)
    # When the secret is rotated (put-secret-value), a warm container signs with the old key until
    # its cache time is over, then with the new one
    secret.rotate(b"new" * 20)
    assert c.current_key() == b"old" * 20
    clock.now += wiring.KEY_CACHE_SECONDS + 1
    assert c.current_key() == b"new" * 20
    fresh = download_tokens.issue(c.current_key(), grant)
    # Then both the link emailed before the rotation and a new one verify
    assert download_tokens.verify(c.verification_keys(), emailed, now=NOW) == grant
    assert download_tokens.verify(c.verification_keys(), fresh, now=NOW) == grant


def test_the_previous_version_is_read_only_for_a_token_the_current_key_refuses() -> None:
    secret, clock = FakeSecret(b"cur" * 20), Clock()
    c = keyed(secret, clock)
    grant = download_tokens.DownloadGrant("acme", "E1", "R1", int(NOW.timestamp()) + 3600)
    download_tokens.verify(c.verification_keys(), download_tokens.issue(b"cur" * 20, grant), now=NOW)
    assert secret.reads == ["AWSCURRENT"]  # steady state: one read per cache time, no previous
    with pytest.raises(download_tokens.NotFoundError):  # never rotated: no previous version
        download_tokens.verify(c.verification_keys(), download_tokens.issue(b"forged" * 10, grant), now=NOW)
    assert secret.reads == ["AWSCURRENT", "AWSPREVIOUS"]


# --- the SES adapter and the API document ---------------------------------------------------------------


@pytest.mark.parametrize("code", ["MessageRejected", "TooManyRequestsException", "AccessDeniedException"])
def test_any_refusal_of_the_mail_service_is_a_mail_not_sent(code: str) -> None:
    from activitylog.dal.mail import SesMailer
    from activitylog.models.errors import MailNotSentError
    from botocore.exceptions import ClientError

    class Refusing:
        def send_email(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": code, "Message": "no"}}, "SendEmail")

    with pytest.raises(MailNotSentError, match=code):
        SesMailer("exports@example.org", Refusing()).send(["a@example.com"], "s", "t", "<p>h</p>")


def test_the_run_schema_publishes_notification_with_its_values() -> None:
    from activitylog.handlers.docs import openapi_schema

    schemas = openapi_schema()["components"]["schemas"]
    run = schemas["Run"]
    assert "notification" in run["required"]
    [ref, null] = run["properties"]["notification"]["anyOf"]
    assert ref == {"$ref": "#/components/schemas/Notification"}  # one named enum
    values = schemas["Notification"]
    assert set(values["enum"]) == {"sent", "failed", "skipped_daily_limit", "none"} and null == {
        "type": "null"
    }
