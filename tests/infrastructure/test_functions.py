"""Stateless stack: every function carries the house defaults of the function factory."""

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
# Invoked by event-source mappings (a stream, a queue), not by API Gateway: Lambda's own time limit.
STREAM_MODULES = {"stream_router", "deliverer", "alert_evaluator", "rollup_worker"}
EXPECTED_MODULES = {
    "authorizer",
    "ingest",
    "query",
    "docs",
    "admin",
    "destinations",
    "alerts",
    "reports",
    *EXPORT_MODULES,
    *STREAM_MODULES,
}
# Powertools reads these in every function; the rest is what each function's code reads
# (its environment model, functions/activitylog/models/env.py; test_function_env.py checks the models).
COMMON = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"}
METRICS = {"POWERTOOLS_METRICS_NAMESPACE"}
EVENTS, CONTROL, IDEMPOTENCY = {"EVENTS_TABLE"}, {"CONTROL_TABLE"}, {"IDEMPOTENCY_TABLE"}
BUCKET, LINKS, SENDER = {"EXPORTS_BUCKET"}, {"DOWNLOAD_SIGNING_SECRET", "API_BASE_URL"}, {"SENDER_EMAIL"}
MACHINE = {"EXPORT_STATE_MACHINE"}
DELIVERIES = {"DELIVERY_QUEUE_URL"}
ALERT_WORK, CONSOLE = {"ALERT_QUEUE_URL"}, {"CONSOLE_URL"}
ROLLUP_WORK = {"ROLLUP_QUEUE_URL"}
SCHEDULER = {"SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN", "SCHEDULE_TARGET_ARN", "SCHEDULE_DLQ_ARN"}
EXPECTED_ENV = {
    "authorizer": CONTROL | METRICS | {"THROTTLE_NAMESPACE"},
    "ingest": EVENTS | CONTROL | IDEMPOTENCY | SENDER | METRICS,
    "query": EVENTS | CONTROL,
    "admin": EVENTS | CONTROL,
    "docs": set(),
    "exports": EVENTS | CONTROL | BUCKET | LINKS | MACHINE | SCHEDULER,
    "export_plan": EVENTS | CONTROL,
    "export_slice": EVENTS | CONTROL | BUCKET,
    "export_assemble": CONTROL | BUCKET | METRICS,
    "export_fail": CONTROL | BUCKET | METRICS,
    "export_watchdog": CONTROL | BUCKET | METRICS,
    "export_notify": CONTROL | LINKS | SENDER | METRICS,
    "export_fire": CONTROL | MACHINE | METRICS,
    "stream_router": CONTROL | DELIVERIES | ALERT_WORK | ROLLUP_WORK | METRICS,
    "deliverer": EVENTS | CONTROL | DELIVERIES | SENDER | METRICS,
    "destinations": EVENTS | CONTROL | DELIVERIES,
    "alerts": EVENTS | CONTROL,
    "alert_evaluator": EVENTS | CONTROL | DELIVERIES | SENDER | CONSOLE | METRICS,
    "reports": EVENTS | CONTROL | ROLLUP_WORK,
    "rollup_worker": EVENTS | CONTROL | ROLLUP_WORK | METRICS,
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
    if module.startswith("export_") or module in STREAM_MODULES:  # Lambda's own limit (docs/exports.md)
        assert 1 <= props["Timeout"] <= 900
    else:
        assert 1 <= props["Timeout"] <= 29  # never longer than API Gateway's integration timeout
    # only the schedules' target has a fixed name (test_schedules_infra.py says why)
    assert ("FunctionName" in props) == (module == "export_fire")
    assert len(props["Layers"]) == 1
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = stateless["Resources"][log_group_id]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == 30


@pytest.mark.parametrize("module", sorted(EXPECTED_MODULES))
def test_each_function_gets_exactly_the_variables_it_reads(
    stateless: dict[str, Any], functions_by_module: dict[str, str], module: str
) -> None:
    env = stateless["Resources"][functions_by_module[module]]["Properties"]["Environment"]["Variables"]
    assert set(env) == COMMON | EXPECTED_ENV[module]
    assert env["POWERTOOLS_SERVICE_NAME"] == "activitylog"
    assert env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    if EXPECTED_ENV[module] >= METRICS:
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "ActivityLog"
    for name, table in (("EVENTS_TABLE", "EventsTable"), ("CONTROL_TABLE", "ControlTable")):
        if name in env:
            assert table in env[name]["Fn::ImportValue"]
    if "IDEMPOTENCY_TABLE" in env:
        assert "IdempotencyTable" in env["IDEMPOTENCY_TABLE"]["Fn::ImportValue"]
    if "SENDER_EMAIL" in env:
        assert env["SENDER_EMAIL"] == "exports@example.com"  # synth's placeholder (infra/config.py)


def test_functions_share_one_code_asset_and_one_layer(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    props = [stateless["Resources"][fid]["Properties"] for fid in functions_by_module.values()]
    assert len({p["Code"]["S3Key"] for p in props}) == 1
    assert len({p["Layers"][0]["Ref"] for p in props}) == 1
    # (the other LayerVersion is the AWS CLI layer of CDK's BucketDeployment handler, for the console)
    layer = stateless["Resources"][props[0]["Layers"][0]["Ref"]]
    assert layer["Type"] == "AWS::Lambda::LayerVersion"
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
