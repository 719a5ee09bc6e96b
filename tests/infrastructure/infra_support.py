"""Helpers shared by the infrastructure tests (a uniquely named module: never import conftest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

HANDLER_PREFIX = "activitylog.handlers."
# CDK's BucketDeployment singleton (infra/constructs/console_site.py): a function CDK writes, not ours.
CDK_DEPLOYMENT_HANDLER = "CustomCDKBucketDeployment"


@dataclass
class Synth:
    app: App
    outdir: Path
    stateful: Template
    stateless: Template
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    """Every IAM statement attached to the execution role of one function (inline and managed)."""
    role_ref = template["Resources"][function_id]["Properties"]["Role"]
    assert set(role_ref) == {"Fn::GetAtt"}, role_ref
    role_id = role_ref["Fn::GetAtt"][0]
    role = template["Resources"][role_id]["Properties"]
    assert not role.get("ManagedPolicyArns"), f"{role_id} has managed policies"
    statements = [s for p in role.get("Policies", []) for s in as_list(p["PolicyDocument"]["Statement"])]
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += as_list(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def export_to_table(stateful: dict[str, Any]) -> dict[str, str]:
    """Export name of each table ARN output of the stateful stack -> the table's logical ID."""
    found: dict[str, str] = {}
    for output in stateful.get("Outputs", {}).values():
        value, export = output.get("Value"), output.get("Export", {}).get("Name")
        if export and isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
            found[export] = value["Fn::GetAtt"][0]
    return found


def table_target(resource: Any, exports: dict[str, str]) -> tuple[str, bool] | None:
    """(table logical ID, is an index ARN) for a statement resource that names a table, else None."""
    if isinstance(resource, dict) and "Fn::ImportValue" in resource:
        table = exports.get(resource["Fn::ImportValue"])
        return (table, False) if table else None
    if isinstance(resource, dict) and "Fn::Join" in resource:
        separator, parts = resource["Fn::Join"]
        if separator == "" and len(parts) == 2 and parts[1] == "/index/*":
            inner = table_target(parts[0], exports)
            return (inner[0], True) if inner else None
    return None


def resource_paths(template: dict[str, Any]) -> dict[str, str]:
    """Logical ID of each AWS::ApiGateway::Resource -> its full path (e.g. `/v1/events/{id}`)."""
    resources = resources_of(template, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""  # GetAtt RootResourceId: root
            paths[logical_id] = f"{prefix}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


def methods_by_route(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, path) -> the AWS::ApiGateway::Method properties."""
    paths = resource_paths(template)
    routes: dict[tuple[str, str], dict[str, Any]] = {}
    for method in resources_of(template, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths[resource["Ref"]] if "Ref" in resource else "/"
        routes[(props["HttpMethod"], path)] = props
    return routes


def integration_function(method: dict[str, Any]) -> str:
    """Logical ID of the Lambda function behind a proxy integration."""
    integration = method["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    parts = integration["Uri"]["Fn::Join"][1]
    (function_arn,) = [p for p in parts if isinstance(p, dict) and "Fn::GetAtt" in p]
    return str(function_arn["Fn::GetAtt"][0])
