"""Stateless stack: the four functions carry the house defaults of the function factory."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import CfnElement, Stack
from aws_cdk import aws_lambda as lambda_
from infra_support import Synth, resources_of

from infra.stacks.stateless import STATELESS_STACK_NAME

EXPORT_MODULES = {
    "exports",
    "export_plan",
    "export_slice",
    "export_assemble",
    "export_fire",
    "export_fail",
    "export_notify",
    "export_watchdog",
}
EXPECTED_MODULES = {"authorizer", "ingest", "query", "docs", "admin", *EXPORT_MODULES}
# Export functions get these on top of the common environment (docs/exports.md).
EXPORT_ENV_NAMES = {
    "EXPORTS_BUCKET",
    "DOWNLOAD_SIGNING_SECRET",
    "API_BASE_URL",
    "EXPORT_STATE_MACHINE",
    "SENDER_EMAIL",
    # scheduled exports (the Exports function creates schedules; docs/exports.md)
    "SCHEDULE_GROUP",
    "SCHEDULER_ROLE_ARN",
    "SCHEDULE_TARGET_ARN",
    "SCHEDULE_DLQ_ARN",
}
COMMON_ENV_NAMES = {
    "EVENTS_TABLE",
    "CONTROL_TABLE",
    "IDEMPOTENCY_TABLE",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_METRICS_NAMESPACE",
}


def test_one_function_per_handler_module(functions_by_module: dict[str, str]) -> None:
    assert set(functions_by_module) == EXPECTED_MODULES


def test_construct_ids_follow_the_contract(synth: Synth, functions_by_module: dict[str, str]) -> None:
    # docs/components.md names the construct ids Authorizer, Ingest, Query, Docs
    stack = synth.app.node.find_child(STATELESS_STACK_NAME)
    assert isinstance(stack, Stack)
    for module, logical_id in functions_by_module.items():
        construct_id = "".join(part.capitalize() for part in module.split("_"))
        function = stack.node.find_child("Functions").node.find_child(construct_id)
        assert isinstance(function, lambda_.Function)
        cfn = function.node.default_child
        assert isinstance(cfn, CfnElement)
        assert stack.get_logical_id(cfn) == logical_id


@pytest.mark.parametrize("module", sorted(EXPECTED_MODULES))
def test_house_defaults(stateless: dict[str, Any], functions_by_module: dict[str, str], module: str) -> None:
    props = stateless["Resources"][functions_by_module[module]]["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["MemorySize"] in (512, 1024)
    if module.startswith("export_"):  # workflow steps: Lambda's own limit (docs/exports.md)
        assert 1 <= props["Timeout"] <= 900
    else:
        assert 1 <= props["Timeout"] <= 29  # never longer than API Gateway's integration timeout
    assert "FunctionName" not in props
    assert len(props["Layers"]) == 1
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = stateless["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30


def test_every_function_gets_the_same_environment(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    envs = [
        stateless["Resources"][fid]["Properties"]["Environment"]["Variables"]
        for module, fid in functions_by_module.items()
        if module not in EXPORT_MODULES and module != "ingest"
    ]
    assert all(env == envs[0] for env in envs)
    ingest_env = stateless["Resources"][functions_by_module["ingest"]]["Properties"]["Environment"][
        "Variables"
    ]
    assert ingest_env == {**envs[0], "SENDER_EMAIL": ingest_env["SENDER_EMAIL"]}  # quota warnings
    for module in EXPORT_MODULES:
        export_env = stateless["Resources"][functions_by_module[module]]["Properties"]["Environment"]
        common = {k: v for k, v in export_env["Variables"].items() if k in COMMON_ENV_NAMES}
        assert common == envs[0]
        assert set(export_env["Variables"]) - COMMON_ENV_NAMES <= EXPORT_ENV_NAMES
    env = envs[0]
    assert set(env) == COMMON_ENV_NAMES
    assert env["POWERTOOLS_SERVICE_NAME"] == "activitylog"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ActivityLog"
    assert "EventsTable" in env["EVENTS_TABLE"]["Fn::ImportValue"]
    assert "ControlTable" in env["CONTROL_TABLE"]["Fn::ImportValue"]
    assert "IdempotencyTable" in env["IDEMPOTENCY_TABLE"]["Fn::ImportValue"]


def test_functions_share_one_code_asset_and_one_layer(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    props = [stateless["Resources"][fid]["Properties"] for fid in functions_by_module.values()]
    assert len({p["Code"]["S3Key"] for p in props}) == 1
    assert len({p["Layers"][0]["Ref"] for p in props}) == 1
    (layer,) = resources_of(stateless, "AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


def test_code_asset_is_the_functions_tree_without_tests(synth: Synth, stateless: dict[str, Any]) -> None:
    code_key = next(iter(resources_of(stateless, "AWS::Lambda::Function").values()))["Properties"]["Code"]
    asset_dir = synth.outdir / f"asset.{code_key['S3Key'].removesuffix('.zip')}"
    assert (asset_dir / "activitylog" / "__init__.py").is_file()
    assert not list(asset_dir.rglob("__pycache__"))
    assert not [p for p in asset_dir.rglob("tests") if p.is_dir()]


def test_no_function_url_anywhere(stateless: dict[str, Any]) -> None:
    assert resources_of(stateless, "AWS::Lambda::Url") == {}
