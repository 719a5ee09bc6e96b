"""Local mode's SQS queues and SQS event-source mappings (issue 15, item 5): the template's queues
on the emulation (attributes, redrive policies, Refs that are URLs boto3 uses), and the poller that
runs a mapping as Lambda does (batches, partial failures, visibility, redrive, the event's shape).

Against the session's shared emulation, with queues of each test's own (an in-process `mock_aws`
would reset moto's process-wide state, and the local stack later tests use with it). If moto
changes how it receives, hides or redrives messages, these fail."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from activitylog_ops.local.deploy import create_resources
from activitylog_ops.local.queues import SqsMapping, SqsPoller, queue_mappings
from activitylog_ops.local.service import LocalService
from activitylog_ops.local.streams import StreamMapping, StreamPoller
from activitylog_ops.local.template import Deployment

ACCOUNT = "123456789012"


@pytest.fixture
def clients(local_service: Any) -> Callable[[str], Any]:
    endpoint = local_service.env["AWS_ENDPOINT_URL"]
    made: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in made:
            made[service] = boto3.client(
                service,
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return made[service]

    return client


@pytest.fixture
def queues(clients: Callable[[str], Any]) -> Iterator[Callable[..., tuple[str, str]]]:
    """`make(visibility=1, **attributes)` → (url, arn) of a new queue of this test's own."""
    made: list[str] = []

    def make(visibility: int = 1, **attributes: Any) -> tuple[str, str]:
        name = f"q-{uuid.uuid4().hex[:12]}"
        values = {"VisibilityTimeout": str(visibility), **{k: str(v) for k, v in attributes.items()}}
        url = clients("sqs").create_queue(QueueName=name, Attributes=values)["QueueUrl"]
        made.append(url)
        return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"

    yield make
    for url in made:
        clients("sqs").delete_queue(QueueUrl=url)


