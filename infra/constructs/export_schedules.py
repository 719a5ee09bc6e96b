"""Scheduled exports: the Fire function, the scheduler role and the DLQ with its alarm.

Schedules themselves are created at run time by the Exports function (one per scheduled export,
PUT /v1/exports/{id}/schedule, in the stateful stack's schedule group); this construct owns what they
share and exposes it (`fire`, `role`, `dead_letters`) for the Exports function's props. Each schedule
invokes the Fire function with the scheduler role, retries, and parks undeliverable firings in the
dead-letter queue, whose visible messages raise an alarm (docs/exports.md, "Scheduled exports").
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.function_factory import FunctionFactory, FunctionSpec
from infra.grants import base_table_only
from infra.nag import acknowledge

FIRE = FunctionSpec("ExportFire", "export_fire", "Scheduled export: record and start a run")


class ExportSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        control_table: dynamodb.ITable,
        state_machine: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)
        self.fire = factory.create(
            FIRE, environment={"EXPORT_STATE_MACHINE": state_machine.state_machine_arn}
        )
        base_table_only(self, "ControlTableBase", control_table).grant_read_write_data(self.fire)
        state_machine.grant_start_execution(self.fire)

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "UndeliveredFirings",
            alarm_description="Scheduled export firings that EventBridge Scheduler could not deliver",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        account = Stack.of(self).account
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description="EventBridge Scheduler: invoke the export Fire function, dead-letter failures",
        )
        self.fire.grant_invoke(self.role)
        self.dead_letters.grant_send_messages(self.role)
        self._acknowledge()

    def _acknowledge(self) -> None:
        fire = f"Resource::<{Stack.of(self).get_logical_id(self.fire.node.default_child)}.Arn>:*"  # type: ignore[arg-type]
        acknowledge(
            self.role,
            rule=f"AwsSolutions-IAM5[{fire}]",
            reason="lambda:InvokeFunction on the Fire function's versions and aliases (`<arn>:*`), as CDK's "
            "grant_invoke writes it; the scheduler role can invoke that one function only.",
        )
        acknowledge(
            self.dead_letters,
            rule="AwsSolutions-SQS3",
            reason="this queue is itself the dead-letter queue of the export schedules; an alarm watches "
            "its visible messages.",
        )
