"""The export workflow's functions, the Step Functions workflow and its watchdog rule (docs/exports.md).

Plan -> Map(Slice, bounded concurrency) -> Assemble -> Notify; a Catch on every step leads to
Fail (run failed, partial objects removed) -> NotifyFailure -> a Fail state. An execution-level
timeout skips Catch: an EventBridge rule on FAILED/TIMED_OUT/ABORTED runs the Watchdog.
JSONPath only (moto cannot run JSONata) and no ItemBatcher: local mode runs this very definition.
The exports API function that starts runs is not a step: it lives in exports_api.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import Sender
from infra.constructs.dead_letters import on_failure_to_queue
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import (
    EVENTS_INDEX_RESOURCE,
    EXPORTS_BUCKET_ARN,
    base_table_only,
    grant_send_email,
    table_environment,
)
from infra.nag import acknowledge

MAX_CONCURRENCY = 8
TEMP_PATTERN = "tmp/*"
# Two hours of work after a scheduled run's settle wait (at most 6 hours, docs/exports.md).
EXECUTION_TIMEOUT = Duration.hours(8)
RETRY_ERRORS = ["StorageUnavailableError"]
# Lambda refusing an invocation because the account's or function's concurrency is used up: the Map's
# slices start together, and new accounts often have a low concurrency quota. Retried with exponential
# backoff and full jitter, so concurrent slices do not retry in step (AWS's retry guidance).
THROTTLE_ERRORS = ["Lambda.TooManyRequestsException"]
# Bucket grants of CDK that cdk-nag reports as wildcards (see `_acknowledge`).
BUCKET_READ_FINDINGS = ("Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*")
BUCKET_OBJECTS = f"Resource::{EXPORTS_BUCKET_ARN}/*"

PLAN = FunctionSpec("ExportPlan", "export_plan", "Export workflow: plan the time slices", timeout_seconds=60)
SLICE = FunctionSpec(
    "ExportSlice", "export_slice", "Export workflow: one time slice", memory_size=1024, timeout_seconds=900
)
ASSEMBLE = FunctionSpec(
    "ExportAssemble",
    "export_assemble",
    "Export workflow: assemble the file",
    memory_size=1024,
    timeout_seconds=900,
)
FAIL = FunctionSpec(
    "ExportFail", "export_fail", "Export workflow: mark a run failed, clean up", timeout_seconds=60
)
WATCHDOG = FunctionSpec(
    "ExportWatchdog", "export_watchdog", "Export runs whose execution died", timeout_seconds=60
)
NOTIFY = FunctionSpec(
    "ExportNotify", "export_notify", "Export workflow: email the outcome", timeout_seconds=60
)


def bucket_finding_reason(rule: str) -> str:
    """Why a wildcard of CDK's grants on the exports bucket is acceptable (shared with the exports API)."""
    return (
        f"CDK's bucket grants on the one exports bucket: {rule} are the read/list/delete action "
        "families S3 needs for streaming reads, prefix listings and prefix deletes; object-level "
        "access is limited to this bucket's objects."
    )


@dataclass(frozen=True, kw_only=True)
class ExportFiles:
    """Where export files go and how their emailed links work: every export function gets these."""

    bucket: s3.IBucket
    signing_secret: secretsmanager.ISecret  # signs the download tokens
    api_base_url: str  # the links point at our API (API id + literal stage name: no cycle)

    def bucket_environment(self) -> dict[str, str]:
        """`BucketEnv` (functions/activitylog/models/env.py; docs/components.md, "Environment")."""
        return {"EXPORTS_BUCKET": self.bucket.bucket_name}

    def links_environment(self) -> dict[str, str]:
        """`LinksEnv`: only the functions that issue or check download links."""
        return {"DOWNLOAD_SIGNING_SECRET": self.signing_secret.secret_arn, "API_BASE_URL": self.api_base_url}


class ExportWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        files: ExportFiles,
        sender: Sender,
    ) -> None:
        super().__init__(scope, construct_id)
        control = base_table_only(self, "ControlTableBase", control_table)
        bucket = files.bucket
        tables = table_environment(events=events_table, control=control_table)
        # what a step that records a run's outcome is given: the control table, the bucket, metrics
        outcome = {
            **table_environment(control=control_table),
            **files.bucket_environment(),
            **METRICS_ENVIRONMENT,
        }

        self.plan = factory.create(PLAN, environment=tables)
        control.grant_read_write_data(self.plan)
        events_table.grant_read_data(self.plan)  # the earliest entry of by_time

        self.slice = factory.create(SLICE, environment={**tables, **files.bucket_environment()})
        events_table.grant_read_data(self.slice)
        control.grant_read_data(self.slice)
        bucket.grant_put(self.slice, TEMP_PATTERN)

        self.assemble = factory.create(ASSEMBLE, environment=outcome)
        control.grant_read_write_data(self.assemble)
        bucket.grant_read_write(self.assemble)
        bucket.grant_delete(self.assemble)

        self.fail = factory.create(FAIL, environment=outcome)
        self.watchdog = factory.create(WATCHDOG, environment=outcome)
        for function in (self.fail, self.watchdog):
            control.grant_read_write_data(function)
            bucket.grant_read(function)  # ListBucket for the prefix delete
            bucket.grant_delete(function)

        self.notify = factory.create(
            NOTIFY,
            environment={
                **table_environment(control=control_table),
                **files.links_environment(),
                "SENDER_EMAIL": sender.address,
                **METRICS_ENVIRONMENT,
            },
        )
        control.grant_read_write_data(self.notify)  # the run's `notification`, the daily mail count
        files.signing_secret.grant_read(self.notify)
        grant_send_email(self.notify, sender)

        self.state_machine = self._state_machine()

        rule = events.Rule(
            self,
            "ExecutionDied",
            description="Export executions that ended without their Catch path (timeout, abort)",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [self.state_machine.state_machine_arn],
                },
            ),
        )
        # Delivery to the watchdog is retried by EventBridge, and what could not be delivered or failed
        # in the function after Lambda's retries goes to one queue: either way a run stays `running`
        # until an operator re-drives it (docs/operations.md, "Dead-letter queues").
        watchdog_failures = on_failure_to_queue(
            self,
            "WatchdogFailures",
            self.watchdog,
            holds="dead export executions whose run the watchdog could not mark failed (it stays running)",
        )
        rule.add_target(
            targets.LambdaFunction(self.watchdog, retry_attempts=8, dead_letter_queue=watchdog_failures.queue)
        )
        self.queues = [watchdog_failures]
        self._acknowledge()

    def _invoke(self, name: str, function: lambda_.IFunction, **kwargs: object) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,
            output_path="$.Payload",
            task_timeout=sfn.Timeout.duration(Duration.minutes(15)),
            **kwargs,  # type: ignore[arg-type]
        )
        task.add_retry(errors=RETRY_ERRORS, interval=Duration.seconds(2), max_attempts=4, backoff_rate=2.0)
        task.add_retry(
            errors=THROTTLE_ERRORS,
            interval=Duration.seconds(2),
            max_attempts=8,
            backoff_rate=2.0,
            max_delay=Duration.minutes(2),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _state_machine(self) -> sfn.StateMachine:
        refs = {"tenant.$": "$.tenant", "export_id.$": "$.export_id", "run_id.$": "$.run_id"}
        died = sfn.Fail(self, "RunFailed", error="ExportFailed", cause="the run failed; see the run's error")
        notify_failure = self._invoke("NotifyFailure", self.notify, payload=sfn.TaskInput.from_object(refs))
        notify_failure.add_catch(died, errors=["States.ALL"], result_path="$.notify_error")
        notify_failure.next(died)
        fail = self._invoke(
            "Fail", self.fail, payload=sfn.TaskInput.from_object({**refs, "error.$": "$.error"})
        )
        fail.add_catch(died, errors=["States.ALL"], result_path="$.fail_error")
        fail.next(notify_failure)

        plan = self._invoke("Plan", self.plan, payload=sfn.TaskInput.from_object(refs))
        slices = sfn.Map(
            self,
            "Slices",
            items_path="$.slices",
            max_concurrency=MAX_CONCURRENCY,
            result_path="$.slice_results",
        )
        slices.item_processor(self._invoke("Slice", self.slice))
        assemble = self._invoke(
            "Assemble",
            self.assemble,
            payload=sfn.TaskInput.from_object({**refs, "slice_results.$": "$.slice_results"}),
        )
        notify = self._invoke("Notify", self.notify, payload=sfn.TaskInput.from_object(refs))
        # The run has succeeded when Notify runs: Notify records a mail failure on the run and returns;
        # should the step itself fail (a defect: its Errors alarm says so), the execution still ends
        # SUCCEEDED, like the run, and the run's `notification` stays null.
        done = sfn.Succeed(self, "Done")
        notify.add_catch(
            sfn.Succeed(self, "DoneWithoutNotice"), errors=["States.ALL"], result_path="$.notify_error"
        )
        for step in (plan, slices, assemble):
            step.add_catch(fail, errors=["States.ALL"], result_path="$.error")
        slices.next(assemble).next(notify).next(done)
        # A scheduled run waits until its settle time has passed (Plan sets `not_before` only then).
        settle = sfn.Wait(self, "Settle", time=sfn.WaitTime.timestamp_path("$.not_before")).next(slices)
        settled = sfn.Choice(self, "SettleFirst")
        settled.when(sfn.Condition.is_present("$.not_before"), settle).otherwise(slices)
        definition = plan.next(settled)

        # Under /aws/vendedlogs/: CloudWatch Logs' resource policy (5,120 characters per region, shared
        # by every service that delivers logs) is not grown by log groups under that prefix.
        log_group = logs.LogGroup(
            self,
            "WorkflowLogs",
            log_group_name=f"/aws/vendedlogs/states/{Stack.of(self).stack_name}-Exports",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        return sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )

    def _acknowledge(self) -> None:
        read_delete = [*BUCKET_READ_FINDINGS, "Action::s3:DeleteObject*", BUCKET_OBJECTS]
        findings: dict[lambda_.Function, list[str]] = {
            self.plan: [EVENTS_INDEX_RESOURCE],
            self.slice: [
                EVENTS_INDEX_RESOURCE,
                "Action::s3:Abort*",
                f"Resource::{EXPORTS_BUCKET_ARN}/{TEMP_PATTERN}",
            ],
            self.assemble: [*read_delete, "Action::s3:Abort*"],
            self.fail: read_delete,
            self.watchdog: read_delete,
        }
        for function, rules in findings.items():
            for rule in rules:
                if rule == EVENTS_INDEX_RESOURCE:
                    why = (
                        "reads the events table through its GSIs (the query engine of GET /v1/events); "
                        "read-only actions on <events table>/index/* cover exactly those indexes."
                    )
                elif rule.endswith(TEMP_PATTERN):
                    why = "writes its slice's temporary object under the bucket's tmp/ prefix only."
                elif rule == "Action::s3:Abort*":
                    why = "aborts its own failed multipart uploads (s3:AbortMultipartUpload) on this bucket."
                else:
                    why = bucket_finding_reason(rule)
                acknowledge(function.role or function, rule=f"AwsSolutions-IAM5[{rule}]", reason=why)
        role = self.state_machine.role
        acknowledge(
            role,
            rule="AwsSolutions-IAM5[Resource::*]",
            reason="Step Functions log delivery (logs:CreateLogDelivery, ...) and X-Ray tracing do not "
            "support resource-level permissions; CDK grants exactly those actions on '*'.",
        )
        for function in (self.plan, self.slice, self.assemble, self.fail, self.notify):
            acknowledge(
                role,
                rule=f"AwsSolutions-IAM5[Resource::<{self._logical_id(function)}.Arn>:*]",
                reason="lambda:InvokeFunction on the function's versions and aliases (`<arn>:*`), as CDK's "
                "LambdaInvoke grants it; the role can invoke only the workflow's own functions.",
            )

    @staticmethod
    def _logical_id(function: lambda_.Function) -> str:
        return Stack.of(function).get_logical_id(function.node.default_child)  # type: ignore[arg-type]