class Function:
    """A fake function: records each batch (bodies, receive counts, when), answers with `answer`."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []
        self.seen: list[tuple[str, str, float]] = []  # (body, ApproximateReceiveCount, monotonic time)
        self.lock = threading.Lock()

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        with self.lock:
            self.events.append(event)
            now = time.monotonic()
            self.seen += [
                (r["body"], r["attributes"]["ApproximateReceiveCount"], now) for r in event["Records"]
            ]
        return self.answer(event) if self.answer else None

    def bodies(self) -> list[str]:
        return [body for body, _count, _at in self.seen]

    def times(self, body: str) -> list[float]:
        return [at for b, _count, at in self.seen if b == body]


def send(clients: Callable[[str], Any], url: str, bodies: list[str]) -> None:
    for body in bodies:
        clients("sqs").send_message(QueueUrl=url, MessageBody=body)


@contextmanager
def polling(
    clients: Callable[[str], Any], arn: str, function: Function, **settings: Any
) -> Iterator[SqsPoller]:
    poller = SqsPoller(SqsMapping("M", "deliverer", arn, **settings), clients, function)
    poller.start()
    try:
        yield poller
    finally:
        poller.stop()


def run(
    clients: Callable[[str], Any], arn: str, function: Function, *, timeout: float = 20, **settings: Any
) -> SqsPoller:
    """Poll the queue with `function` until it is drained, then stop."""
    with polling(clients, arn, function, **settings) as poller:
        poller.drain(timeout)
    return poller


def failing(bodies: set[str], *, once: bool = True) -> Callable[[dict[str, Any]], Any]:
    """An answer that reports the messages with these bodies as failed (the first time only)."""
    done: set[str] = set()

    def answer(event: dict[str, Any]) -> Any:
        failures = []
        for record in event["Records"]:
            if record["body"] in bodies and not (once and record["body"] in done):
                done.add(record["body"])
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return answer


# --- the poller --------------------------------------------------------------------------------------


def test_every_message_is_deleted_when_the_function_succeeds(clients: Any, queues: Any) -> None:
    url, arn = queues()
    send(clients, url, [f"m{i}" for i in range(12)])
    function = Function()

    run(clients, arn, function, batch_size=5, report_item_failures=True)

    assert sorted(function.bodies()) == sorted(f"m{i}" for i in range(12))  # each once
    assert max(len(e["Records"]) for e in function.events) <= 5
    counts = clients("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_batch_size_over_ten_takes_several_receives_within_the_window(clients: Any, queues: Any) -> None:
    url, arn = queues()
    send(clients, url, [f"m{i}" for i in range(25)])
    function = Function()

    run(clients, arn, function, batch_size=20, window_seconds=1)

    assert sorted(function.bodies()) == sorted(f"m{i}" for i in range(25))
    assert max(len(e["Records"]) for e in function.events) > 10  # ReceiveMessage gives 10 at most
    assert max(len(e["Records"]) for e in function.events) <= 20


def test_a_partial_failure_keeps_only_the_failed_messages(clients: Any, queues: Any) -> None:
    url, arn = queues(visibility=1)
    send(clients, url, ["a", "b", "c", "d"])
    function = Function(failing({"c"}))

    run(clients, arn, function, batch_size=5, report_item_failures=True)

    assert sorted(function.bodies()) == ["a", "b", "c", "c", "d"]  # only c again
    first, second = function.times("c")
    assert second - first >= 0.9  # after its visibility timeout (1 s), not at once
    receive_counts = [count for body, count, _at in function.seen if body == "c"]
    assert receive_counts == ["1", "2"]


def test_without_report_batch_item_failures_a_success_deletes_the_whole_batch(
    clients: Any, queues: Any
) -> None:
    url, arn = queues()
    send(clients, url, ["a", "b"])
    function = Function(failing({"a"}, once=False))  # reports a, which the mapping does not read

    run(clients, arn, function, batch_size=5, report_item_failures=False)

    assert sorted(function.bodies()) == ["a", "b"]


def test_the_function_may_push_a_failed_message_back_with_change_message_visibility(
    clients: Any, queues: Any
) -> None:
    url, arn = queues(visibility=1)
    send(clients, url, ["later", "now"])

    def answer(event: dict[str, Any]) -> Any:
        failures = []
        for record in event["Records"]:
            if record["body"] == "later" and record["attributes"]["ApproximateReceiveCount"] == "1":
                # what the deliverer does for a retry: a later visibility, then report it failed
                clients("sqs").change_message_visibility(
                    QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=3
                )
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    function = Function(answer)
    run(clients, arn, function, batch_size=5, report_item_failures=True)

    assert sorted(function.bodies()) == ["later", "later", "now"]
    first, second = function.times("later")
    assert second - first >= 2.9  # the function's 3 s, not the queue's 1 s


def test_a_function_error_keeps_every_message_of_the_batch(clients: Any, queues: Any) -> None:
    url, arn = queues(visibility=1)
    send(clients, url, ["a", "b", "c"])
    calls = []

    def answer(event: dict[str, Any]) -> Any:
        calls.append(len(event["Records"]))
        if len(calls) == 1:
            raise RuntimeError("the function crashed")
        return None

    function = Function(answer)
    run(clients, arn, function, batch_size=5, report_item_failures=True)

    assert sorted(function.bodies()) == ["a", "a", "b", "b", "c", "c"]
    assert {count for _body, count, _at in function.seen[3:]} == {"2"}
    assert calls[0] == 3


@pytest.mark.parametrize(
    "invalid",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-a-message-of-the-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"id": "x"}]},
        {"batchItemFailures": "all"},
        "not an object",
    ],
)
def test_an_invalid_response_keeps_every_message_of_the_batch(
    clients: Any, queues: Any, invalid: Any
) -> None:
    url, arn = queues(visibility=1)
    send(clients, url, ["a", "b"])
    answers = iter([invalid])
    function = Function(lambda event: next(answers, None))

    run(clients, arn, function, batch_size=5, report_item_failures=True)

    assert sorted(function.bodies()) == ["a", "a", "b", "b"]


def test_messages_received_max_receive_count_times_go_to_the_dead_letter_queue(
    clients: Any, queues: Any
) -> None:
    dlq_url, dlq_arn = queues()
    url, arn = queues(
        visibility=1, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    )
    send(clients, url, ["poison", "fine"])
    function = Function(failing({"poison"}, once=False))

    run(clients, arn, function, batch_size=5, report_item_failures=True)  # drained: poison moved

    assert function.bodies().count("poison") == 2  # maxReceiveCount deliveries, then the DLQ
    assert function.bodies().count("fine") == 1
    (dead,) = clients("sqs").receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert dead["Body"] == "poison"


def test_moto_redrives_on_receive_after_max_receive_count(clients: Any, queues: Any) -> None:
    """What the poller relies on instead of redriving itself: moto, as SQS, moves a message that was
    received maxReceiveCount times to the dead-letter queue on the next ReceiveMessage."""
    sqs = clients("sqs")
    dlq_url, dlq_arn = queues()
    url, _arn = queues(
        visibility=1, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    )
    sqs.send_message(QueueUrl=url, MessageBody="x")
    for expected in ("1", "2"):
        (message,) = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=3, MessageSystemAttributeNames=["All"]
        )["Messages"]
        assert message["Attributes"]["ApproximateReceiveCount"] == expected
        time.sleep(1.1)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    (moved,) = sqs.receive_message(QueueUrl=dlq_url)["Messages"]
    assert moved["Body"] == "x"


def test_the_event_is_lambdas_sqs_event(clients: Any, queues: Any) -> None:
    url, arn = queues()
    body = json.dumps({"v": 1, "kind": "delivery"})
    clients("sqs").send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "text"},
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    clients("sqs").send_message(QueueUrl=url, MessageBody="plain")
    function = Function()

    run(clients, arn, function, batch_size=5)

    records = {r["body"]: r for e in function.events for r in e["Records"]}
    with_attributes, plain = records[body], records["plain"]
    assert set(plain) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert set(with_attributes) == {*plain, "md5OfMessageAttributes"}
    assert plain["eventSource"] == "aws:sqs" and plain["eventSourceARN"] == arn
    assert plain["awsRegion"] == "us-east-1"
    assert plain["md5OfBody"] == hashlib.md5(b"plain").hexdigest()  # noqa: S324 (SQS's checksum)
    assert plain["messageAttributes"] == {}
    attributes = plain["attributes"]
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= set(attributes)
    assert attributes["ApproximateReceiveCount"] == "1"
    assert all(isinstance(v, str) for v in attributes.values())
    assert int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert with_attributes["messageAttributes"] == {
        "s": {"stringValue": "text", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "n": {"stringValue": "42", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "b": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    json.dumps(function.events)  # what Lambda hands a function is JSON


def test_filter_criteria_drop_what_no_pattern_matches(clients: Any, queues: Any) -> None:
    url, arn = queues()
    send(clients, url, [json.dumps({"kind": "delivery"}), json.dumps({"kind": "other"}), "not json"])
    function = Function()

    run(clients, arn, function, batch_size=5, filters=({"body": {"kind": ["delivery"]}},))

    assert function.bodies() == [json.dumps({"kind": "delivery"})]  # the others deleted, not invoked


def test_drain_times_out_while_a_message_waits_out_its_visibility(clients: Any, queues: Any) -> None:
    url, arn = queues(visibility=30)
    send(clients, url, ["stuck"])
    function = Function(failing({"stuck"}, once=False))
    with (
        polling(clients, arn, function, report_item_failures=True) as poller,
        pytest.raises(TimeoutError, match="not drained"),
    ):
        poller.drain(timeout=1.5)
    assert function.bodies() == ["stuck"]


# --- the template's queues and mappings ------------------------------------------------------------


def _queue_template(suffix: str) -> dict[str, Any]:
    """A source queue whose dead-letter queue comes after it (creating it first would fail), a FIFO
    queue without a name, and a function whose environment holds the source queue's Ref."""
    return {
        "Resources": {
            "AWork": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "VisibilityTimeout": 7,
                    "MessageRetentionPeriod": 3600,
                    "DelaySeconds": 0,
                    "ReceiveMessageWaitTimeSeconds": 2,
                    "SqsManagedSseEnabled": True,  # skipped locally
                    "RedrivePolicy": {
                        "deadLetterTargetArn": {"Fn::GetAtt": ["ZDead", "Arn"]},
                        "maxReceiveCount": 3,
                    },
                },
            },
            "ZDead": {
                "Type": "AWS::SQS::Queue",
                "Properties": {"QueueName": f"dead-{suffix}", "MessageRetentionPeriod": 1209600},
            },
            "Ordered": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
            "Policy": {  # TLS only: an access control, not created locally
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "AWork"}], "PolicyDocument": {"Statement": []}},
            },
        },
        "Outputs": {
            "Url": {"Value": {"Ref": "AWork"}},
            "UrlAtt": {"Value": {"Fn::GetAtt": ["AWork", "QueueUrl"]}},
            "Name": {"Value": {"Fn::GetAtt": ["AWork", "QueueName"]}},
        },
    }


