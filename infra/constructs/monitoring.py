"""Alarms and the operations dashboard (docs/operations.md says what each alarm means and what to do).

Alarms: every function's errors and throttles, the API's 5xx answers and p99 latency, the visible
messages of every dead-letter queue, the iterator age of every stream reader (the streaming router),
failed export runs and failed notification emails (the last two from the functions' own metrics:
Powertools Metrics, EMF, namespace `ActivityLog`, dimension `service`). They notify the SNS topic
given as the stateless stack's required `AlarmTopicArn` parameter (`make deploy` passes
`ALARM_TOPIC_ARN`): an operator's existing on-call topic, or one made for it (docs/operations.md,
"First deploy").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import CfnParameter, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.dead_letters import DeadLetters
from infra.constructs.function_factory import COMMON_ENVIRONMENT, METRICS_NAMESPACE

FIVE_MINUTES = Duration.minutes(5)
# API p99 latency that pages: well below API Gateway's 29 s integration limit, far above a healthy p99.
LATENCY_P99_MS = 5000
SERVER_ERRORS_PER_5_MIN = 5
# A stream reader's oldest unprocessed record (Lambda's IteratorAge, milliseconds): deliveries are
# promised within 60 s of acceptance (API.md), and the stream keeps records 24 hours only.
ITERATOR_AGE_MS = 60_000
TOPIC_ARN_PATTERN = r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$"
SERVICE_DIMENSION = {"service": COMMON_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]}

# The functions' metric names (functions/activitylog/handlers/metrics.py; a test compares the two).
EVENTS_ACCEPTED = "EventsAccepted"
EVENTS_SKIPPED = "EventsSkipped"
EVENTS_REJECTED = "EventsRejected"
EVENTS_FAILED = "EventsFailed"
QUOTA_REFUSALS = "QuotaRefusals"
RUNS_SUCCEEDED = "ExportRunsSucceeded"
RUNS_FAILED = "ExportRunsFailed"
RUN_ROWS = "ExportRows"
RUN_BYTES = "ExportBytes"
RUN_DURATION = "ExportDuration"
EMAILS_SENT = "EmailsSent"
EMAILS_FAILED = "EmailsFailed"
EMAILS_SKIPPED = "EmailsSkipped"
SCHEDULE_FIRINGS = "ScheduleFirings"
AUTHORIZER_DENIALS = "AuthorizerDenials"
ROLLUP_HOURS = "RollupHoursComputed"


def service_metric(
    name: str, *, statistic: str = "Sum", period: Duration = FIVE_MINUTES
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map=SERVICE_DIMENSION,
        statistic=statistic,
        period=period,
    )


def iterator_age(function: lambda_.IFunction) -> cloudwatch.Metric:
    return function.metric("IteratorAge", statistic="Maximum", period=FIVE_MINUTES)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        api: apigw.RestApi,
        dead_letters: Sequence[DeadLetters],
        state_machine: sfn.IStateMachine,
        stream_readers: Mapping[str, lambda_.IFunction] | None = None,
        work_queues: Mapping[str, sqs.IQueue] | None = None,
    ) -> None:
        """`stream_readers`: functions behind a stream's event-source mapping (iterator age alarmed);
        `work_queues`: queues that hold work in progress (shown on the dashboard, not alarmed: a
        message may wait hours on purpose, between a delivery's retries, or until an hour is
        sealable for its rollup)."""
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        stream_readers = dict(stream_readers or {})
        work_queues = dict(work_queues or {})
        self.topic_arn = CfnParameter(
            stack,
            "AlarmTopicArn",
            type="String",
            allowed_pattern=TOPIC_ARN_PATTERN,
            constraint_description="the ARN of an SNS topic (arn:aws:sns:<region>:<account>:<name>)",
            description="SNS topic that every alarm notifies, in alarm and back to OK",
        )
        self._topic = sns.Topic.from_topic_arn(self, "AlarmTopic", self.topic_arn.value_as_string)
        self.alarms: list[cloudwatch.Alarm] = []

        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=FIVE_MINUTES, statistic="Sum"),
                f"{name}: invocations that ended in an unhandled error",
            )
            self._alarm(
                f"{name}Throttles",
                function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"),
                f"{name}: invocations refused for lack of concurrency",
            )
        server_errors = api.metric_server_error(period=FIVE_MINUTES, statistic="Sum")
        self._alarm(
            "Api5xx", server_errors, "API answers with a 5xx status", threshold=SERVER_ERRORS_PER_5_MIN
        )
        latency = api.metric_latency(period=FIVE_MINUTES, statistic="p99")
        self._alarm(
            "ApiLatencyP99",
            latency,
            f"API p99 latency above {LATENCY_P99_MS} ms for 15 minutes",
            threshold=LATENCY_P99_MS,
            periods=3,
        )
        for name, function in stream_readers.items():
            self._alarm(
                f"{name}IteratorAge",
                iterator_age(function),
                f"{name}: the oldest stream record not yet processed is {ITERATOR_AGE_MS // 1000} s old "
                "or more (records expire after 24 hours)",
                threshold=ITERATOR_AGE_MS,
            )
        for letters in dead_letters:
            self._alarm(
                f"{Stack.of(letters.queue).get_logical_id(letters.queue.node.default_child)}Visible",  # type: ignore[arg-type]
                letters.queue.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum"
                ),
                f"Dead-letter queue not empty: {letters.holds}",
            )
        self._alarm("ExportRunsFailed", service_metric(RUNS_FAILED), "Export runs that ended failed")
        self._alarm("EmailsFailed", service_metric(EMAILS_FAILED), "Notification emails SES did not accept")
        self.dashboard = self._dashboard(functions, api, dead_letters, state_machine)
        if stream_readers or work_queues:
            self.dashboard.add_widgets(*self._streaming_widgets(stream_readers, work_queues))

    @staticmethod
    def _streaming_widgets(
        stream_readers: Mapping[str, lambda_.IFunction], work_queues: Mapping[str, sqs.IQueue]
    ) -> list[cloudwatch.IWidget]:
        age = [iterator_age(f).with_(label=f"{name} iterator age (ms)") for name, f in stream_readers.items()]
        depth: list[cloudwatch.IMetric] = []
        for name, queue in work_queues.items():
            depth += [
                queue.metric_approximate_number_of_messages_visible(
                    period=FIVE_MINUTES, statistic="Maximum", label=f"{name}: visible"
                ),
                queue.metric_approximate_number_of_messages_not_visible(
                    period=FIVE_MINUTES, statistic="Maximum", label=f"{name}: in flight or waiting to retry"
                ),
                # sent with a delay (RollupWork: hours waiting to be sealable, docs/reports.md)
                queue.metric(
                    "ApproximateNumberOfMessagesDelayed",
                    period=FIVE_MINUTES,
                    statistic="Maximum",
                    label=f"{name}: delayed",
                ),
            ]
        return [
            cloudwatch.GraphWidget(title="Stream readers", left=age, width=12, height=6),
            cloudwatch.GraphWidget(
                title="Work queues",
                left=depth,
                # reports' rollups: hours counted and stored by RollupWorker (docs/reports.md)
                right=[service_metric(ROLLUP_HOURS).with_(label="rollup hours computed")],
                width=12,
                height=6,
            ),
        ]

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        description: str,
        *,
        threshold: float = 1,
        periods: int = 1,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=f'{description} (docs/operations.md, "Alarms")',
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=periods,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self._topic))
        alarm.add_ok_action(actions.SnsAction(self._topic))
        self.alarms.append(alarm)

    def _dashboard(
        self,
        functions: Mapping[str, lambda_.IFunction],
        api: apigw.RestApi,
        dead_letters: Sequence[DeadLetters],
        state_machine: sfn.IStateMachine,
    ) -> cloudwatch.Dashboard:
        def graph(
            title: str, metrics: Sequence[cloudwatch.IMetric], **kwargs: object
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=8, height=6, **kwargs)  # type: ignore[arg-type]

        def labelled(metric: cloudwatch.Metric, label: str) -> cloudwatch.IMetric:
            return metric.with_(label=label)

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{Stack.of(self).stack_name}-Operations",
            default_interval=Duration.hours(6),
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=4)
        )
        dashboard.add_widgets(
            graph(
                "API requests and errors",
                [
                    labelled(api.metric_count(period=FIVE_MINUTES), "requests"),
                    labelled(api.metric_client_error(period=FIVE_MINUTES), "4xx"),
                    labelled(api.metric_server_error(period=FIVE_MINUTES), "5xx"),
                ],
            ),
            graph(
                "API latency (ms)",
                [
                    labelled(api.metric_latency(period=FIVE_MINUTES, statistic="p50"), "p50"),
                    labelled(api.metric_latency(period=FIVE_MINUTES, statistic="p99"), "p99"),
                ],
            ),
            graph(
                "Events",
                [
                    labelled(service_metric(name), label)
                    for name, label in (
                        (EVENTS_ACCEPTED, "accepted"),
                        (EVENTS_SKIPPED, "skipped (re-sent ids)"),
                        (EVENTS_REJECTED, "rejected"),
                        (EVENTS_FAILED, "failed (not stored)"),
                        (QUOTA_REFUSALS, "quota refusals (requests)"),
                        (AUTHORIZER_DENIALS, "authorizer denials"),
                    )
                ],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Export runs",
                [
                    labelled(service_metric(RUNS_SUCCEEDED), "succeeded"),
                    labelled(service_metric(RUNS_FAILED), "failed"),
                    labelled(service_metric(SCHEDULE_FIRINGS), "schedule firings"),
                    labelled(state_machine.metric_timed_out(period=FIVE_MINUTES), "executions timed out"),
                ],
            ),
            graph(
                "Export size",
                [labelled(service_metric(RUN_ROWS), "rows")],
                right=[labelled(service_metric(RUN_BYTES), "bytes")],
            ),
            graph(
                "Export run duration (s)",
                [
                    labelled(service_metric(RUN_DURATION, statistic="p50"), "p50"),
                    labelled(service_metric(RUN_DURATION, statistic="Maximum"), "max"),
                ],
            ),
        )
        dashboard.add_widgets(
            graph(
                "Notification emails",
                [
                    labelled(service_metric(EMAILS_SENT), "sent"),
                    labelled(service_metric(EMAILS_FAILED), "failed"),
                    labelled(service_metric(EMAILS_SKIPPED), "skipped (daily cap)"),
                ],
            ),
            graph(
                "Function errors",
                [labelled(f.metric_errors(period=FIVE_MINUTES), name) for name, f in functions.items()],
            ),
            graph(
                "Function throttles and dead letters",
                [labelled(f.metric_throttles(period=FIVE_MINUTES), name) for name, f in functions.items()]
                + [
                    labelled(
                        d.queue.metric_approximate_number_of_messages_visible(
                            period=FIVE_MINUTES, statistic="Maximum"
                        ),
                        f"DLQ: {d.queue.node.id}",
                    )
                    for d in dead_letters
                ],
            ),
        )
        return dashboard
