"""Local mode's SQS pieces that need no emulation: Lambda's SQS event from ReceiveMessage's answer,
the partial-batch response, the queues' CreateQueue attributes, names and Refs
(the poller and the deployment against moto: tests/integration/local/test_local_queues.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from activitylog_ops.local.deploy import queue_attributes, redrive_policy
from activitylog_ops.local.queues import failed_message_ids, sqs_event
from activitylog_ops.local.template import Deployment

ARN = "arn:aws:sqs:us-east-1:123456789012:work"
IDS = ["m1", "m2", "m3"]


def test_the_event_has_lambdas_record_shape() -> None:
    received = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "MD5OfBody": "md5",
        "Body": "{}",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SenderId": "S"},
        "MD5OfMessageAttributes": "md5a",
        "MessageAttributes": {
            "b": {"DataType": "Binary", "BinaryValue": b"hi", "BinaryListValues": [b"\x00"]},
            "s": {"DataType": "String", "StringValue": "v", "StringListValues": ["x"]},
        },
    }
    (record,) = sqs_event([received], queue_arn=ARN)["Records"]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "rh",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1", "SenderId": "S"},
        "messageAttributes": {
            "b": {
                "binaryValue": "aGk=",
                "stringListValues": [],
                "binaryListValues": ["AA=="],
                "dataType": "Binary",
            },
            "s": {
                "stringValue": "v",
                "stringListValues": ["x"],
                "binaryListValues": [],
                "dataType": "String",
            },
        },
        "md5OfBody": "md5",
        "md5OfMessageAttributes": "md5a",
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "us-east-1",
    }


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
        # invalid: the whole batch failed, as Lambda treats it
        ({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "other"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"messageId": "m1"}]}, set(IDS)),
        ({"batchItemFailures": ["m1"]}, set(IDS)),
        ({"batchItemFailures": {"itemIdentifier": "m1"}}, set(IDS)),
        ("m1", set(IDS)),
        ([], set(IDS)),
    ],
)
def test_partial_batch_responses(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, IDS, report_item_failures=True) == failed


def test_without_report_batch_item_failures_a_response_is_not_read() -> None:
    answer = {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert failed_message_ids(answer, IDS, report_item_failures=False) == set()
    assert failed_message_ids("junk", IDS, report_item_failures=False) == set()


def test_queue_attributes_are_sqs_strings_without_encryption() -> None:
    properties = {
        "VisibilityTimeout": 540,
        "MessageRetentionPeriod": 1209600,
        "DelaySeconds": 0,
        "ReceiveMessageWaitTimeSeconds": 20,
        "FifoQueue": True,
        "SqsManagedSseEnabled": True,
        "KmsMasterKeyId": "alias/aws/sqs",
        "RedrivePolicy": {"deadLetterTargetArn": ARN, "maxReceiveCount": 12},
        "QueueName": "x.fifo",
    }
    assert queue_attributes(properties) == {
        "VisibilityTimeout": "540",
        "MessageRetentionPeriod": "1209600",
        "DelaySeconds": "0",
        "ReceiveMessageWaitTimeSeconds": "20",
        "FifoQueue": "true",
    }
    assert json.loads(redrive_policy(properties) or "") == {"deadLetterTargetArn": ARN, "maxReceiveCount": 12}
    as_text = {"RedrivePolicy": json.dumps({"deadLetterTargetArn": ARN, "maxReceiveCount": "3"})}
    assert json.loads(redrive_policy(as_text) or "")["maxReceiveCount"] == 3
    assert redrive_policy({}) is None


def test_queue_names_refs_and_arns() -> None:
    long_id = "Q" * 100
    template = {
        "Resources": {
            "Work": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Named": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "given"}},
            "Ordered": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
            long_id: {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": "true"}},
        }
    }
    on_aws = Deployment({"S": template})
    local = Deployment({"S": template}, endpoint_url="http://127.0.0.1:5555/")
    assert on_aws.ref("S", "Work") == "https://sqs.us-east-1.amazonaws.com/123456789012/S-Work"
    assert local.ref("S", "Work") == "http://127.0.0.1:5555/123456789012/S-Work"
    assert local.resolve("S", {"Fn::GetAtt": ["Work", "QueueUrl"]}) == local.ref("S", "Work")
    assert local.resolve("S", {"Fn::GetAtt": ["Named", "QueueName"]}) == "given"
    assert local.arn("S", "Named") == "arn:aws:sqs:us-east-1:123456789012:given"
    assert local.physical_name("S", "Ordered") == "S-Ordered.fifo"
    long_name = local.physical_name("S", long_id)
    assert len(long_name) == 80 and long_name.endswith(".fifo")
