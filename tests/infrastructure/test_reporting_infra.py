"""Reports (docs/reports.md, infra/constructs/reporting.py): the RollupWork queue and its dead letters,
the worker's mapping, who may send and consume rollup work, the worker's and the API's grants, the
routes behind the authorizer, each new function's environment against its model, the alarms and
the dashboard, cfn-lint over the queues and the cdk-nag acknowledgements of the report constructs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from activitylog.logic import rollups as rollup_logic
from activitylog.models import env as env_models
from aws_cdk import Validations
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint
from infra_support import Synth, as_list, methods_by_route, resources_of, role_statements

from infra.constructs import alerting, reporting
from infra.constructs.function_factory import COMMON_ENVIRONMENT
from infra.grants import EVENTS_INDEX_RESOURCE

LINT_REGIONS = ["us-east-1", "eu-west-1", "eu-north-1"]
REPORT_ROUTES = {("GET", "/v1/reports/activity"), ("GET", "/v1/reports/heatmap")}
CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}
DELETES = {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _variables(stateless: dict[str, Any], function_id: str) -> dict[str, Any]:
    return dict(stateless["Resources"][function_id]["Properties"]["Environment"]["Variables"])


def _table_export(stateful: dict[str, Any], table: str) -> dict[str, Any]:
    (name,) = [
        o["Export"]["Name"]
        for o in stateful["Outputs"].values()
        if o.get("Value") == {"Fn::GetAtt": [table, "Arn"]} and "Export" in o
    ]
    return {"Fn::ImportValue": name}


def _on(statements: list[dict[str, Any]], resource: Any) -> set[str]:
    """The actions the statements allow on exactly this resource."""
    return {
        a for s in statements for a in as_list(s["Action"]) for r in as_list(s["Resource"]) if r == resource
    }


def _services(statements: list[dict[str, Any]]) -> set[str]:
    return {a.split(":")[0] for s in statements for a in as_list(s["Action"])}


@pytest.fixture(scope="module")
def work(stateless: dict[str, Any]) -> str:
    (queue_id,) = [
        k
        for k in resources_of(stateless, "AWS::SQS::Queue")
        if k.startswith("ReportingRollupWork") and not k.startswith("ReportingRollupWorkDeadLetters")
    ]
    return queue_id


@pytest.fixture(scope="module")
def dead_letters(stateless: dict[str, Any]) -> str:
    (queue_id,) = [
        k
        for k in resources_of(stateless, "AWS::SQS::Queue")
        if k.startswith("ReportingRollupWorkDeadLetters")
    ]
    return queue_id


# --- the queue and its dead letters -----------------------------------------------------------------


def test_the_rollup_work_queue_outlasts_the_worker_and_dead_letters_after_10_receives(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str, dead_letters: str
) -> None:
    props = stateless["Resources"][work]["Properties"]
    worker = stateless["Resources"][functions_by_module["rollup_worker"]]["Properties"]
    assert worker["Timeout"] == reporting.WORKER.timeout_seconds == 300
    assert worker["MemorySize"] == 1024
    # AWS: at least six times the function's timeout, so a batch being retried is not handed out again
    assert props["VisibilityTimeout"] == 6 * worker["Timeout"] == 1800
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": _arn(dead_letters), "maxReceiveCount": 10}
    assert "DelaySeconds" not in props  # each message says its own delay (work not yet due)
    assert "MaximumMessageSize" not in props


def test_the_longest_delay_the_worker_asks_for_is_one_sqs_allows() -> None:
    # SendMessage's DelaySeconds is at most 900: a longer wait is several hops (logic/rollups.py)
    assert rollup_logic.MAX_DELAY_SECONDS == rollup_logic.LATE_DELAY_SECONDS == 900


@pytest.mark.parametrize("which", ["work", "dead_letters"])
def test_both_queues_refuse_plain_http(synth: Synth, which: str, request: pytest.FixtureRequest) -> None:
    queue_id = request.getfixturevalue(which)
    synth.stateless.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sqs:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_the_dead_letters_are_kept_14_days_encrypted_and_alarmed(
    synth: Synth, stateless: dict[str, Any], dead_letters: str
) -> None:
    props = stateless["Resources"][dead_letters]["Properties"]
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in props  # a dead-letter queue needs none
    synth.stateless.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dead_letters, "QueueName"]}}],
            "Statistic": "Maximum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AlarmTopicArn"}],
            "OKActions": [{"Ref": "AlarmTopicArn"}],
            "AlarmDescription": Match.string_like_regexp("RollupWork"),
        },
    )


def test_the_work_queue_is_on_the_dashboard_with_its_delayed_messages_not_alarmed(
    stateless: dict[str, Any], work: str
) -> None:
    # nearly every message waits on purpose (an hour not yet sealable): not an incident
    for alarm in resources_of(stateless, "AWS::CloudWatch::Alarm").values():
        assert json.dumps({"Fn::GetAtt": [work, "QueueName"]}) not in json.dumps(alarm["Properties"])
    (dashboard,) = resources_of(stateless, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert json.dumps({"Fn::GetAtt": [work, "QueueName"]}) in body
    for label in ("visible", "in flight or waiting to retry", "delayed"):
        assert f"RollupWork: {label}" in body, label
    assert "ApproximateNumberOfMessagesDelayed" in body


# --- the worker's mapping, who sends and who consumes --------------------------------------------------


def test_the_worker_consumes_rollup_work_in_batches_of_10_with_partial_failures(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str
) -> None:
    on_queue = [
        m["Properties"]
        for m in resources_of(stateless, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == _arn(work)
    ]
    (mapping,) = on_queue  # one consumer
    assert mapping["FunctionName"] == {"Ref": functions_by_module["rollup_worker"]}
    assert mapping["BatchSize"] == reporting.ROLLUP_WORK_BATCH == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": reporting.ROLLUP_CONCURRENCY}
    assert 2 <= reporting.ROLLUP_CONCURRENCY <= alerting.ALERT_CONCURRENCY  # SQS's minimum is 2
    assert "FilterCriteria" not in mapping and "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping.get("Enabled", True) is True


def test_the_router_the_api_and_the_worker_send_rollup_work_and_only_the_worker_consumes_it(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str
) -> None:
    senders, consumers = set(), set()
    for module, function_id in functions_by_module.items():
        actions = _on(role_statements(stateless, function_id), _arn(work))
        if "sqs:SendMessage" in actions:
            senders.add(module)
        if actions & CONSUME:
            assert actions >= CONSUME, (module, actions)
            consumers.add(module)
    # the router announces hours, the API asks for the hours an answer counted, the worker sends
    # back what is not yet due
    assert senders == {"stream_router", "reports", "rollup_worker"}
    assert consumers == {"rollup_worker"}


def test_those_that_send_rollup_work_are_told_where_it_goes(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str
) -> None:
    given = {m: _variables(stateless, f).get("ROLLUP_QUEUE_URL") for m, f in functions_by_module.items()}
    assert {m: v for m, v in given.items() if v is not None} == {
        "stream_router": {"Ref": work},
        "reports": {"Ref": work},
        "rollup_worker": {"Ref": work},
    }


# --- each function's environment is its model --------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "model"),
    [
        ("reports", env_models.ReportsEnv),
        ("rollup_worker", env_models.RollupWorkerEnv),
        ("stream_router", env_models.StreamRouterEnv),
    ],
)
def test_each_function_is_given_exactly_its_models_variables(
    stateless: dict[str, Any], functions_by_module: dict[str, str], module: str, model: type[Any]
) -> None:
    declared = {str(f.alias) for f in model.model_fields.values()} - {"WEBHOOK_ALLOW_LOOPBACK"}
    given = _variables(stateless, functions_by_module[module])
    assert set(given) == declared
    assert {k: given[k] for k in COMMON_ENVIRONMENT} == COMMON_ENVIRONMENT


# --- the worker's and the API's grants ---------------------------------------------------------------


def test_the_worker_reads_events_through_the_indexes_and_writes_rollups_without_deleting(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    statements = role_statements(stateless, functions_by_module["rollup_worker"])
    events = _table_export(stateful, "EventsTable")
    events_index = {"Fn::Join": ["", [events, "/index/*"]]}
    assert "dynamodb:Query" in _on(statements, events_index)  # by_time etc., the query path
    assert "dynamodb:BatchGetItem" in _on(statements, events)  # the documents
    assert not (_on(statements, events) | _on(statements, events_index)) & (
        {"dynamodb:PutItem", "dynamodb:UpdateItem"} | DELETES
    )  # the events are only read
    control = _table_export(stateful, "ControlTable")
    on_control = _on(statements, control)
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:Query"} <= on_control
    assert not on_control & DELETES
    control_index = {"Fn::Join": ["", [control, "/index/*"]]}
    assert _on(statements, control_index) == set()


def test_the_reports_api_reads_and_only_claims_jobs(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    statements = role_statements(stateless, functions_by_module["reports"])
    events = _table_export(stateful, "EventsTable")
    events_index = {"Fn::Join": ["", [events, "/index/*"]]}
    assert "dynamodb:Query" in _on(statements, events_index)
    assert not (_on(statements, events) | _on(statements, events_index)) & (
        {"dynamodb:PutItem", "dynamodb:UpdateItem"} | DELETES
    )
    on_control = _on(statements, _table_export(stateful, "ControlTable"))
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"} <= on_control  # RUJOB# claims
    assert not on_control & ({"dynamodb:UpdateItem"} | DELETES)


@pytest.mark.parametrize("module", ["reports", "rollup_worker"])
def test_the_report_functions_reach_only_their_services(
    stateless: dict[str, Any], functions_by_module: dict[str, str], module: str
) -> None:
    statements = role_statements(stateless, functions_by_module[module])
    assert _services(statements) == {"dynamodb", "sqs", "logs", "xray"}  # no mail, no bucket, no account


# --- routes, alarms ---------------------------------------------------------------------------------


def test_every_report_route_is_the_reports_function_behind_the_authorizer(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (authorizer_id,) = resources_of(stateless, "AWS::ApiGateway::Authorizer")
    routes = methods_by_route(stateless)
    assert {
        r for r in routes if r[1].startswith("/v1/reports") and r[0] not in ("ANY", "OPTIONS")
    } == REPORT_ROUTES
    for route in REPORT_ROUTES:
        method = routes[route]
        assert method["AuthorizationType"] == "CUSTOM" and method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True  # the tenant's rate limit (docs/infrastructure.md)
        assert functions_by_module["reports"] in json.dumps(method["Integration"]["Uri"]), route
        # the other methods answer 405, the preflight CORS (as on every route)
        assert ("ANY", route[1]) in routes and ("OPTIONS", route[1]) in routes
    props = stateless["Resources"][functions_by_module["reports"]]["Properties"]
    assert props["Timeout"] == 25 and props["MemorySize"] == 1024  # below API Gateway's 29 s


@pytest.mark.parametrize("module", ["reports", "rollup_worker"])
def test_both_functions_have_error_and_throttle_alarms(
    stateless: dict[str, Any], functions_by_module: dict[str, str], module: str
) -> None:
    watched = {
        a["Properties"]["MetricName"]
        for a in resources_of(stateless, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Dimensions")
        == [{"Name": "FunctionName", "Value": {"Ref": functions_by_module[module]}}]
    }
    assert watched == {"Errors", "Throttles"}


# --- cfn-lint and cdk-nag -------------------------------------------------------------------------


def _queues_template(stateless: dict[str, Any], work: str, dead_letters: str) -> dict[str, Any]:
    """The two queues and their policies as synthesized: they refer to each other only."""
    resources = {lid: stateless["Resources"][lid] for lid in (work, dead_letters)}
    for lid, policy in resources_of(stateless, "AWS::SQS::QueuePolicy").items():
        if policy["Properties"]["Queues"] in ([{"Ref": work}], [{"Ref": dead_letters}]):
            resources[lid] = policy
    assert len(resources) == 4
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": json.loads(json.dumps(resources))}


def _lint(template: dict[str, Any]) -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=LINT_REGIONS))
    return [f"{m.rule.id} {m.message}" for m in matches]


def test_cfn_lint_passes_the_rollup_queues_and_fails_a_broken_one(
    stateless: dict[str, Any], work: str, dead_letters: str
) -> None:
    template = _queues_template(stateless, work, dead_letters)
    assert _lint(template) == []  # the whole template: tests/infrastructure/test_compliance.py
    template["Resources"][work]["Properties"]["VisibilityTimeout"] = 13 * 3600  # over SQS's 12 hours
    assert any(line.startswith("E") for line in _lint(template))


def _acknowledged(synth: Synth, path: str) -> set[str]:
    construct = synth.app.node.find_child("ActivityLog-Stateless")
    for part in path.split("/"):
        construct = construct.node.find_child(part)
    rules: set[str] = set()
    for entry in construct.node.metadata:
        if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
            rules |= {r.removeprefix("AwsSolutions::") for r in entry.data}
    return rules


def test_cdk_nag_findings_of_the_report_constructs_are_exactly_these(synth: Synth) -> None:
    # synthesis ran with cdk-nag (conftest): whatever else it found on these constructs failed it
    index = f"AwsSolutions-IAM5[{EVENTS_INDEX_RESOURCE}]"
    assert _acknowledged(synth, "Reporting/RollupWorkDeadLetters") == {"AwsSolutions-SQS3"}
    assert _acknowledged(synth, "Reporting/RollupWork") == set()  # it has its dead-letter queue
    for role in ("ReportsRole", "RollupWorkerRole"):
        assert _acknowledged(synth, f"Functions/{role}") == {"AwsSolutions-IAM5[Resource::*]", index}
    for function in ("Reports", "RollupWorker"):
        assert _acknowledged(synth, f"Functions/{function}") == {"AwsSolutions-L1"}
