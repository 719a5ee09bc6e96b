"""Scheduled exports: schedule group, scheduler role, DLQ with alarm, Fire function, settle wait."""

from __future__ import annotations

import json
from typing import Any

from infra_support import as_list, resources_of, role_statements


def _only(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources_of(template, kind).items()
    return logical_id, resource


def _policy_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        s
        for p in resources_of(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in as_list(p["Properties"]["PolicyDocument"]["Statement"])
    ]


def _scheduler_role(stateless: dict[str, Any]) -> str:
    (role_id,) = [
        k
        for k, r in resources_of(stateless, "AWS::IAM::Role").items()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "scheduler.amazonaws.com"
    ]
    return role_id


def test_the_stateful_stack_owns_one_retained_schedule_group(
    stateful: dict[str, Any], stateless: dict[str, Any]
) -> None:
    # The tenants' schedules are state: the group survives replacing (or deleting) the stateless stack.
    _, group = _only(stateful, "AWS::Scheduler::ScheduleGroup")
    assert group["Properties"]["Name"]  # referenced by the Exports function's SCHEDULE_GROUP
    assert group["DeletionPolicy"] == "Retain" and group["UpdateReplacePolicy"] == "Retain"
    assert resources_of(stateless, "AWS::Scheduler::ScheduleGroup") == {}


def test_dead_letter_queue_is_encrypted_tls_only_and_alarmed(stateless: dict[str, Any]) -> None:
    queue_id, queue = _only(stateless, "AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    _, policy = _only(stateless, "AWS::SQS::QueuePolicy")
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    )
    (alarm,) = [
        a["Properties"]
        for a in resources_of(stateless, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_scheduler_role_can_only_invoke_fire_and_dead_letter(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    role_id = _scheduler_role(stateless)
    trust = stateless["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    fire = functions_by_module["export_fire"]
    queue_id, _ = _only(stateless, "AWS::SQS::Queue")
    grants = {
        (a, json.dumps(r, sort_keys=True))
        for s in _policy_statements(stateless, role_id)
        for a in as_list(s["Action"])
        for r in as_list(s["Resource"])
    }
    fire_arn = {"Fn::GetAtt": [fire, "Arn"]}
    assert grants == {
        ("lambda:InvokeFunction", json.dumps(fire_arn)),
        ("lambda:InvokeFunction", json.dumps({"Fn::Join": ["", [fire_arn, ":*"]]})),
        *{
            (a, json.dumps({"Fn::GetAtt": [queue_id, "Arn"]}))
            for a in ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")
        },
    }


def test_exports_function_passes_only_the_scheduler_role_and_manages_only_its_groups_schedules(
    stateful: dict[str, Any], stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    exports = functions_by_module["exports"]
    statements = role_statements(stateless, exports)
    (pass_role,) = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    assert as_list(pass_role["Action"]) == ["iam:PassRole"]
    assert pass_role["Resource"] == {"Fn::GetAtt": [_scheduler_role(stateless), "Arn"]}
    scheduler = [s for s in statements if any(a.startswith("scheduler:") for a in as_list(s["Action"]))]
    actions = {a for s in scheduler for a in as_list(s["Action"])}
    assert actions == {"scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule"}
    _, group = _only(stateful, "AWS::Scheduler::ScheduleGroup")
    for statement in scheduler:
        assert f":schedule/{group['Properties']['Name']}/*" in json.dumps(statement["Resource"])
    env = stateless["Resources"][exports]["Properties"]["Environment"]["Variables"]
    queue_id, _ = _only(stateless, "AWS::SQS::Queue")
    assert env["SCHEDULE_GROUP"] == group["Properties"]["Name"]
    assert env["SCHEDULER_ROLE_ARN"] == {"Fn::GetAtt": [_scheduler_role(stateless), "Arn"]}
    assert env["SCHEDULE_TARGET_ARN"] == {"Fn::GetAtt": [functions_by_module["export_fire"], "Arn"]}
    assert env["SCHEDULE_DLQ_ARN"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_fire_function_may_record_runs_and_start_the_workflow_only(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    fire = functions_by_module["export_fire"]
    statements = role_statements(stateless, fire)
    actions = {a for s in statements for a in as_list(s["Action"])}
    assert not any(a.startswith(("s3:", "ses:", "secretsmanager:", "scheduler:", "iam:")) for a in actions)
    (start,) = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]
    (machine,) = resources_of(stateless, "AWS::StepFunctions::StateMachine")
    assert start["Resource"] == {"Ref": machine}
    env = stateless["Resources"][fire]["Properties"]["Environment"]["Variables"]
    assert env["EXPORT_STATE_MACHINE"] == {"Ref": machine}
    assert "/index/" not in json.dumps([s["Resource"] for s in statements])  # base table only


def test_scheduled_runs_wait_for_their_settle_time_after_plan(stateless: dict[str, Any]) -> None:
    _, machine = _only(stateless, "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    definition = json.loads("".join(p if isinstance(p, str) else "X" for p in parts))
    states = definition["States"]
    assert states["Plan"]["Next"] == "SettleFirst"
    choice = states["SettleFirst"]
    assert choice["Type"] == "Choice" and choice["Default"] == "Slices"
    assert choice["Choices"] == [{"Variable": "$.not_before", "IsPresent": True, "Next": "Settle"}]
    assert states["Settle"] == {"Type": "Wait", "TimestampPath": "$.not_before", "Next": "Slices"}
    assert definition["TimeoutSeconds"] == 8 * 3600  # 6 h settle at most + 2 h of work
