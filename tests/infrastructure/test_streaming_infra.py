"""Streaming (docs/streaming.md): the events table's stream, the router's mapping, the deliveries
queue, the alarms, the tenant-role statement, the routes, and the tenant's role templates of
docs/destination-roles.md."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match
from cfnlint.api import ManualArgs, lint
from cfnlint.decode import cfn_yaml
from infra_support import Synth, as_list, methods_by_route, resources_of, role_statements

from infra.constructs import streaming
from infra.constructs.streaming import only_insert_of_event_items
from infra.paths import REPO_ROOT

ROLES_DOC = REPO_ROOT / "docs" / "destination-roles.md"
FILTER = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"d": {"S": [{"exists": True}]}}}}
EXTERNAL_ID = {"StringLike": {"sts:ExternalId": "activitylog:*"}}
NOT_OUR_ACCOUNT = {"StringNotEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
TENANT_ROLES = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::*:role/*"]]}
DESTINATION_ROUTES = {
    ("GET", "/v1/destinations"),
    ("POST", "/v1/destinations"),
    ("GET", "/v1/destinations/{id}"),
    ("PUT", "/v1/destinations/{id}"),
    ("DELETE", "/v1/destinations/{id}"),
    ("POST", "/v1/destinations/{id}/rotate-secret"),
    ("POST", "/v1/destinations/{id}/test"),
    ("GET", "/v1/destinations/{id}/deliveries"),
    ("POST", "/v1/destinations/{id}/deliveries/{delivery_id}/retry"),
    ("POST", "/v1/destinations/{id}/replays"),
    ("GET", "/v1/destinations/{id}/replays/{replay_id}"),
}


def _one(template: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v) for k, v in resources_of(template, kind).items() if k.startswith(prefix)]
    return found


def _mappings(stateless: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    return [
        m["Properties"]
        for m in resources_of(stateless, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]


def _stream_export(stateful: dict[str, Any]) -> str:
    (name,) = [
        o["Export"]["Name"]
        for o in stateful["Outputs"].values()
        if o.get("Value") == {"Fn::GetAtt": ["EventsTable", "StreamArn"]} and "Export" in o
    ]
    return str(name)


# --- the stream and the router's mapping ----------------------------------------------------------


def test_the_events_table_streams_new_images_under_its_pinned_id(synth: Synth) -> None:
    synth.stateful.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "StreamSpecification": {"StreamViewType": "NEW_IMAGE"},
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        },
    )
    tables = resources_of(synth.templates["ActivityLog-Stateful"], "AWS::DynamoDB::Table")
    streaming = [k for k, t in tables.items() if "StreamSpecification" in t["Properties"]]
    assert streaming == ["EventsTable"]  # control and idempotency tables have none


def test_the_router_reads_the_stream_with_the_designed_mapping(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (mapping,) = _mappings(stateless, functions_by_module["stream_router"])
    assert mapping["EventSourceArn"] == {"Fn::ImportValue": _stream_export(stateful)}
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BatchSize"] == 500
    assert mapping["MaximumBatchingWindowInSeconds"] == 1
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] == 20
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dead_letters, _ = _one(stateless, "AWS::SQS::Queue", "StreamingRouterDeadLetters")
    assert mapping["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [dead_letters, "Arn"]}}
    }
    (pattern,) = mapping["FilterCriteria"]["Filters"]
    assert json.loads(pattern["Pattern"]) == FILTER
    # the one stream mapping of the stack: AWS advises at most two readers per shard
    streams = [
        m
        for m in resources_of(stateless, "AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in m["Properties"]
    ]
    assert len(streams) == 1


def test_the_filter_helper_and_the_template_agree() -> None:
    assert json.loads(only_insert_of_event_items()["pattern"]) == FILTER


def test_the_deliverer_consumes_the_deliveries_queue_in_small_batches_with_partial_failures(
    synth: Synth, stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    queue_id, _ = _one(stateless, "AWS::SQS::Queue", "StreamingDeliveries")
    (mapping,) = _mappings(stateless, functions_by_module["deliverer"])
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert mapping["BatchSize"] == 5
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "FilterCriteria" not in mapping
    polled = {"stream_router", "deliverer", "alert_evaluator", "rollup_worker"}  # test_alerting_infra.py,
    # test_reporting_infra.py
    for module, function_id in functions_by_module.items():
        assert len(_mappings(stateless, function_id)) == (module in polled), module
    synth.stateless.resource_count_is("AWS::Lambda::EventSourceMapping", 4)


# --- the deliveries queue and the dead letters ----------------------------------------------------


def test_the_deliveries_queue_outlasts_the_deliverer_and_dead_letters_after_12_receives(
    synth: Synth, stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    queue_id, queue = _one(stateless, "AWS::SQS::Queue", "StreamingDeliveries")
    dlq_id, _ = _one(stateless, "AWS::SQS::Queue", "StreamingDeliveryDeadLetters")
    timeout = stateless["Resources"][functions_by_module["deliverer"]]["Properties"]["Timeout"]
    props = queue["Properties"]
    assert timeout == 120 and props["VisibilityTimeout"] == 6 * timeout == 720
    assert props["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert props["SqsManagedSseEnabled"] is True
    assert props["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 12,
    }
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


@pytest.mark.parametrize("prefix", ["StreamingRouterDeadLetters", "StreamingDeliveryDeadLetters"])
def test_both_dead_letter_queues_are_encrypted_tls_only_and_alarmed(synth: Synth, prefix: str) -> None:
    queue_id, queue = _one(synth.templates["ActivityLog-Stateless"], "AWS::SQS::Queue", prefix)
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    synth.stateless.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
            "Statistic": "Maximum",
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AlarmTopicArn"}],
            "OKActions": [{"Ref": "AlarmTopicArn"}],
        },
    )


def test_the_router_backlog_is_alarmed_at_a_minute(synth: Synth, functions_by_module: dict[str, str]) -> None:
    synth.stateless.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "IteratorAge",
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": functions_by_module["stream_router"]}}],
            "Statistic": "Maximum",
            "Period": 300,
            "Threshold": 60_000,  # milliseconds
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AlarmTopicArn"}],
        },
    )


# --- permissions ----------------------------------------------------------------------------------


def _identity_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(owner, statement) of every identity policy in a template: inline, attached and managed."""
    found = []
    for role_id, role in resources_of(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            found += [(role_id, s) for s in as_list(policy["PolicyDocument"]["Statement"])]
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy_id, policy in resources_of(template, kind).items():
            owner = json.dumps(policy["Properties"].get("Roles", policy_id))
            found += [(owner, s) for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"])]
    return found


def _may_assume(statement: dict[str, Any]) -> bool:
    return any(
        a in ("*", "sts:*", "sts:AssumeRole") or a.startswith("sts:Assume")
        for a in as_list(statement.get("Action", []))
    )


def test_the_policy_and_the_functions_agree_on_the_external_id_prefix() -> None:
    from activitylog.models import destinations

    assert destinations.EXTERNAL_ID_PREFIX == streaming.EXTERNAL_ID_PREFIX
    assert EXTERNAL_ID["StringLike"]["sts:ExternalId"] == streaming.EXTERNAL_ID_PREFIX + "*"


def test_assume_role_only_on_tenant_roles_only_with_an_activitylog_external_id(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    assuming = [
        (owner, s) for t in (stateless, stateful) for owner, s in _identity_statements(t) if _may_assume(s)
    ]
    owners = {owner for owner, _ in assuming}
    roles = {
        module: stateless["Resources"][functions_by_module[module]]["Properties"]["Role"]["Fn::GetAtt"][0]
        for module in ("deliverer", "destinations")
    }
    assert owners == {json.dumps([{"Ref": role}]) for role in roles.values()}
    for _, statement in assuming:
        assert statement["Effect"] == "Allow"
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Resource"] == TENANT_ROLES
        assert statement["Condition"] == EXTERNAL_ID | NOT_OUR_ACCOUNT


def test_the_assume_check_finds_an_unconditioned_statement(stateless: dict[str, Any]) -> None:
    planted = json.loads(json.dumps(stateless))
    (policy,) = [
        p
        for p in resources_of(planted, "AWS::IAM::Policy").values()
        if any("FunctionsQueryRole" in str(r) for r in p["Properties"]["Roles"])
    ]
    policy["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    )
    assert len([s for _, s in _identity_statements(planted) if _may_assume(s)]) == 3


def _actions_on(statements: list[dict[str, Any]], service: str) -> list[tuple[str, Any]]:
    return [
        (a, r)
        for s in statements
        for a in as_list(s["Action"])
        if a.startswith(f"{service}:")
        for r in as_list(s["Resource"])
    ]


def test_the_router_reads_the_stream_never_the_events_items_nor_s3_nor_other_accounts(
    stateless: dict[str, Any], stateful: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    statements = role_statements(stateless, functions_by_module["stream_router"])
    stream = {"Fn::ImportValue": _stream_export(stateful)}
    events_arn = [
        o["Export"]["Name"]
        for o in stateful["Outputs"].values()
        if o.get("Value") == {"Fn::GetAtt": ["EventsTable", "Arn"]}
    ]
    dynamo = _actions_on(statements, "dynamodb")
    on_stream = {a for a, r in dynamo if r == stream}
    assert on_stream == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    assert {a for a, r in dynamo if r == "*"} == {"dynamodb:ListStreams"}  # no resource scoping exists
    assert not [(a, r) for a, r in dynamo if any(e in json.dumps(r) for e in events_arn)]
    assert all("ControlTable" in json.dumps(r) for a, r in dynamo if r not in (stream, "*"))
    assert _actions_on(statements, "s3") == []
    assert _actions_on(statements, "sts") == []
    assert _actions_on(statements, "ses") == []


def test_list_streams_on_star_is_the_routers_alone(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    for module, function_id in functions_by_module.items():
        listing = [
            r
            for a, r in _actions_on(role_statements(stateless, function_id), "dynamodb")
            if a == "dynamodb:ListStreams"
        ]
        assert listing == (["*"] if module == "stream_router" else []), module


def test_the_streaming_functions_reach_only_what_the_design_says(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    queue_id, _ = _one(stateless, "AWS::SQS::Queue", "StreamingDeliveries")
    deliveries = {"Fn::GetAtt": [queue_id, "Arn"]}
    services = {
        "stream_router": {"dynamodb", "sqs", "logs", "xray"},
        "deliverer": {"dynamodb", "sqs", "ses", "sts", "logs", "xray"},
        "destinations": {"dynamodb", "sqs", "sts", "logs", "xray"},
    }
    for module, expected in services.items():
        statements = role_statements(stateless, functions_by_module[module])
        assert {a.split(":")[0] for s in statements for a in as_list(s["Action"])} == expected, module
        sends = [r for a, r in _actions_on(statements, "sqs") if a == "sqs:SendMessage"]
        assert deliveries in sends, module
    consume = {
        a
        for a, r in _actions_on(role_statements(stateless, functions_by_module["deliverer"]), "sqs")
        if r == deliveries
    }
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"} <= consume


# --- environment, routes, outputs ------------------------------------------------------------------


def test_no_template_lets_webhooks_reach_loopback(stateless: dict[str, Any]) -> None:
    for function in resources_of(stateless, "AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "WEBHOOK_ALLOW_LOOPBACK" not in variables


def test_every_destination_route_is_behind_the_authorizer(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    (authorizer_id,) = resources_of(stateless, "AWS::ApiGateway::Authorizer")
    routes = methods_by_route(stateless)
    assert {
        r for r in routes if r[1].startswith("/v1/destinations") and r[0] not in ("ANY", "OPTIONS")
    } == DESTINATION_ROUTES
    for route in DESTINATION_ROUTES:
        method = routes[route]
        assert method["AuthorizationType"] == "CUSTOM" and method["AuthorizerId"] == {"Ref": authorizer_id}
        assert method["ApiKeyRequired"] is True  # the tenant's rate limit (docs/infrastructure.md)
        uri = json.dumps(method["Integration"]["Uri"])
        assert functions_by_module["destinations"] in uri, route


def test_the_role_arns_tenants_trust_are_outputs(synth: Synth, functions_by_module: dict[str, str]) -> None:
    stateless = synth.templates["ActivityLog-Stateless"]
    for output, module in (("DelivererRoleArn", "deliverer"), ("DestinationsRoleArn", "destinations")):
        role_id = stateless["Resources"][functions_by_module[module]]["Properties"]["Role"]["Fn::GetAtt"][0]
        synth.stateless.has_output(
            output,
            {
                "Value": {"Fn::GetAtt": [role_id, "Arn"]},
                "Description": Match.string_like_regexp("destination-roles"),
            },
        )
        assert "Export" not in stateless["Outputs"][output]  # for tenants, not for another stack


# --- docs/destination-roles.md ----------------------------------------------------------------------


def _role_templates() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", ROLES_DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 2  # s3, eventbridge
    return [{"text": b, "template": cfn_yaml.loads(b)} for b in blocks]


@pytest.mark.parametrize("index", [0, 1], ids=["s3", "eventbridge"])
def test_the_tenant_role_templates_are_valid_cloudformation(index: int) -> None:
    text = _role_templates()[index]["text"]
    matches = lint(text, config=ManualArgs(regions=["us-east-1", "eu-west-1", "eu-north-1"]))
    assert [f"{m.rule.id} {m.message}" for m in matches] == []


@pytest.mark.parametrize(
    ("index", "action"), [(0, "s3:PutObject"), (1, "events:PutEvents")], ids=["s3", "eventbridge"]
)
def test_the_tenant_role_trusts_our_two_roles_only_with_the_tenants_external_id(
    index: int, action: str
) -> None:
    template = _role_templates()[index]["template"]
    assert {"DelivererRoleArn", "DestinationsRoleArn", "TenantId"} <= set(template["Parameters"])
    (role,) = template["Resources"].values()
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Effect"] == "Allow" and trust["Action"] == "sts:AssumeRole"
    assert trust["Principal"] == {"AWS": [{"Ref": "DelivererRoleArn"}, {"Ref": "DestinationsRoleArn"}]}
    external = trust["Condition"]["StringEquals"]["sts:ExternalId"]
    assert external == {
        "Fn::If": [
            "HasSuffix",
            {"Fn::Sub": "activitylog:${TenantId}:${ExternalIdSuffix}"},
            {"Fn::Sub": "activitylog:${TenantId}"},
        ]
    }
    (policy,) = role["Properties"]["Policies"]
    (grant,) = policy["PolicyDocument"]["Statement"]
    assert grant["Effect"] == "Allow" and grant["Action"] == action  # one action, nothing else
    resource = json.dumps(grant["Resource"])
    if action == "s3:PutObject":
        assert "${BucketName}/${Prefix}/*" in resource and "${BucketName}/*" in resource
    else:
        assert grant["Resource"] == {"Ref": "EventBusArn"}
