"""The exports API function (`Exports`): /v1/exports..., schedules, and /v1/downloads/{token}.

It creates exports and runs, starts the workflow, creates one EventBridge Scheduler schedule per
scheduled export (PUT /v1/exports/{id}/schedule) and answers download links (docs/exports.md). It is
an API function, not a workflow step: built after the workflow and the schedules' shared resources,
which it takes as keyword-only props for its environment and grants. This construct is the only one
that configures the function (its construct path stays `Functions/Exports`, the factory's scope).
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.api import Route
from infra.constructs.export_workflow import (
    BUCKET_OBJECTS,
    BUCKET_READ_FINDINGS,
    ExportFiles,
    bucket_finding_reason,
)
from infra.constructs.function_factory import FunctionFactory, FunctionSpec
from infra.grants import SCHEDULE_GROUP_NAME, base_table_only, table_environment
from infra.nag import acknowledge

EXPORTS = FunctionSpec("Exports", "exports", "/v1/exports..., /v1/downloads/{token}", timeout_seconds=25)


class ExportsApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        schedule_group: scheduler.IScheduleGroup,
        scheduler_role: iam.IRole,
        schedule_target: lambda_.IFunction,
        schedule_dead_letters: sqs.IQueue,
        factory: FunctionFactory,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        files: ExportFiles,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = factory.create(
            EXPORTS,
            environment={
                **table_environment(events=events_table, control=control_table),
                **files.bucket_environment(),
                **files.links_environment(),
                "EXPORT_STATE_MACHINE": state_machine.state_machine_arn,
                # what a schedule created at run time needs (`SchedulerEnv`, functions/.../models/env.py)
                "SCHEDULE_GROUP": schedule_group.schedule_group_name,
                "SCHEDULER_ROLE_ARN": scheduler_role.role_arn,
                "SCHEDULE_TARGET_ARN": schedule_target.function_arn,
                "SCHEDULE_DLQ_ARN": schedule_dead_letters.queue_arn,
            },
        )
        base_table_only(self, "ControlTableBase", control_table).grant_read_write_data(self.function)
        state_machine.grant_start_execution(self.function)
        # the audit trail (activitylog.export.*): append-only on the base table, no index, no read
        base_table_only(self, "EventsTableBase", events_table).grant_write_data(self.function)
        files.bucket.grant_read(self.function)  # presigned GETs are signed with this role
        files.bucket.grant_delete(self.function)  # DELETE /v1/exports/{id} removes the files
        files.signing_secret.grant_read(self.function)
        # its schedules run with the scheduler role, and only in the stack's own schedule group
        scheduler_role.grant_pass_role(self.function.grant_principal)
        schedule_group.grant_write_schedules(self.function)
        schedule_group.grant_delete_schedules(self.function)
        self._acknowledge()

    def _acknowledge(self) -> None:
        role = self.function.role or self.function
        for rule in (*BUCKET_READ_FINDINGS, "Action::s3:DeleteObject*", BUCKET_OBJECTS):
            acknowledge(role, rule=f"AwsSolutions-IAM5[{rule}]", reason=bucket_finding_reason(rule))
        schedules = (
            "Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:"
            f"schedule/{SCHEDULE_GROUP_NAME}/*"
        )
        acknowledge(
            role,
            rule=f"AwsSolutions-IAM5[{schedules}]",
            reason="the Exports function creates, updates and deletes one schedule per scheduled export at "
            "run time; `schedule/<group>/*` limits it to the stack's own schedule group.",
        )

    def routes(self) -> list[Route]:
        f = self.function
        return [
            Route(path="/v1/exports", method="POST", function=f),
            Route(path="/v1/exports", method="GET", function=f),
            Route(path="/v1/exports/{export_id}", method="GET", function=f),
            Route(path="/v1/exports/{export_id}", method="DELETE", function=f),
            Route(path="/v1/exports/{export_id}/runs", method="POST", function=f),
            Route(path="/v1/exports/{export_id}/runs", method="GET", function=f),
            Route(path="/v1/exports/{export_id}/runs/{run_id}", method="GET", function=f),
            Route(path="/v1/exports/{export_id}/runs/{run_id}/download", method="GET", function=f),
            Route(path="/v1/exports/{export_id}/schedule", method="PUT", function=f),
            Route(path="/v1/exports/{export_id}/schedule", method="GET", function=f),
            Route(path="/v1/exports/{export_id}/schedule", method="DELETE", function=f),
            Route(path="/v1/downloads/{token}", method="GET", function=f, public=True),
        ]
