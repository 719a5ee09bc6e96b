"""Exports: bucket, secret, SES identity, state machine, watchdog rule, least privilege per function."""

from __future__ import annotations

import json
from typing import Any

from infra_support import as_list, resources_of, role_statements

BUCKET = "ExportsExportsBucketAF6E3739"


def _only(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (resource,) = resources_of(template, kind).values()
    return resource


def _actions(stateless: dict[str, Any], fid: str) -> set[str]:
    return {a for s in role_statements(stateless, fid) for a in as_list(s["Action"])}


def test_bucket_is_private_encrypted_tls_only_and_expires_files(stateful: dict[str, Any]) -> None:
    bucket = stateful["Resources"][BUCKET]
    props = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == 7
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    policy = _only(stateful, "AWS::S3::BucketPolicy")["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )


def test_signing_secret_and_sender_identity_exist(stateful: dict[str, Any]) -> None:
    secret = _only(stateful, "AWS::SecretsManager::Secret")["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] == 64
    identity = _only(stateful, "AWS::SES::EmailIdentity")["Properties"]
    assert "@" in identity["EmailIdentity"]


def test_state_machine_has_a_bounded_map_catches_logging_and_tracing(stateless: dict[str, Any]) -> None:
    props = _only(stateless, "AWS::StepFunctions::StateMachine")["Properties"]
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    parts = props["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "X" for p in parts))
    states = definition["States"]
    assert definition["StartAt"] == "Plan" and "TimeoutSeconds" in definition
    assert states["Slices"]["Type"] == "Map" and 1 <= states["Slices"]["MaxConcurrency"] <= 16
    assert "ItemBatcher" not in states["Slices"]
    assert "QueryLanguage" not in definition  # JSONPath: moto cannot run JSONata
    for name in ("Plan", "Slices", "Assemble"):
        assert states[name]["Catch"][0]["Next"] == "Fail", name
    assert states["Fail"]["Next"] == "NotifyFailure" and states["RunFailed"]["Type"] == "Fail"
    retried = {e for r in states["Plan"]["Retry"] for e in r["ErrorEquals"]}
    assert "StorageUnavailableError" in retried and "Lambda.ServiceException" in retried


def test_watchdog_rule_targets_the_watchdog_on_dead_executions(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    rule = _only(stateless, "AWS::Events::Rule")["Properties"]
    assert rule["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert rule["EventPattern"]["detail-type"] == ["Step Functions Execution Status Change"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [functions_by_module["export_watchdog"], "Arn"]}


def test_least_privilege_per_export_function(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    def acts(module: str) -> set[str]:
        return _actions(stateless, functions_by_module[module])

    assert "states:StartExecution" in acts("exports")
    assert "ses:SendEmail" in acts("export_notify")
    for module in ("export_plan", "export_slice", "export_assemble", "export_fail", "export_watchdog"):
        assert not any(a.startswith(("ses:", "states:")) for a in acts(module)), module
    for module in (
        "exports",
        "export_plan",
        "export_slice",
        "export_assemble",
        "export_fail",
        "export_watchdog",
    ):
        assert "ses:SendEmail" not in acts(module)
    for module in ("export_slice", "export_assemble", "export_fail", "export_watchdog", "export_plan"):
        assert "secretsmanager:GetSecretValue" not in acts(module), module
    # Slice writes only the temporary prefix and cannot read or delete objects
    slice_s3 = [
        s
        for s in role_statements(stateless, functions_by_module["export_slice"])
        if any(a.startswith("s3:") for a in as_list(s["Action"]))
    ]
    assert all(not a.startswith(("s3:Get", "s3:Delete")) for s in slice_s3 for a in as_list(s["Action"]))
    assert all(json.dumps(s["Resource"]).endswith('"/tmp/*"]]}') for s in slice_s3)
    # The Exports API may start this state machine only
    (start,) = [
        s
        for s in role_statements(stateless, functions_by_module["exports"])
        if "states:StartExecution" in as_list(s["Action"])
    ]
    assert start["Resource"] == {
        "Ref": next(iter(resources_of(stateless, "AWS::StepFunctions::StateMachine")))
    }
    # The Plan and Slice functions cannot write events
    for module in ("export_plan", "export_slice"):
        assert not {"dynamodb:PutItem", "dynamodb:BatchWriteItem"} & {
            a
            for s in role_statements(stateless, functions_by_module[module])
            for a in as_list(s["Action"])
            if "Events" in json.dumps(s["Resource"])
        }
