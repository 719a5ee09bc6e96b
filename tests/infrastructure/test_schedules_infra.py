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


def _schedule_dlq(stateless: dict[str, Any]) -> str:
    (queue_id,) = [
        k
        for k, q in resources_of(stateless, "AWS::SQS::Queue").items()
        if q["Properties"].get("QueueName") == "ActivityLog-Stateless-ScheduleDeadLetters"
    ]
    return queue_id


def _group_export(stateful: dict[str, Any]) -> str:
    group_id, _ = _only(stateful, "AWS::Scheduler::ScheduleGroup")
    (export,) = [
        o["Export"]["Name"] for o in stateful["Outputs"].values() if o.get("Value") == {"Ref": group_id}
    ]
    return str(export)


def test_the_stateful_stack_owns_one_schedule_group_named_by_cloudformation_and_deleted_with_it(
    stateful: dict[str, Any], stateless: dict[str, Any]
) -> None:
    # A fixed name collides when the stack is recreated after a teardown (the group is still there,
    # or still being deleted); CloudFormation generates a unique one when none is given.
    _, group = _only(stateful, "AWS::Scheduler::ScheduleGroup")
    assert "Name" not in group.get("Properties", {})
    # Deleting the group deletes its schedules: after a teardown nothing fires at deleted functions.
    assert group["DeletionPolicy"] == "Delete" and group["UpdateReplacePolicy"] == "Delete"
    assert resources_of(stateless, "AWS::Scheduler::ScheduleGroup") == {}


def test_what_schedules_store_has_a_stable_name_so_a_recreated_stateless_stack_keeps_them_working(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    # Schedules are created at run time with these three ARNs; a generated name would change on
    # recreating the stateless stack and leave every tenant's schedule pointing at nothing.
    fire = stateless["Resources"][functions_by_module["export_fire"]]["Properties"]
    assert fire["FunctionName"] == "ActivityLog-Stateless-ExportFire"
    role = stateless["Resources"][_scheduler_role(stateless)]["Properties"]
    assert role["RoleName"] == {
        "Fn::Join": ["", ["ActivityLog-Stateless-Scheduler-", {"Ref": "AWS::Region"}]]
    }
    assert _schedule_dlq(stateless)
    named = [
        m for m, i in functions_by_module.items() if "FunctionName" in stateless["Resources"][i]["Properties"]
    ]
    assert named == ["export_fire"]  # every other function keeps CloudFormation's generated name


def test_every_dead_letter_queue_is_encrypted_tls_only_kept_14_days_and_alarmed(
    stateless: dict[str, Any],
) -> None:
    # Deliveries, AlertWork and RollupWork hold work (each has a dead-letter queue itself):
    # test_streaming_infra.py, test_alerting_infra.py, test_reporting_infra.py
    queues = {
        k: q
        for k, q in resources_of(stateless, "AWS::SQS::Queue").items()
        if "RedrivePolicy" not in q["Properties"]
    }
    # scheduler deliveries, ExportFire failures, watchdog failures, stream router and delivery failures,
    # alert work and rollup work received too often
    assert len(queues) == 7
    policies = resources_of(stateless, "AWS::SQS::QueuePolicy").values()
    alarms = [
        a["Properties"]
        for a in resources_of(stateless, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    for queue_id, queue in queues.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
        (policy,) = [p for p in policies if {"Ref": queue_id} in p["Properties"]["Queues"]]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
        (alarm,) = [
            a
            for a in alarms
            if a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
        ]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopicArn"}]


def test_scheduler_role_can_only_invoke_fire_and_dead_letter(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    role_id = _scheduler_role(stateless)
    trust = stateless["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    fire = functions_by_module["export_fire"]
    queue_id = _schedule_dlq(stateless)
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
    group = {"Fn::ImportValue": _group_export(stateful)}
    for statement in scheduler:
        assert json.dumps(group) in json.dumps(statement["Resource"])
        assert json.dumps(statement["Resource"]).endswith('"/*"]]}')
    env = stateless["Resources"][exports]["Properties"]["Environment"]["Variables"]
    queue_id = _schedule_dlq(stateless)
    assert env["SCHEDULE_GROUP"] == group
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
