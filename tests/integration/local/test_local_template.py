"""Template parsing for local mode: names, intrinsic functions, routes (pure, no emulation)."""

from __future__ import annotations

import json

import pytest
from activitylog_ops.local.deploy import output, state_machine_definition, table_request, ttl_attribute
from activitylog_ops.local.proxy import RouteTable, policy_allows
from activitylog_ops.local.template import Deployment, Route, TemplateError
from local_fakes import templates

STATELESS = "ActivityLog-Stateless"
STATEFUL = "ActivityLog-Stateful"


@pytest.fixture
def deployment() -> Deployment:
    return Deployment(templates())


def test_route_tree_gives_full_paths_functions_and_authorizers(deployment: Deployment) -> None:
    # Given the hand-made API (nested resources, a MOCK OPTIONS method, an unauthorized route)
    routes = {(r.method, r.resource): r for r in deployment.routes()}

    # Then every proxy method is a route with its full path; the MOCK method is not
    assert set(routes) == {
        ("GET", "/v1/events"),
        ("POST", "/v1/events"),
        ("GET", "/v1/events/{id}"),
        ("GET", "/v1/events/count"),
        ("GET", "/v1/health"),
        ("ANY", "/v1/files/{path+}"),
    }
    assert routes[("GET", "/v1/events/{id}")].function == "ActivityLog-Stateless-EchoFn"
    assert routes[("GET", "/v1/events/{id}")].authorizer == "ActivityLog-Stateless-AuthFn"
    assert routes[("GET", "/v1/health")].authorizer is None


def test_function_environment_resolves_imports_and_subs(deployment: Deployment) -> None:
    echo = next(f for f in deployment.functions() if f.logical_id == "EchoFn")

    assert echo.handler == "local_fake_handlers.echo"
    assert echo.environment["CONTROL_TABLE"] == "ActivityLog-Stateful-ControlTable"
    # the export's name is itself a Fn::Sub of AWS::StackName in the exporting stack
    assert echo.environment["EVENTS_TABLE"] == "ActivityLog-Stateful-EventsTable1A2B"
    assert echo.environment["TABLE_ARN"] == "aws:us-east-1:${Literal}"
    assert (echo.timeout_s, echo.memory_mb) == (10, 256)


def test_ref_getatt_join_and_pseudo_parameters(deployment: Deployment) -> None:
    assert deployment.resolve(STATEFUL, {"Ref": "ControlTable"}) == "ActivityLog-Stateful-ControlTable"
    assert (
        deployment.resolve(STATEFUL, {"Fn::GetAtt": ["ControlTable", "Arn"]})
        == "arn:aws:dynamodb:us-east-1:123456789012:table/ActivityLog-Stateful-ControlTable"
    )
    assert deployment.resolve(STATEFUL, {"Fn::GetAtt": "ControlTable.Arn"}).endswith(
        "/ActivityLog-Stateful-ControlTable"
    )
    joined = {"Fn::Join": ["/", [{"Ref": "AWS::AccountId"}, {"Ref": "AWS::Region"}, "x"]]}
    assert deployment.resolve(STATELESS, joined) == "123456789012/us-east-1/x"
    assert deployment.resolve(STATELESS, {"Fn::ImportValue": "ControlArn"}).startswith("arn:aws:dynamodb:")
    assert deployment.resolve(STATELESS, {"Ref": "BootstrapVersion"}) == "/cdk"
    sub = {"Fn::Sub": ["${X}!", {"X": {"Ref": "AWS::Partition"}}]}
    assert deployment.resolve(STATELESS, sub) == "aws!"
    arn = deployment.resolve(STATELESS, {"Fn::Sub": "${EchoFn.Arn}"})
    assert arn.endswith(":function:ActivityLog-Stateless-EchoFn")