def test_deploy_creates_queues_with_their_attributes_and_redrive_policies(
    clients: Any, local_service: Any
) -> None:
    suffix = uuid.uuid4().hex[:10]
    stack = f"QueuesTest{suffix}"
    deployment = Deployment(
        {stack: _queue_template(suffix)}, endpoint_url=local_service.env["AWS_ENDPOINT_URL"]
    )
    sqs = clients("sqs")
    create_resources(deployment, clients)
    try:
        url = deployment.resolve(stack, {"Ref": "AWork"})
        assert url == sqs.get_queue_url(QueueName=f"{stack}-AWork")["QueueUrl"]
        assert deployment.resolve(stack, {"Fn::GetAtt": ["AWork", "QueueUrl"]}) == url
        assert deployment.resolve(stack, {"Fn::GetAtt": ["AWork", "QueueName"]}) == f"{stack}-AWork"
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == deployment.arn(stack, "AWork")
        assert (attributes["VisibilityTimeout"], attributes["MessageRetentionPeriod"]) == ("7", "3600")
        assert (attributes["DelaySeconds"], attributes["ReceiveMessageWaitTimeSeconds"]) == ("0", "2")
        assert json.loads(attributes["RedrivePolicy"]) == {
            "deadLetterTargetArn": deployment.arn(stack, "ZDead"),
            "maxReceiveCount": 3,
        }
        dead = sqs.get_queue_attributes(QueueUrl=deployment.ref(stack, "ZDead"), AttributeNames=["QueueArn"])
        assert dead["Attributes"]["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:dead-{suffix}"
        fifo = deployment.ref(stack, "Ordered")
        assert fifo.endswith(f"/{stack}-Ordered.fifo")
        fifo_attributes = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["FifoQueue"])["Attributes"]
        assert fifo_attributes["FifoQueue"] == "true"
        # a Ref is a URL boto3 uses as it is, with a client on the emulation (DELIVERY_QUEUE_URL)
        sqs.send_message(QueueUrl=url, MessageBody="via the Ref")
        (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"]
        assert message["Body"] == "via the Ref"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    finally:
        for logical_id in ("AWork", "ZDead", "Ordered"):
            sqs.delete_queue(QueueUrl=deployment.ref(stack, logical_id))


def test_the_local_stack_has_the_templates_queues(clients: Any, local_service: Any) -> None:
    deployment: Deployment = local_service.service.deployment
    sqs = clients("sqs")
    found = deployment.of_type("AWS::SQS::Queue")
    assert found, "the stacks have SQS queues (dead letters at least)"
    for stack, logical_id, resource in found:
        url = deployment.ref(stack, logical_id)
        assert url == sqs.get_queue_url(QueueName=deployment.physical_name(stack, logical_id))["QueueUrl"]
        assert url.startswith(local_service.env["AWS_ENDPOINT_URL"] + f"/{ACCOUNT}/")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == deployment.arn(stack, logical_id)
        properties = deployment.resolve(stack, resource.get("Properties", {}))
        for name in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        ):
            if name in properties:
                assert attributes[name] == str(properties[name]), (logical_id, name)
        if "RedrivePolicy" in properties:
            policy = json.loads(attributes["RedrivePolicy"])
            assert policy["deadLetterTargetArn"] == properties["RedrivePolicy"]["deadLetterTargetArn"]
            assert policy["maxReceiveCount"] == int(properties["RedrivePolicy"]["maxReceiveCount"])
    # the export workflow's and the schedules' dead letters: ARNs in the functions' environment exist
    arns = {deployment.arn(stack, logical_id) for stack, logical_id, _r in found}
    for function in deployment.functions():
        for value in function.environment.values():
            if value.startswith("arn:aws:sqs:"):
                assert value in arns


