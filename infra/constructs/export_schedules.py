"""Scheduled exports: the Fire function, the scheduler role and the dead-letter queues.

Schedules themselves are created at run time by the Exports function (one per scheduled export,
PUT /v1/exports/{id}/schedule, in the stateful stack's schedule group); this construct owns what they
share and exposes it (`fire`, `role`, `dead_letters`) for the Exports function's props. Each schedule
invokes the Fire function (asynchronously) with the scheduler role, retries, and parks undeliverable
firings in the scheduler's dead-letter queue; a firing that was delivered but failed in the function
(after Lambda's retries) goes to Fire's on-failure queue. Both are alarmed (monitoring.py).

Schedules are created at run time and store the Fire function's, the role's and the queue's ARNs, so
those three have stable names (`<stack name>-...`): recreating the stateless stack gives them the
same ARNs and the tenants' schedules keep working (docs/operations.md, "Tearing down").
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import dead_letter_queue, on_failure_to_queue
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import base_table_only, table_environment
from infra.nag import acknowledge

FIRE = FunctionSpec("ExportFire", "export_fire", "Scheduled export: record and start a run", stable_name=True)


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
            FIRE,
            environment={
                **table_environment(control=control_table),
                "EXPORT_STATE_MACHINE": state_machine.state_machine_arn,
                **METRICS_ENVIRONMENT,
            },
        )
        base_table_only(self, "ControlTableBase", control_table).grant_read_write_data(self.fire)
        state_machine.grant_start_execution(self.fire)

        stack_name = Stack.of(self).stack_name
        undelivered = dead_letter_queue(
            self,
            "DeadLetters",
            holds="scheduled export firings that EventBridge Scheduler could not deliver to ExportFire",
            queue_name=f"{stack_name}-ScheduleDeadLetters",
        )
        self.dead_letters = undelivered.queue
        failed = on_failure_to_queue(
            self,
            "FireFailures",
            self.fire,
            holds="scheduled export firings that ExportFire failed on after Lambda's retries",
        )
        self.queues = [undelivered, failed]

        account = Stack.of(self).account
        self.role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description="EventBridge Scheduler: invoke the export Fire function, dead-letter failures",
            role_name=f"{stack_name}-Scheduler-{Aws.REGION}",  # IAM names are account-wide: per region
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