def test_unresolvable_references_fail_loudly(deployment: Deployment) -> None:
    with pytest.raises(TemplateError, match="no stack exports"):
        deployment.resolve(STATELESS, {"Fn::ImportValue": "Nope"})
    with pytest.raises(TemplateError, match="no resource"):
        deployment.resolve(STATELESS, {"Ref": "Missing"})
    with pytest.raises(TemplateError, match="unsupported intrinsic"):
        deployment.resolve(STATELESS, {"Fn::GetAZs": ""})


def test_outputs_and_table_requests(deployment: Deployment) -> None:
    assert output(deployment, STATEFUL, "ControlTableName") == "ActivityLog-Stateful-ControlTable"
    control = next(t for t in deployment.tables() if t.logical_id == "ControlTable")

    request = table_request(control.name, control.properties)

    assert request["TableName"] == "ActivityLog-Stateful-ControlTable"
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in request
    assert request["GlobalSecondaryIndexes"][0]["IndexName"] == "by_owner"
    assert "PointInTimeRecoverySpecification" not in request
    assert ttl_attribute(control.properties) == "exp"
    assert ttl_attribute({"TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": False}}) is None


def test_state_machine_definition_is_resolved_to_plain_json(deployment: Deployment) -> None:
    definition = {
        "Fn::Join": [
            "",
            [
                '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                {"Fn::GetAtt": ["EchoFn", "Arn"]},
                '","End":true}}}',
            ],
        ]
    }

    text = state_machine_definition(deployment, STATELESS, {"DefinitionString": definition})

    assert json.loads(text)["States"]["A"]["Resource"].endswith(":function:ActivityLog-Stateless-EchoFn")


def test_route_matching_prefers_literal_segments_and_binds_parameters() -> None:
    table = RouteTable(
        [
            Route("GET", "/v1/events/{id}", "q"),
            Route("GET", "/v1/events/count", "c"),
            Route("GET", "/v1/events", "l"),
            Route("ANY", "/v1/files/{path+}", "f"),
            Route("GET", "/v1/files/{path+}", "g"),
        ]
    )

    count = table.match("GET", "/v1/events/count")
    one = table.match("GET", "/v1/events/e%3A1")
    files = table.match("DELETE", "/v1/files/a/b%20c")

    assert count is not None and count.route.function == "c" and count.path_parameters == {}
    assert one is not None and one.route.function == "q" and one.path_parameters == {"id": "e:1"}
    assert files is not None and files.route.function == "f" and files.path_parameters == {"path": "a/b c"}
    exact = table.match("GET", "/v1/files/x")
    assert exact is not None and exact.route.function == "g"  # an exact method beats ANY
    assert table.match("POST", "/v1/events") is None
    assert table.match("GET", "/v1/events/a/b") is None
    assert table.match("GET", "/v1") is None


def test_policy_evaluation_deny_wins_and_wildcards_match() -> None:
    arn = "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/v1/events"
    allow = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:*:*:local/prod/*/*",
    }
    deny = {**allow, "Effect": "Deny", "Resource": [arn]}

    assert policy_allows({"Statement": [allow]}, arn)
    assert not policy_allows({"Statement": [allow, deny]}, arn)
    assert not policy_allows({"Statement": [{**allow, "Resource": "arn:aws:execute-api:*:*:other/*"}]}, arn)
    assert not policy_allows({}, arn)


def test_a_distributions_domain_name_resolves_to_a_name_that_never_resolves() -> None:
    # Given the console's URL as ConsoleSite synthesizes it (infra/constructs/console_site.py)
    template = {
        "Resources": {
            "ConsoleDistribution022D3262": {"Type": "AWS::CloudFront::Distribution", "Properties": {}},
        }
    }
    url = {
        "Fn::Join": [
            "",
            ["https://", {"Fn::GetAtt": ["ConsoleDistribution022D3262", "DomainName"]}, "/console/"],
        ]
    }
    # Then it resolves (no distribution exists locally: local mode's service sets CONSOLE_URL itself)
    resolved = Deployment({"S": template}).resolve("S", url)
    assert resolved == "https://s-consoledistribution022d3262.cloudfront.invalid/console/"
