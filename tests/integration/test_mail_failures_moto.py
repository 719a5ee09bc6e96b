"""Mail that cannot be sent, on the local stack (moto, the CDK-synthesized workflow): the run stays
succeeded and says `notification: failed`, the execution ends SUCCEEDED; a quota warning whose email
failed is sent by a request after the backoff; the control table's counters and leases (exact
under concurrency); the signing secret's versions after a rotation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import pytest
from activitylog.dal.control import ControlTable
from activitylog.dal.secrets import PREVIOUS, SigningKey
from activitylog.handlers import wiring
from activitylog.logic import quota
from activitylog_ops.local.service import LocalService
from botocore.exceptions import ClientError

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, download, local_stack_client, mails_to, wait_for_run
from tests.integration.test_settings_api import set_quota

REJECTED = ClientError(
    {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}}, "SendEmail"
)


@contextmanager
def ses_refusing(times: int) -> Iterator[list[int]]:
    """The functions' own SES client (in-process: the same container) refuses the next `times` sends."""
    client = wiring.container().client("sesv2")
    real = client.send_email
    calls: list[int] = []

    def send_email(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise REJECTED
        return real(**kwargs)

    with mock.patch.object(client, "send_email", side_effect=send_email):
        yield calls


def wait_for_notification(api: Api, export_id: str, run_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.request("GET", f"/v1/exports/{export_id}/runs/{run_id}").json()
        if run["notification"] is not None:
            return run
        assert time.monotonic() < deadline, f"no notification after {timeout} s: {run}"
        time.sleep(0.1)


def execution_status(stack: LocalService, run_id: str, timeout: float = 30.0) -> str:
    sfn = local_stack_client(stack, "stepfunctions")
    deadline = time.monotonic() + timeout
    while True:
        for machine in sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
                if execution["name"] == run_id and execution["status"] != "RUNNING":
                    return str(execution["status"])
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def api(local_stack: LocalService) -> Api:
    api = Keys(local_stack).api()
    answer = api.post_events([{"action": "user.login", "actor": {"id": "u1"}}])
    assert answer.status_code == 200
    return api


def test_a_refused_success_email_leaves_the_run_succeeded_and_the_execution_succeeded(
    api: Api, local_stack: LocalService
) -> None:
    # Given SES refusing the message (the sender is not verified: MessageRejected)
    with ses_refusing(times=1) as calls:
        created = create(api, name="mail refused", recipients=[f"r-{uuid.uuid4().hex[:6]}@example.com"])
        export_id, run_id = created["export"]["id"], created["run"]["id"]
        run = wait_for_notification(api, export_id, run_id)
        status = execution_status(local_stack, run_id)
    # Then the run is succeeded and downloadable, says its mail failed, and the execution succeeded
    assert calls and run["status"] == "succeeded" and run["notification"] == "failed", run
    assert status == "SUCCEEDED"
    assert len(download(api, run)) == run["bytes"] > 0
    assert "reason" not in run and "MessageRejected" not in str(run)  # the reason is for the log only


def test_a_sent_email_and_no_recipients_are_on_the_run(api: Api, local_stack: LocalService) -> None:
    address = f"n-{uuid.uuid4().hex[:6]}@example.com"
    sent = create(api, name="mailed", recipients=[address])
    nobody = create(api, name="silent")
    assert wait_for_notification(api, sent["export"]["id"], sent["run"]["id"])["notification"] == "sent"
    assert wait_for_notification(api, nobody["export"]["id"], nobody["run"]["id"])["notification"] == "none"
    assert len(mails_to(local_stack, address)) == 1


def test_the_daily_cap_skips_the_email_and_the_run_says_so(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    control = ControlTable(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], control_client(local_stack))
    control.set_daily_mail_limit(api.tenant, 1)
    first = create(api, name="first", recipients=["cap@example.com"])
    assert wait_for_notification(api, first["export"]["id"], first["run"]["id"])["notification"] == "sent"
    second = create(api, name="second", recipients=["cap@example.com"])
    run = wait_for_notification(api, second["export"]["id"], second["run"]["id"])
    assert run["status"] == "succeeded" and run["notification"] == "skipped_daily_limit"
    assert control.mails_sent(api.tenant, datetime.now(UTC).strftime("%Y-%m-%d")) == 1


def test_a_quota_warning_whose_email_failed_is_sent_by_a_request_after_the_backoff(
    keys: Keys, local_stack: LocalService
) -> None:
    api = keys.api()
    admin = f"warn-{api.tenant}@example.com"
    api.request("PUT", "/v1/settings", json={"notification_emails": [admin]})
    set_quota(local_stack, api.tenant, 20)
    events = [{"id": f"w{i}", "action": "user.login", "actor": {"id": "u1"}} for i in range(22)]
    # Given the 80% warning's email refused: the events are accepted all the same
    with ses_refusing(times=1) as calls:
        answer = api.post_events(events[:16])
        assert answer.status_code == 200 and answer.json()["accepted"] == 16 and calls == [1]
    assert mails_to(local_stack, admin, timeout=0) == []
    # When the next request comes within the backoff, nobody calls the mail service
    with ses_refusing(times=1) as calls:
        assert api.post_events(events[16:17]).status_code == 200
        assert calls == []
    # And the first request after it sends it (once); the one that reaches 100% sends that one
    after = datetime.now(UTC) + timedelta(seconds=quota.RETRY_SECONDS + 1)
    with mock.patch("activitylog.logic.clock.now", return_value=after):
        assert api.post_events(events[17:18]).status_code == 200
        assert [m["subject"] for m in mails_to(local_stack, admin)] == [
            f"Activity Log: tenant {api.tenant} has passed 80% of its monthly quota"
        ]
    with ses_refusing(times=1):
        assert api.post_events(events[18:20]).status_code == 200  # 100%: its email refused
    # And a request refused at 100%, after the backoff, sends the pending one
    much_later = after + timedelta(seconds=quota.RETRY_SECONDS + 1)
    with mock.patch("activitylog.logic.clock.now", return_value=much_later):
        assert api.post_events(events[20:21]).status_code == 429
        subjects = [m["subject"] for m in mails_to(local_stack, admin)]
        assert len(subjects) == 2 and "reached its monthly quota" in subjects[0]
        assert api.post_events(events[21:22]).status_code == 429
        assert len(mails_to(local_stack, admin)) == 2  # marked sent: never again this month


# --- the adapters on moto's DynamoDB and Secrets Manager ----------------------------------------------


def control_client(stack: LocalService) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")


@pytest.fixture
def control(local_stack: LocalService) -> ControlTable:
    return ControlTable(local_stack.env["ACTIVITYLOG_CONTROL_TABLE"], control_client(local_stack))


def test_the_reservation_returns_the_sent_warnings_accepted_or_refused(control: ControlTable) -> None:
    tenant, month = f"u-{uuid.uuid4().hex[:8]}", "2026-11"
    first = control.reserve(tenant, month, 8, 10)
    assert (first.total, first.accepted, first.warned) == (8, 8, frozenset())
    assert control.claim_warning(tenant, month, "80", now=100, until=160)
    control.mark_warned(tenant, month, "80")
    assert control.reserve(tenant, month, 2, 10).warned == {"80"}
    refused = control.reserve(tenant, month, 1, 10)  # the item comes back with the failed condition
    assert (refused.total, refused.accepted, refused.warned) == (None, 10, frozenset({"80"}))
    assert control.reserve(tenant, month, 11, 10).total is None  # bigger than the whole quota


def test_a_warning_lease_is_held_deferred_and_taken_over_once_expired(control: ControlTable) -> None:
    tenant, month = f"l-{uuid.uuid4().hex[:8]}", "2026-11"
    assert control.claim_warning(tenant, month, "100", now=100, until=160)
    assert not control.claim_warning(tenant, month, "100", now=120, until=180)  # held
    control.defer_warning(tenant, month, "100", until=999, retry_at=400)  # not ours: unchanged
    assert control.reserve(tenant, month, 1, 10).leases == {"100": 160}
    control.defer_warning(tenant, month, "100", until=160, retry_at=400)  # ours: held as a backoff
    assert control.reserve(tenant, month, 1, 10).leases == {"100": 400}
    assert not control.claim_warning(tenant, month, "100", now=399, until=459)
    assert control.claim_warning(tenant, month, "100", now=401, until=461)
    assert control.claim_warning(tenant, month, "100", now=462, until=522)  # its holder died
    control.mark_warned(tenant, month, "100")
    assert not control.claim_warning(tenant, month, "100", now=10_000, until=10_060)  # sent: never again


def test_the_daily_mail_cap_is_exact_under_concurrency(control: ControlTable) -> None:
    tenant, day = f"m-{uuid.uuid4().hex[:8]}", "2026-11-23"
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(lambda _: control.claim_mail(tenant, day, 5, expires=2_000_000_000), range(30))
        )
    assert answers.count(True) == 5 and control.mails_sent(tenant, day) == 5
    assert not control.claim_mail(tenant, "2026-11-23", 5, expires=0)
    assert control.claim_mail(tenant, "2026-11-24", 5, expires=0)  # a new UTC day
    assert not control.claim_mail(tenant, "2026-11-25", 0, expires=0)  # a limit of 0 sends nothing


def test_the_signing_key_reads_current_and_previous_versions(local_stack: LocalService) -> None:
    secrets = local_stack_client(local_stack, "secretsmanager")
    name = f"signing-{uuid.uuid4().hex[:8]}"
    secrets.create_secret(Name=name, SecretString="first-key")
    key = SigningKey(name, secrets)
    assert key() == b"first-key" and key.read(PREVIOUS) is None  # never rotated
    secrets.put_secret_value(SecretId=name, SecretString="second-key")  # the documented rotation
    assert key() == b"second-key" and key.read(PREVIOUS) == b"first-key"


def test_a_link_emailed_before_a_rotation_still_downloads(api: Api, local_stack: LocalService) -> None:
    from activitylog.logic import download_tokens
    from activitylog.models.env import LinksEnv

    # Given a download link signed with the secret's current value
    created = create(api, name="rotated")
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"])
    container = wiring.container()
    expires = int((datetime.now(UTC) + timedelta(days=1)).timestamp())
    grant = download_tokens.DownloadGrant(api.tenant, created["export"]["id"], run["id"], expires)
    emailed = download_tokens.issue(container.current_key(), grant)
    # When the secret is rotated and the warm container's cache time is over
    secrets = local_stack_client(local_stack, "secretsmanager")
    secrets.put_secret_value(
        SecretId=container.env(LinksEnv).signing_secret, SecretString=uuid.uuid4().hex * 2
    )
    container.key_cache.clear()  # as KEY_CACHE_SECONDS passing does
    with pytest.raises(download_tokens.NotFoundError):  # the new key alone refuses it...
        download_tokens.verify(container.current_key(), emailed, now=datetime.now(UTC))
    # Then the link still works (verified against the previous version)
    answer = api.request("GET", f"/v1/downloads/{emailed}", allow_redirects=False)
    assert answer.status_code == 302, answer.text


def test_local_mode_writes_no_metric_lines(
    local_stack: LocalService, capfd: pytest.CaptureFixture[str]
) -> None:
    """`make local` runs the functions in-process: their EMF lines would flood its console."""
    import os

    api = Keys(local_stack).api()
    capfd.readouterr()
    assert api.post_events([{"action": "user.login", "actor": {"id": "u1"}}]).status_code == 200
    assert os.environ.get("POWERTOOLS_METRICS_DISABLED") == "true"
    assert '"CloudWatchMetrics"' not in capfd.readouterr().out
