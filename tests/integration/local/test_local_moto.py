"""The embedded emulation: DynamoDB serialisation, Lambda routed to in-process handlers, mail capture.

These tests touch moto's internals through activitylog_ops.local.moto_lambda; if moto changes
(the pin is moto==5.2.5) they fail loudly rather than local mode silently echoing payloads.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import moto
import pytest
from activitylog_ops.local import moto_lambda
from activitylog_ops.local.invoker import InProcessInvoker
from activitylog_ops.local.moto_server import SerialisedDynamoDB
from activitylog_ops.local.template import FunctionSpec

Client = Callable[[str], Any]
ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == moto_lambda.SUPPORTED_MOTO


def test_server_runs_with_docker_free_lambda(moto_server: Any) -> None:
    assert moto_server.config()["lambda"] == {"use_docker": False}


def test_middleware_serialises_dynamodb_but_not_other_requests() -> None:
    # Given an app that records how many requests run at once
    active, peak = [0], {"ddb": 0, "other": 0}
    lock = threading.Lock()

    def slow_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        kind = "ddb" if "HTTP_X_AMZ_TARGET" in environ else "other"
        with lock:
            active[0] += 1
            peak[kind] = max(peak[kind], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        start_response("200 OK", [])
        return [b"ok"]

    app = SerialisedDynamoDB(slow_app)

    def run(environ: dict[str, Any]) -> None:
        assert list(app(environ, lambda *a: None)) == [b"ok"]

    # When 8 DynamoDB requests, then 8 other requests, arrive concurrently
    for environ in ({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.UpdateItem"}, {}):
        threads = [threading.Thread(target=run, args=(environ,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then DynamoDB ran one at a time, the rest concurrently
    assert peak["ddb"] == 1
    assert peak["other"] > 1


def test_concurrent_conditional_increments_never_over_count(boto_client: Client) -> None:
    # Given a counter with a limit of 40 and 16 threads each trying 10 conditional increments
    ddb, table = boto_client("dynamodb"), f"counters-{uuid.uuid4().hex}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=table, Item={"pk": {"S": "quota"}, "n": {"N": "0"}})
    limit, successes = 40, []
    clients = [boto_client("dynamodb") for _ in range(16)]

    def worker(client: Any) -> None:
        for _ in range(10):
            try:
                client.update_item(
                    TableName=table,
                    Key={"pk": {"S": "quota"}},
                    UpdateExpression="SET n = n + :one",
                    ConditionExpression="n < :limit",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(limit)}},
                )
                successes.append(1)
            except client.exceptions.ConditionalCheckFailedException:
                pass

    # (a tiny switch interval makes threads interleave inside moto: without the lock this
    # over-counts within a run or two; checked by disabling SerialisedDynamoDB)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=worker, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)

    # Then exactly `limit` increments succeeded and the stored count agrees
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "quota"}}, ConsistentRead=True)["Item"]
    assert int(item["n"]["N"]) == limit
    assert len(successes) == limit


@pytest.fixture
def echo_function(
    boto_client: Client, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterable[FunctionSpec]:
    (tmp_path / "local_echo_fn.py").write_text(
        "class Boom(Exception):\n    pass\n\n"
        "def handler(event, context):\n"
        "    if event.get('boom'):\n        raise Boom('boom!')\n"
        "    return {'got': event, 'fn': context.function_name}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"echo-{uuid.uuid4().hex[:12]}"
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    spec = FunctionSpec("s", "Echo", name, arn, "local_echo_fn.handler", {}, 30, 128)
    iam = boto_client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x.txt", "")
    boto_client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=spec.handler,
        Code={"ZipFile": archive.getvalue()},
    )
    invoker = InProcessInvoker([spec])
    moto_lambda.install(invoker)
    yield spec
    moto_lambda.uninstall(invoker)


def test_lambda_invoke_runs_the_handler_in_process(boto_client: Client, echo_function: FunctionSpec) -> None:
    lambda_ = boto_client("lambda")

    ok = lambda_.invoke(FunctionName=echo_function.name, Payload=json.dumps({"a": 1}))
    failed = lambda_.invoke(FunctionName=echo_function.arn, Payload=json.dumps({"boom": True}))

    assert "FunctionError" not in ok
    assert json.load(ok["Payload"]) == {"got": {"a": 1}, "fn": echo_function.name}
    assert failed["FunctionError"] == "Unhandled"
    error = json.load(failed["Payload"])
    assert (error["errorType"], error["errorMessage"]) == ("Boom", "boom!")


def test_step_functions_run_lambda_tasks_in_process(boto_client: Client, echo_function: FunctionSpec) -> None:
    # Given a state machine with a Lambda task (as CDK's LambdaInvoke synthesizes it)
    sfn = boto_client("stepfunctions")
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": echo_function.arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    machine = sfn.create_state_machine(
        name=echo_function.name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]

    # When it runs with a good and a failing input
    results = {}
    for name, payload in (("good", {"q": 2}), ("bad", {"boom": True})):
        execution = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))[
            "executionArn"
        ]
        deadline = time.monotonic() + 20
        while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "execution never finished"
            time.sleep(0.05)
        results[name] = described

    # Then the handler's result is the output, and its exception class is the error
    assert results["good"]["status"] == "SUCCEEDED"
    assert json.loads(results["good"]["output"]) == {"got": {"q": 2}, "fn": echo_function.name}
    assert results["bad"]["status"] == "FAILED"
    assert results["bad"]["error"] == "Boom"


def test_mail_keeps_both_parts_newest_first(boto_client: Client, moto_server: Any) -> None:
    ses, sesv2 = boto_client("ses"), boto_client("sesv2")
    ses.verify_email_identity(EmailAddress="noreply@example.com")  # idempotent
    ses.send_email(
        Source="noreply@example.com",
        Destination={"ToAddresses": ["a@example.com"]},
        Message={
            "Subject": {"Data": "v1"},
            "Body": {"Text": {"Data": "plain 1"}, "Html": {"Data": "<p>1</p>"}},
        },
    )
    sesv2.send_email(
        FromEmailAddress="noreply@example.com",
        Destination={"ToAddresses": ["b@example.com"], "CcAddresses": ["c@example.com"]},
        Content={
            "Simple": {
                "Subject": {"Data": "v2"},
                "Body": {"Text": {"Data": "plain 2"}, "Html": {"Data": "<p>2</p>"}},
            }
        },
    )
    raw = MIMEMultipart("alternative")
    raw["Subject"], raw["From"], raw["To"] = "raw", "noreply@example.com", "d@example.com"
    raw.attach(MIMEText("plain 3", "plain"))
    raw.attach(MIMEText("<p>3</p>", "html"))
    ses.send_raw_email(RawMessage={"Data": raw.as_bytes()})
    with pytest.raises(ses.exceptions.MessageRejected):
        ses.send_email(
            Source="unverified@example.org",
            Destination={"ToAddresses": ["x@example.com"]},
            Message={"Subject": {"Data": "no"}, "Body": {"Text": {"Data": "no"}}},
        )

    mail = moto_server.mail.messages()

    assert [(m["subject"], m["to"], m["text"], m["html"]) for m in mail] == [
        ("raw", ["d@example.com"], "plain 3", "<p>3</p>"),
        ("v2", ["b@example.com", "c@example.com"], "plain 2", "<p>2</p>"),
        ("v1", ["a@example.com"], "plain 1", "<p>1</p>"),
    ]
    assert all(m["sent_at"].endswith("Z") for m in mail)


def run_machine(sfn: Any, definition: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    machine = sfn.create_state_machine(
        name=f"m-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/r",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + 20
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "execution never finished"
        time.sleep(0.05)
    return dict(described)


def stepfunctions_errors(records: Iterable[logging.LogRecord]) -> list[str]:
    return [
        r.getMessage()
        for r in records
        if r.name.startswith("moto.stepfunctions") and r.levelno >= logging.ERROR
    ]


def test_an_absent_path_in_an_is_present_choice_logs_no_error(
    boto_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the export workflow's "has a settle time?" Choice (IsPresent on $.not_before)
    definition = {
        "StartAt": "Settled",
        "States": {
            "Settled": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.not_before", "IsPresent": True, "Next": "Wait"}],
                "Default": "Done",
            },
            "Wait": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    caplog.set_level(logging.INFO)

    # When it runs without the field, then it succeeds and nothing is logged as an error
    assert run_machine(boto_client("stepfunctions"), definition, {"run_id": "r"})["status"] == "SUCCEEDED"
    assert stepfunctions_errors(caplog.records) == []


@pytest.mark.parametrize(
    "state",
    [
        {"Type": "Pass", "InputPath": "$.missing", "End": True},
        {"Type": "Pass", "Parameters": {"x.$": "$.missing"}, "End": True},
    ],
)
def test_a_missing_path_that_fails_the_execution_is_still_logged(
    boto_client: Client, caplog: pytest.LogCaptureFixture, state: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO)

    described = run_machine(boto_client("stepfunctions"), {"StartAt": "S", "States": {"S": state}}, {"a": 1})

    assert described["status"] == "FAILED" and described["error"] == "States.Runtime"
    errors = stepfunctions_errors(caplog.records)
    assert any("States.Runtime" in e for e in errors), errors
    assert not any(e.startswith("Exception=NoSuchJsonPathError,") for e in errors)  # only that one is dropped
