"""Least privilege: parse each function role's statements and check what it may do to which table."""

from __future__ import annotations

import json
from typing import Any

import pytest
from infra_support import as_list, export_to_table, role_statements, table_target

READ_ACTIONS = {
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
}
WRITE_ACTIONS = {
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:TransactWriteItems",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
}
STREAMING_MODULES = {"stream_router", "deliverer", "destinations"}
ALERTING_MODULES = {"alert_evaluator"}  # SQS and SES besides DynamoDB: test_alerting_infra.py
REPORTING_MODULES = {
    "reports",
    "rollup_worker",
}  # SQS (rollup work) besides DynamoDB: test_reporting_infra.py
KEY_ONLY_CONDITION = {
    "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk"]},
    "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
}


def grants(
    stateless: dict[str, Any], stateful: dict[str, Any], function_id: str
) -> list[tuple[str, str, bool, dict[str, Any]]]:
    """(action, table logical ID, on an index, condition) for every DynamoDB action of a function.

    Fails on a DynamoDB action whose resource is not a known table: '*' or anything unparsed.
    """
    exports = export_to_table(stateful)
    found = []
    for statement in role_statements(stateless, function_id):
        assert statement["Effect"] == "Allow"
        actions = as_list(statement["Action"])
        assert not any(a == "*" or a.endswith(":*") for a in actions), actions
        dynamo = [a for a in actions if a.startswith("dynamodb:")]
        for resource in as_list(statement["Resource"]):
            target = table_target(resource, exports)
            if dynamo:
                assert target is not None, f"DynamoDB actions on a non-table resource {resource}"
                found += [(a, target[0], target[1], statement.get("Condition", {})) for a in dynamo]
    return found


def test_non_data_permissions_are_only_tracing_and_own_logs(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    for module, fid in functions_by_module.items():
        if module.startswith("export"):
            continue  # S3, Step Functions, SES, Secrets Manager: test_exports_infra.py
        if module in STREAMING_MODULES:
            continue  # SQS, the stream, SES, sts:AssumeRole: test_streaming_infra.py
        if module in ALERTING_MODULES:
            continue  # SQS (alert work in, deliveries out), SES: test_alerting_infra.py
        if module in REPORTING_MODULES:
            continue  # SQS (rollup work in and out): test_reporting_infra.py
        log_group = stateless["Resources"][fid]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        for statement in role_statements(stateless, fid):
            actions = set(as_list(statement["Action"]))
            if actions & {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}:
                assert actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
            elif any(a.startswith("logs:") for a in actions):
                assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}
                assert statement["Resource"] == {"Fn::GetAtt": [log_group, "Arn"]}
            elif module == "ingest" and any(a.startswith("ses:") for a in actions):
                # quota warnings: send as the configured sender identity, nothing else
                assert actions == {"ses:SendEmail", "ses:SendRawEmail"}
                assert "identity/" in json.dumps(statement["Resource"]) and "*" not in json.dumps(
                    statement["Resource"]
                )
            else:
                assert all(a.startswith("dynamodb:") for a in actions), actions


def test_ingest_cannot_read_events(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    on_events = [
        g for g in grants(stateless, stateful, functions_by_module["ingest"]) if g[1] == "EventsTable"
    ]
    actions = {a for a, *_ in on_events}
    assert {"dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"} <= actions
    assert not actions & {"dynamodb:Query", "dynamodb:Scan", "dynamodb:GetItem", "dynamodb:TransactGetItems"}
    assert not [g for g in on_events if g[2]], "ingest needs no index of the events table"
    batch_gets = [g for g in on_events if g[0] == "dynamodb:BatchGetItem"]
    assert batch_gets and all(cond == KEY_ONLY_CONDITION for *_, cond in batch_gets)


def test_ingest_reads_and_updates_control_and_uses_idempotency_table(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    found = grants(stateless, stateful, functions_by_module["ingest"])
    control = {a for a, table, *_ in found if table == "ControlTable"}
    assert {"dynamodb:GetItem", "dynamodb:UpdateItem"} <= control
    assert not control & {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    idempotency = {a for a, table, *_ in found if table == "IdempotencyTable"}
    assert {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    } <= idempotency


def test_query_never_writes(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    found = grants(stateless, stateful, functions_by_module["query"])
    assert not {a for a, *_ in found} & WRITE_ACTIONS
    assert {a for a, *_ in found} <= READ_ACTIONS
    assert {table for _, table, *_ in found} == {"EventsTable", "ControlTable"}
    on_event_indexes = {a for a, table, index, _ in found if table == "EventsTable" and index}
    assert "dynamodb:Query" in on_event_indexes


def test_authorizer_only_reads_the_control_table_and_stamps_last_use(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    found = grants(stateless, stateful, functions_by_module["authorizer"])
    assert found
    assert {table for _, table, *_ in found} == {"ControlTable"}
    assert {a for a, *_ in found} <= READ_ACTIONS | {"dynamodb:UpdateItem"}
    assert not any(index for *_, index, _ in found)


def test_admin_manages_the_control_table_and_only_appends_audit_events(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    found = grants(stateless, stateful, functions_by_module["admin"])
    on_events = {a for a, table, index, _ in found if table == "EventsTable"}
    assert on_events and on_events.isdisjoint(READ_ACTIONS - {"dynamodb:DescribeTable"})
    assert not any(index for _, table, index, _ in found if table == "EventsTable")
    control = {a for a, table, _, _ in found if table == "ControlTable"}
    assert {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query"} <= control
    assert {table for _, table, *_ in found} == {"EventsTable", "ControlTable"}


def test_docs_has_no_dynamodb_access(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    assert grants(stateless, stateful, functions_by_module["docs"]) == []
    for statement in role_statements(stateless, functions_by_module["docs"]):
        assert not [a for a in as_list(statement["Action"]) if a.startswith("dynamodb:")]


@pytest.mark.parametrize(
    ("statement", "should_fail"),
    [
        ({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, True),
    ],
)
def test_the_parser_rejects_wildcards(statement: dict[str, Any], should_fail: bool) -> None:
    # Given a role whose policy grants DynamoDB on '*' / Then the parser refuses it (tests can fail)
    stateless = {
        "Resources": {
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"Role": {"Fn::GetAtt": ["R", "Arn"]}}},
            "R": {"Type": "AWS::IAM::Role", "Properties": {}},
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": {"Statement": [statement]}},
            },
        }
    }
    with pytest.raises(AssertionError):
        grants(stateless, {"Outputs": {}}, "Fn")
    assert should_fail
