"""Local mode's stream pollers (issue 15, item 1): event-source mappings on DynamoDB Streams run
as Lambda runs them (filters, batches, partial failures, retries, bisection, on-failure), reading
moto's stream through the public API. If moto changes how it records streams, these fail."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from activitylog_ops.local.streams import (
    StreamMapping,
    StreamPoller,
    UnsupportedFilterError,
    matches,
    stream_mappings,
)
from activitylog_ops.local.template import Deployment


@pytest.fixture
def clients(local_service: Any) -> Iterator[Any]:
    """Clients of the session's shared emulation, with a table of this test's own (an in-process
    `mock_aws` would reset moto's process-wide state, and with it the local stack later tests use)."""
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

    client.table = f"streams-{uuid.uuid4().hex[:12]}"  # type: ignore[attr-defined]
    client("dynamodb").create_table(
        TableName=client.table,  # type: ignore[attr-defined]
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    try:
        yield client
    finally:
        client("dynamodb").delete_table(TableName=client.table)  # type: ignore[attr-defined]


def put(clients: Any, n: int, *, sk: str = "E#") -> None:
    for i in range(n):
        clients("dynamodb").put_item(
            TableName=clients.table, Item={"pk": {"S": f"p{i}"}, "sk": {"S": f"{sk}{i:04}"}}
        )


class Function:
    def __init__(self, answer: Any = None) -> None:
        self.batches: list[list[str]] = []
        self.answer = answer

    def __call__(self, name: str, event: dict[str, Any]) -> Any:
        keys = [r["dynamodb"]["Keys"]["sk"]["S"] for r in event["Records"]]
        self.batches.append(keys)
        assert all(
            r["eventSource"] == "aws:dynamodb" and "NewImage" in r["dynamodb"] for r in event["Records"]
        )
        return self.answer(keys, event) if callable(self.answer) else None


def run(clients: Any, mapping: StreamMapping, function: Function) -> StreamPoller:
    poller = StreamPoller(mapping, clients, function, sleep=lambda s: None)
    poller.start()
    return poller


def test_records_arrive_in_order_in_batches_of_the_batch_size(clients: Any) -> None:
    function = Function()
    poller = run(clients, StreamMapping("M", "router", clients.table, batch_size=10), function)
    try:
        put(clients, 25)
        poller.drain()
    finally:
        poller.stop()
    flat = [k for batch in function.batches for k in batch]
    assert flat == [f"E#{i:04}" for i in range(25)]
    assert max(len(b) for b in function.batches) <= 10


def test_only_records_matching_a_filter_reach_the_function(clients: Any) -> None:
    pattern = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": "E#"}]}}}}
    function = Function()
    poller = run(clients, StreamMapping("M", "router", clients.table, filters=(pattern,)), function)
    try:
        put(clients, 3, sk="IDX#")
        put(clients, 2, sk="E#")
        poller.drain()
    finally:
        poller.stop()
    assert [k for b in function.batches for k in b] == ["E#0000", "E#0001"]


def test_a_partial_failure_retries_from_the_first_failed_record(clients: Any) -> None:
    failed_once: set[str] = set()

    def answer(keys: list[str], event: dict[str, Any]) -> Any:
        for record in event["Records"]:
            key = record["dynamodb"]["Keys"]["sk"]["S"]
            if key == "E#0003" and key not in failed_once:
                failed_once.add(key)
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    function = Function(answer)
    poller = run(clients, StreamMapping("M", "router", clients.table, report_item_failures=True), function)
    try:
        put(clients, 6)
        poller.drain()
    finally:
        poller.stop()
    delivered = [k for b in function.batches for k in b]
    # E#0000-2 once; E#0003 onward again after the failure (the contract's at-least-once)
    assert delivered.count("E#0000") == 1 and delivered.count("E#0003") == 2
    assert set(delivered) == {f"E#{i:04}" for i in range(6)}


def test_an_invalid_partial_response_fails_the_whole_batch(clients: Any) -> None:
    calls = []

    def answer(keys: list[str], event: dict[str, Any]) -> Any:
        calls.append(keys)
        return {"batchItemFailures": [{"itemIdentifier": "nope"}]} if len(calls) == 1 else None

    function = Function(answer)
    poller = run(clients, StreamMapping("M", "router", clients.table, report_item_failures=True), function)
    try:
        put(clients, 3)
        poller.drain()
    finally:
        poller.stop()
    assert calls[0] == calls[1]  # the same records again, from the first


def test_errors_are_bisected_and_exhausted_batches_go_to_the_on_failure_queue(clients: Any) -> None:
    dlq = f"dlq-{uuid.uuid4().hex[:12]}"
    queue = clients("sqs").create_queue(QueueName=dlq)["QueueUrl"]

    def answer(keys: list[str], event: dict[str, Any]) -> Any:
        if "E#0002" in keys:
            raise RuntimeError("poison")
        return None

    mapping = StreamMapping(
        "M",
        "router",
        clients.table,
        bisect=True,
        max_retries=2,
        on_failure=f"arn:aws:sqs:us-east-1:123456789012:{dlq}",
    )
    function = Function(answer)
    poller = run(clients, mapping, function)
    try:
        put(clients, 4)
        poller.drain()
    finally:
        poller.stop()
    handled = {k for b in function.batches if "E#0002" not in b for k in b}
    assert handled == {"E#0000", "E#0001", "E#0003"}  # everything but the poison record got through
    messages = clients("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    (body,) = [json.loads(m["Body"]) for m in messages]
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["DDBStreamBatchInfo"]["batchSize"] == 1


def test_latest_starts_after_what_was_written_before(clients: Any) -> None:
    put(clients, 3, sk="OLD#")
    function = Function()
    poller = run(clients, StreamMapping("M", "router", clients.table, starting_position="LATEST"), function)
    try:
        put(clients, 2)
        poller.drain()
    finally:
        poller.stop()
    assert [k for b in function.batches for k in b] == ["E#0000", "E#0001"]


@pytest.mark.parametrize(
    ("pattern", "record", "matched"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": "y"}, False),
        ({"a": [{"prefix": "E#"}]}, {"a": "E#1"}, True),
        ({"a": [{"exists": True}]}, {}, False),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "y"}, True),
        ({"a": [{"anything-but": ["x"]}]}, {"a": "x"}, False),
        ({"a": {"b": ["1", "2"]}}, {"a": {"b": "2"}}, True),
        ({"a": {"b": ["1"]}, "c": ["z"]}, {"a": {"b": "1"}, "c": "y"}, False),
    ],
)
def test_filter_patterns(pattern: dict[str, Any], record: dict[str, Any], matched: bool) -> None:
    assert matches(pattern, record) is matched


def test_unsupported_operators_fail_loudly() -> None:
    with pytest.raises(UnsupportedFilterError):
        matches({"a": [{"numeric": [">", 1]}]}, {"a": 2})


def test_mappings_come_from_the_template() -> None:
    template = {
        "Resources": {
            "Events": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {"StreamSpecification": {"StreamViewType": "NEW_IMAGE"}},
            },
            "Router": {"Type": "AWS::Lambda::Function", "Properties": {"Handler": "x.handler"}},
            "Mapping": {
                "Type": "AWS::Lambda::EventSourceMapping",
                "Properties": {
                    "FunctionName": {"Ref": "Router"},
                    "EventSourceArn": {"Fn::GetAtt": ["Events", "StreamArn"]},
                    "BatchSize": 50,
                    "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
                    "FunctionResponseTypes": ["ReportBatchItemFailures"],
                    "MaximumRetryAttempts": 5,
                    "BisectBatchOnFunctionError": True,
                    "StartingPosition": "LATEST",
                },
            },
        }
    }
    deployment = Deployment({"S": template})
    (mapping,) = stream_mappings(deployment)
    assert mapping.table == deployment.physical_name("S", "Events")
    assert mapping.function == deployment.physical_name("S", "Router")
    assert (mapping.batch_size, mapping.report_item_failures, mapping.max_retries, mapping.bisect) == (
        50,
        True,
        5,
        True,
    )
    assert mapping.filters == ({"eventName": ["INSERT"]},) and mapping.starting_position == "LATEST"