def test_the_deliveries_queue_and_its_mapping(clients: Any, local_service: Any) -> None:
    """The streaming pipeline's queue (docs/streaming.md), when the stack has it."""
    service = local_service.service
    deployment: Deployment = service.deployment
    mappings = queue_mappings(deployment)
    if not mappings:
        pytest.skip("the stack has no SQS event-source mapping (no Deliveries queue) yet")
    sqs = clients("sqs")
    (mapping,) = [m for m in mappings if "Deliverer" in m.function]  # AlertWork: test_local_alerts.py
    assert [p.mapping for p in service.queues].count(mapping) == 1  # polled, one poller per mapping
    assert mapping.batch_size == 5 and mapping.report_item_failures
    url = sqs.get_queue_url(QueueName=mapping.queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "720"
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 12
    dead_letters = sqs.get_queue_url(QueueName=policy["deadLetterTargetArn"].rsplit(":", 1)[-1])["QueueUrl"]
    assert dead_letters
    # the functions' DELIVERY_QUEUE_URL is the queue's URL, usable with a client on the emulation
    urls = {
        f.environment["DELIVERY_QUEUE_URL"]
        for f in deployment.functions()
        if "DELIVERY_QUEUE_URL" in f.environment
    }
    assert urls == {url}
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"] == (
        mapping.queue_arn
    )
    # deploy made no event-source mapping on moto: the poller runs it
    assert clients("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_local_mode_polls_its_sqs_mappings_and_allows_loopback_webhooks(local_service: Any) -> None:
    import os

    service = local_service.service
    assert os.environ["WEBHOOK_ALLOW_LOOPBACK"] == "true"
    assert len(service.queues) == len([m for m in queue_mappings(service.deployment) if m.enabled])


def test_drain_streaming_waits_until_the_stages_stop_feeding_each_other(clients: Any, queues: Any) -> None:
    """A stream record makes a message, whose handling writes another record, which makes another
    message: one pass of drains is not enough, drain_streaming repeats until a pass invokes nothing."""
    table = f"drain-{uuid.uuid4().hex[:12]}"
    dynamodb = clients("dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    url, arn = queues()
    handled: list[str] = []

    def router(name: str, event: dict[str, Any]) -> None:  # a record → a message
        for record in event["Records"]:
            clients("sqs").send_message(QueueUrl=url, MessageBody=record["dynamodb"]["Keys"]["pk"]["S"])

    def deliverer(event: dict[str, Any]) -> None:  # a message → the next record, three times
        for record in event["Records"]:
            handled.append(record["body"])
            step = int(record["body"])
            if step < 3:
                dynamodb.put_item(TableName=table, Item={"pk": {"S": str(step + 1)}})

    service = LocalService(port=0, env_file=None)  # not started: only its pollers
    service.streams = [StreamPoller(StreamMapping("S", "router", table), clients, router)]
    service.queues = [SqsPoller(SqsMapping("Q", "deliverer", arn), clients, Function(deliverer))]
    for poller in [*service.streams, *service.queues]:
        poller.start()
    try:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "1"}})
        service.drain_streaming(timeout=30)
        assert handled == ["1", "2", "3"]
    finally:
        for poller in [*service.streams, *service.queues]:
            poller.stop()
        dynamodb.delete_table(TableName=table)


