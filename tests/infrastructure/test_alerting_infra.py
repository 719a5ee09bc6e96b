"""Alerts (docs/alerts.md, infra/constructs/alerting.py): the AlertWork queue and its dead letters,
the evaluator's mapping, who may send and consume alert work, the evaluator's and the API's grants,
the console URL of firing emails (and no dependency cycle for it), the routes, the alarms, cfn-lint
over the queues and the cdk-nag acknowledgements of the alert constructs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import Validations
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint
from infra_support import Synth, as_list, methods_by_route, resources_of, role_statements

from infra.constructs import alerting
from infra.grants import EVENTS_INDEX_RESOURCE

LINT_REGIONS = ["us-east-1", "eu-west-1", "eu-north-1"]
ALERT_ROUTES = {
    ("POST", "/v1/alerts"),
    ("GET", "/v1/alerts"),
    ("POST", "/v1/alerts/preview"),
    ("GET", "/v1/alerts/{alert_id}"),
    ("PUT", "/v1/alerts/{alert_id}"),
    ("DELETE", "/v1/alerts/{alert_id}"),
    ("GET", "/v1/alerts/{alert_id}/firings"),
}
# What a TransactWriteItems of a state's Update and its firings' Puts is authorised by (DynamoDB has
# no action for the transaction itself: "Using IAM with DynamoDB transactions").
TRANSACTION = {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:ConditionCheckItem"}
CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"}


def _one(template: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in resources_of(template, kind).items() if k.startswith(prefix)]
    return found


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
        if k.startswith("AlertingAlertWork") and not k.startswith("AlertingAlertWorkDeadLetters")
    ]
    return queue_id


@pytest.fixture(scope="module")
def dead_letters(stateless: dict[str, Any]) -> str:
    return _one(stateless, "AWS::SQS::Queue", "AlertingAlertWorkDeadLetters")[0]


# --- the queue and its dead letters -----------------------------------------------------------------


def test_the_alert_work_queue_outlasts_the_evaluator_and_dead_letters_after_10_receives(
    synth: Synth, stateless: dict[str, Any], functions_by_module: dict[str, str], work: str, dead_letters: str
) -> None:
    props = stateless["Resources"][work]["Properties"]
    timeout = stateless["Resources"][functions_by_module["alert_evaluator"]]["Properties"]["Timeout"]
    assert timeout == alerting.EVALUATOR.timeout_seconds == 60
    # AWS: at least six times the function's timeout, so a batch being retried is not handed out again
    assert props["VisibilityTimeout"] >= 6 * timeout and props["VisibilityTimeout"] == 360
    assert props["SqsManagedSseEnabled"] is True
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props["RedrivePolicy"] == {"deadLetterTargetArn": _arn(dead_letters), "maxReceiveCount": 10}
    assert "MaximumMessageSize" not in props  # SQS's 256 KiB: the router's messages are cut below it
    assert "DelaySeconds" not in props  # alert work is wanted at once


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
            "AlarmDescription": Match.string_like_regexp("AlertWork"),
        },
    )


def test_the_work_queue_itself_is_on_the_dashboard_not_alarmed(stateless: dict[str, Any], work: str) -> None:
    # a burst of alert work is not an incident; what failed 10 times is (the dead letters' alarm)
    for alarm in resources_of(stateless, "AWS::CloudWatch::Alarm").values():
        assert json.dumps({"Fn::GetAtt": [work, "QueueName"]}) not in json.dumps(alarm["Properties"])
    (dashboard,) = resources_of(stateless, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert json.dumps({"Fn::GetAtt": [work, "QueueName"]}) in body
    assert "AlertWork: visible" in body and "AlertWork: in flight or waiting to retry" in body


# --- the evaluator's mapping, who sends and who consumes ------------------------------------------------


def test_the_evaluator_consumes_alert_work_in_batches_of_10_with_partial_failures(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str
) -> None:
    on_queue = [
        m["Properties"]
        for m in resources_of(stateless, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == _arn(work)
    ]
    (mapping,) = on_queue  # one consumer
    assert mapping["FunctionName"] == {"Ref": functions_by_module["alert_evaluator"]}
    assert mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": alerting.ALERT_CONCURRENCY}
    assert "FilterCriteria" not in mapping and "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping.get("Enabled", True) is True


def test_only_the_router_sends_alert_work_and_only_the_evaluator_consumes_it(
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
    assert senders == {"stream_router"}
    assert consumers == {"alert_evaluator"}


def test_the_router_is_told_where_alert_work_goes(
    stateless: dict[str, Any], functions_by_module: dict[str, str], work: str
) -> None:
    given = {m: _variables(stateless, f).get("ALERT_QUEUE_URL") for m, f in functions_by_module.items()}
    assert {m: v for m, v in given.items() if v is not None} == {"stream_router": {"Ref": work}}


# --- the evaluator's and the API's grants -------------------------------------------------------------


def test_the_evaluator_writes_its_transactions_on_the_control_tables_keys_only(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    statements = role_statements(stateless, functions_by_module["alert_evaluator"])
    control = _table_export(stateful, "ControlTable")
    on_control = _on(statements, control)
    assert on_control >= TRANSACTION | {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem"}
    events = _table_export(stateful, "EventsTable")
    on_events = _on(statements, events)
    assert {"dynamodb:BatchGetItem", "dynamodb:PutItem"} <= on_events  # the firing's events, its event
    indexes = [r for s in statements for r in as_list(s["Resource"]) if "/index/" in json.dumps(r)]
    assert indexes == []  # keys only: no index of either table


def test_the_alert_functions_reach_only_their_services(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    evaluator = role_statements(stateless, functions_by_module["alert_evaluator"])
    assert _services(evaluator) == {"dynamodb", "sqs", "ses", "logs", "xray"}
    deliveries, _ = _one(stateless, "AWS::SQS::Queue", "StreamingDeliveries")
    assert "sqs:SendMessage" in _on(evaluator, _arn(deliveries))  # a firing's deliveries
    ses = [s for s in evaluator if any(a.startswith("ses:") for a in as_list(s["Action"]))]
    (sending,) = ses
    assert set(as_list(sending["Action"])) == {"ses:SendEmail", "ses:SendRawEmail"}
    assert "identity/exports@example.com" in json.dumps(sending["Resource"])  # the sender only
    api = role_statements(stateless, functions_by_module["alerts"])
    assert _services(api) == {"dynamodb", "logs", "xray"}  # no queue, no mail, no other account


def test_the_alerts_api_reads_events_through_the_indexes_and_only_appends(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    statements = role_statements(stateless, functions_by_module["alerts"])
    events = _table_export(stateful, "EventsTable")
    index = {"Fn::Join": ["", [events, "/index/*"]]}
    assert {"dynamodb:Query", "dynamodb:BatchGetItem"} <= _on(statements, events) | _on(statements, index)
    assert "dynamodb:Query" in _on(statements, index)  # the preview's query path
    assert not _on(statements, index) & {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


# --- the console URL of firing emails -----------------------------------------------------------------


def test_firing_emails_link_to_the_cloudfront_console(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (distribution,) = resources_of(stateless, "AWS::CloudFront::Distribution")
    expected = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}, "/console/"]]}
    given = {m: _variables(stateless, f).get("CONSOLE_URL") for m, f in functions_by_module.items()}
    assert {m: v for m, v in given.items() if v is not None} == {"alert_evaluator": expected}
    assert stateless["Outputs"]["ConsoleUrl"]["Value"] == expected  # the address operators are given


def _dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """Logical ID -> the resources it refers to (Ref, GetAtt, Sub) or names in DependsOn."""
    resources = template["Resources"]

    def refs(value: Any, found: set[str]) -> None:
        if isinstance(value, list):
            for item in value:
                refs(item, found)
        elif isinstance(value, dict):
            for key, arg in value.items():
                if key == "Ref" and arg in resources:
                    found.add(arg)
                elif key == "Fn::GetAtt":
                    name = arg[0] if isinstance(arg, list) else arg.split(".", 1)[0]
                    found.add(name)
                elif key == "Fn::Sub":
                    text = arg if isinstance(arg, str) else arg[0]
                    found.update(n for n in re.findall(r"\$\{([^}.!]+)", text) if n in resources)
                    refs(arg, found)
                else:
                    refs(arg, found)

    graph = {}
    for logical_id, resource in resources.items():
        found: set[str] = set()
        refs(resource.get("Properties", {}), found)
        found.update(as_list(resource.get("DependsOn", [])))
        graph[logical_id] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state and following in graph:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return None


def test_the_console_url_closes_no_dependency_cycle(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    # CloudFront's origin is the API, the API's methods name their functions: the evaluator, behind
    # no route, may depend on the distribution; the Alerts API function must not
    graph = _dependencies(stateless)
    assert _cycle(graph) is None
    (distribution,) = resources_of(stateless, "AWS::CloudFront::Distribution")
    assert distribution in graph[functions_by_module["alert_evaluator"]]
    assert distribution not in graph[functions_by_module["alerts"]]


def test_the_cycle_check_finds_a_planted_cycle(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    planted = json.loads(json.dumps(stateless))
    (distribution,) = resources_of(planted, "AWS::CloudFront::Distribution")
    alerts = planted["Resources"][functions_by_module["alerts"]]
    alerts["Properties"]["Environment"]["Variables"]["CONSOLE_URL"] = {
        "Fn::GetAtt": [distribution, "DomainName"]
    }
    cycle = _cycle(_dependencies(planted))
    assert cycle is not None and distribution in cycle and functions_by_module["alerts"] in cycle


# --- routes, alarms ---------------------------------------------------------------------------------


def test_every_alert_route_is_the_alerts_function_behind_the_authorizer(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (authorizer_id,) = resources_of(stateless, "AWS::ApiGateway::Authorizer")
    routes = methods_by_route(stateless)
    assert {
        r for r in routes if r[1].startswith("/v1/alerts") and r[0] not in ("ANY", "OPTIONS")
    } == ALERT_ROUTES
    for route in ALERT_ROUTES:
        method = routes[route]
        assert method["AuthorizationType"] == "CUSTOM" and method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True  # the tenant's rate limit (docs/infrastructure.md)
        assert functions_by_module["alerts"] in json.dumps(method["Integration"]["Uri"]), route
    # the literal `preview` and the `{alert_id}` are siblings: API Gateway prefers the literal
    assert ("ANY", "/v1/alerts/preview") in routes and ("ANY", "/v1/alerts/{alert_id}") in routes


@pytest.mark.parametrize("module", ["alerts", "alert_evaluator"])
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


def test_cfn_lint_passes_the_alert_queues_and_fails_a_broken_one(
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


def test_cdk_nag_findings_of_the_alert_constructs_are_exactly_these(synth: Synth) -> None:
    # synthesis ran with cdk-nag (conftest): whatever else it found on these constructs failed it
    index = f"AwsSolutions-IAM5[{EVENTS_INDEX_RESOURCE}]"
    assert _acknowledged(synth, "Alerting/AlertWorkDeadLetters") == {"AwsSolutions-SQS3"}
    assert _acknowledged(synth, "Alerting/AlertWork") == set()  # it has its dead-letter queue
    assert _acknowledged(synth, "Functions/AlertsRole") == {"AwsSolutions-IAM5[Resource::*]", index}
    assert _acknowledged(synth, "Functions/AlertEvaluatorRole") == {"AwsSolutions-IAM5[Resource::*]"}
    for function in ("Alerts", "AlertEvaluator"):
        assert _acknowledged(synth, f"Functions/{function}") == {"AwsSolutions-L1"}
