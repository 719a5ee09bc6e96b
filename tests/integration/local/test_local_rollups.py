"""Local mode runs the rollup pipeline from the template (docs/local-mode.md, "Reports"): the
RollupWork queue with its redrive, the worker's SQS mapping polled like the others, who is given
ROLLUP_QUEUE_URL, and SQS delays on the functions' clock (`sqs_delays`): `drain_streaming` does not
wait for the router's delayed announcement of an hour, and once a test moves the clock past the
hour's sealing time, draining has the worker compute it (router → RollupWork → worker → rollup)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from activitylog.logic import clock
from activitylog.logic import rollups as rollup_logic
from activitylog_ops.local import sqs_delays
from activitylog_ops.local.queues import SqsMapping, queue_mappings
from activitylog_ops.local.template import Deployment

ACCOUNT = "123456789012"


def _client(local_service: Any, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=local_service.env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def sqs(local_service: Any) -> Any:
    return _client(local_service, "sqs")


@pytest.fixture
def own_queue(sqs: Any) -> Iterator[tuple[str, str]]:
    name = f"delays-{uuid.uuid4().hex[:12]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        yield url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    finally:
        sqs.delete_queue(QueueUrl=url)


def _worker_mapping(deployment: Deployment) -> SqsMapping:
    (mapping,) = [m for m in queue_mappings(deployment) if "RollupWorker" in m.function]
    return mapping


def _counts(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed")
    return {n.removeprefix("ApproximateNumberOfMessages") or "visible": int(attributes[n]) for n in names}


def test_the_rollup_work_queue_exists_locally_with_its_redrive_and_is_polled(
    local_service: Any, sqs: Any
) -> None:
    service = local_service.service
    deployment: Deployment = service.deployment
    mapping = _worker_mapping(deployment)
    assert "RollupWork" in mapping.queue_name
    assert mapping.batch_size == 10 and mapping.report_item_failures and mapping.enabled
    (poller,) = [p for p in service.queues if p.mapping == mapping]  # one poller, as for AlertWork
    assert poller.release is sqs_delays.release_due and sqs_delays.installed()
    url = sqs.get_queue_url(QueueName=mapping.queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "1800"  # 6 x the worker's 300 s
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 10
    dead_letters = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
    assert "RollupWorkDeadLetters" in dead_letters
    assert sqs.get_queue_url(QueueName=dead_letters)["QueueUrl"]  # created by deploy
    given = {
        f.logical_id.removeprefix("Functions")[:-8]: f.environment["ROLLUP_QUEUE_URL"]
        for f in deployment.functions()
        if "ROLLUP_QUEUE_URL" in f.environment
    }
    assert sorted(given) == ["Reports", "RollupWorker", "StreamRouter"]
    assert set(given.values()) == {url}


def test_a_delayed_message_is_released_when_the_functions_clock_reaches_its_due_time(
    sqs: Any, own_queue: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, arn = own_queue
    start = datetime.now(UTC)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "soon", "DelaySeconds": 60}])
    assert _counts(sqs, url) == {"visible": 0, "Delayed": 2}
    assert sqs_delays.release_due(arn) == 0  # the real clock: nothing is due yet

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=120))
    assert sqs_delays.release_due(arn) == 1  # "soon" is due on the moved clock, "later" is not
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    assert message["Body"] == "soon"

    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
    assert sqs_delays.release_due(arn) == 1
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=0)["Messages"]
    assert message["Body"] == "later"
    assert sqs_delays.release_due(arn) == 0  # released once; a visible message is left alone


def test_the_moto_internals_relied_on_are_still_there() -> None:
    sqs_delays.check_moto()  # raises when moto changes them


def _rollup_totals(local_service: Any, tenant: str) -> dict[str, int]:
    items = _client(local_service, "dynamodb").query(
        TableName=local_service.env["ACTIVITYLOG_CONTROL_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}#RU#-#n"}},
    )["Items"]
    return {i["sk"]["S"]: int(i["n"]["N"]) for i in items}


def test_the_router_announces_the_hour_and_the_worker_computes_it_once_the_clock_says_it_is_sealable(
    local_service: Any, keys: Any, sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = local_service.service
    url = sqs.get_queue_url(QueueName=_worker_mapping(service.deployment).queue_name)["QueueUrl"]
    # Given a tenant of its own whose events are accepted now
    api = keys.api(scopes=["events:write", "events:read"])
    answer = api.post_events([{"action": "user.login", "actor": {"id": f"u-{n % 2}"}} for n in range(5)])
    assert answer.json()["accepted"] == 5
    occurred = datetime.fromisoformat(api.events().json()["events"][0]["occurred_at"])
    hour = occurred.replace(minute=0, second=0, microsecond=0)

    # When the pipeline drains on the real clock
    service.drain_streaming(timeout=30)  # returns: the hour's announcement waits, delayed (not waited for)
    # Then the router announced the hour (a delayed seal on RollupWork) and nothing is computed yet
    assert _counts(sqs, url)["Delayed"] >= 1
    assert _rollup_totals(local_service, api.tenant) == {}

    # When the functions' clock is past the hour's sealing time and the pipeline drains again
    later = rollup_logic.sealable_at(hour) + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    service.drain_streaming(timeout=60)

    # Then the worker computed the hour: its totals are the 5 events
    stored = _rollup_totals(local_service, api.tenant)
    assert stored == {hour.strftime("%Y-%m-%dT%H:%M:%S.000Z"): 5}


def test_a_backfills_hours_are_computed_15_minutes_later_on_the_clock_and_then_serve_reports(
    local_service: Any, keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = local_service.service
    # Given a tenant of its own that backfills 6 events of an hour three days ago (late events)
    api = keys.api(scopes=["events:write", "events:read"])
    hour = (datetime.now(UTC) - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    sent = [
        {
            "action": "user.login",
            "actor": {"id": "u-1"},
            "occurred_at": (hour + timedelta(minutes=5 * n)).isoformat(),
        }
        for n in range(6)
    ]
    assert api.post_events(sent).json()["accepted"] == 6
    window = {"from": hour.isoformat(), "to": (hour + timedelta(hours=1)).isoformat()}
    service.drain_streaming(timeout=30)
    assert _rollup_totals(local_service, api.tenant) == {}  # the router's `late` message waits 900 s

    # When the functions' clock is past that delay and the pipeline drains
    later = datetime.now(UTC) + timedelta(seconds=rollup_logic.LATE_DELAY_SECONDS + 60)
    monkeypatch.setattr(clock, "now", lambda: later)
    service.drain_streaming(timeout=60)

    # Then the hour is computed, after the events were received: reports are answered from it
    sk = hour.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert _rollup_totals(local_service, api.tenant) == {sk: 6}
    _client(local_service, "dynamodb").update_item(
        TableName=local_service.env["ACTIVITYLOG_CONTROL_TABLE"],
        Key={"pk": {"S": f"TENANT#{api.tenant}#RU#-#n"}, "sk": {"S": sk}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "1000"}},
    )
    report = api.request("GET", "/v1/reports/activity", params=window).json()
    assert report["total"] == 1000  # the (changed) rollup answered, not the events