def test_mappings_come_from_the_template() -> None:
    template = {
        "Resources": {
            "Deliveries": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 540}},
            "Events": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}},
            },
            "Deliverer": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "x.handler"}},
            "SqsMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Deliverer"},
                    "EventSourceArn": {"Fn::GetAtt": ["Deliveries", "Arn"]},
                    "BatchSize": 5,
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                },
            },
            "Off": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Deliverer"},
                    "EventSourceArn": {"Fn::GetAtt": ["Deliveries", "Arn"]},
                    "Enabled": False,
                    "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"body": {"v": [1]}})}]},
                    "MaximumBatchingWindowInSeconds": 2,
                },
            },
            "StreamMapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Deliverer"},
                    "EventSourceArn": {"Fn::GetAtt": ["Events", "StreamArn"]},
                },
            },
        }
    }
    deployment = Deployment({"S": template})
    off, on = queue_mappings(deployment)  # in logical-id order; the stream mapping is not one
    assert on == SqsMapping(
        "SqsMapping",
        deployment.physical_name("S", "Deliverer"),
        deployment.arn("S", "Deliveries"),
        batch_size=5,
        report_item_failures=True,
    )
    assert on.queue_name == "S-Deliveries"
    assert (off.enabled, off.batch_size, off.window_seconds, off.report_item_failures) == (
        False,
        10,
        2.0,
        False,
    )
    assert off.filters == ({"body": {"v": [1]}},)
