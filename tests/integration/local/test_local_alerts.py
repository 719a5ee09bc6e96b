"""Local mode runs the alert pipeline (docs/local-mode.md, "Alerts"): the template's AlertWork queue
with its redrive, the evaluator's SQS mapping polled like the deliverer's, CONSOLE_URL pointing at
the local gateway's console rather than at a CloudFront distribution that does not exist locally,
and `drain_streaming` waiting for alert work too (router → AlertWork → evaluator → email)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests
from activitylog_ops.local.queues import SqsMapping, queue_mappings
from activitylog_ops.local.service import console_url
from activitylog_ops.local.template import Deployment


@pytest.fixture
def sqs(local_service: Any) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=local_service.env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _evaluator_mapping(deployment: Deployment) -> SqsMapping:
    (mapping,) = [m for m in queue_mappings(deployment) if "AlertEvaluator" in m.function]
    return mapping


def _function(deployment: Deployment, construct_id: str) -> Any:
    (found,) = [f for f in deployment.functions() if f.logical_id.startswith(f"Functions{construct_id}")]
    return found


def test_the_alert_work_queue_exists_locally_with_its_redrive_and_is_polled(
    local_service: Any, sqs: Any
) -> None:
    service = local_service.service
    deployment: Deployment = service.deployment
    mapping = _evaluator_mapping(deployment)
    assert "AlertWork" in mapping.queue_name
    assert mapping.batch_size == 10 and mapping.report_item_failures and mapping.enabled
    assert mapping in [p.mapping for p in service.queues]  # one poller, as for Deliveries
    url = sqs.get_queue_url(QueueName=mapping.queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["QueueArn"] == mapping.queue_arn
    assert attributes["VisibilityTimeout"] == "360"  # 6 x the evaluator's 60 s
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 10
    dead_letters = policy["deadLetterTargetArn"].rsplit(":", 1)[-1]
    assert "AlertWorkDeadLetters" in dead_letters
    assert sqs.get_queue_url(QueueName=dead_letters)["QueueUrl"]  # created by deploy
    # the router's ALERT_QUEUE_URL is that queue's URL on the emulation; nobody else is given it
    given = {
        f.logical_id: f.environment["ALERT_QUEUE_URL"]
        for f in deployment.functions()
        if "ALERT_QUEUE_URL" in f.environment
    }
    assert given == {_function(deployment, "StreamRouter").logical_id: url}


def test_console_url_is_the_local_console_not_cloudfront(local_service: Any) -> None:
    deployment: Deployment = local_service.service.deployment
    # the template's value, resolved: a distribution's name that cannot resolve (none exists here)
    templated = _function(deployment, "AlertEvaluator").environment["CONSOLE_URL"]
    assert templated.startswith("https://") and templated.endswith(".cloudfront.invalid/console/")
    # what the evaluator reads: the gateway's /console/, which serves the console
    assert os.environ["CONSOLE_URL"] == console_url(local_service.url) == local_service.url + "/console/"
    page = requests.get(os.environ["CONSOLE_URL"], timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]


def test_console_url_joins_the_gateway_without_a_double_slash() -> None:
    assert console_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/console/"
    assert console_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/console/"


def test_drain_streaming_waits_for_alert_work_and_the_email_links_to_the_local_console(
    local_service: Any, keys: Any, sqs: Any
) -> None:
    # Given a tenant of its own with an alert on 3 failed logins of one user, emailed
    api = keys.api(scopes=["events:write", "events:read", "alerts:manage"])
    recipient = f"sec-{uuid.uuid4().hex[:8]}@example.com"
    created = api.request(
        "POST",
        "/v1/alerts",
        json={
            "name": "3 failed logins",
            "filters": {"actions": ["user.login_failed"]},
            "threshold": {"count": 3, "window": "PT10M"},
            "group_by": "actor",
            "recipients": [recipient],
        },
    )
    assert created.status_code == 201, created.text
    alert_id = created.json()["id"]

    # When three failed logins of one user are accepted and the pipeline drains
    answer = api.post_events([{"action": "user.login_failed", "actor": {"id": "u-1"}} for _ in range(3)])
    assert answer.json()["accepted"] == 3
    local_service.service.drain_streaming(timeout=60)

    # Then the alert work was done before drain_streaming returned: the firing, its event, the email
    queue = sqs.get_queue_url(QueueName=_evaluator_mapping(local_service.service.deployment).queue_name)
    counts = sqs.get_queue_attributes(QueueUrl=queue["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    (firing,) = api.request("GET", f"/v1/alerts/{alert_id}/firings").json()["firings"]
    assert firing["count"] == 3 and firing["group"] == "u-1"
    fired = api.events(action="activitylog.alert.fired").json()["events"]
    assert [e["id"] for e in fired] == [firing["id"]]
    mail: Callable[[], list[dict[str, Any]]] = local_service.service.moto.mail.messages
    (email,) = [m for m in mail() if recipient in m["to"]]
    assert local_service.url + "/console/" in json.dumps(email)
    assert "cloudfront" not in json.dumps(email)
