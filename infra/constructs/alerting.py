"""Alerts (docs/alerts.md): the alert-work queue, the evaluator and the `/v1/alerts` API function.

StreamRouter (streaming.py) -> one message per (tenant, alert, stream batch) on `AlertWork` ->
AlertEvaluator (SQS event source, partial batch responses) -> the groups' states and firings
(control table), each firing's `activitylog.alert.fired` event (events table), its email (SES) and
its deliveries (ledger items and messages on streaming's `Deliveries` queue, sent by the deliverer).
A message received too often goes to `AlertWorkDeadLetters`, which is alarmed (monitoring.py).

The router's grants for this (send to `AlertWork`, `ALERT_QUEUE_URL`) are given here, by the
construct that owns the queue; the router already reads the control table, where alerts live.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import Sender
from infra.constructs.api import Route
from infra.constructs.dead_letters import dead_letter_queue, work_queue
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import EVENTS_INDEX_RESOURCE, base_table_only, grant_send_email, table_environment
from infra.nag import acknowledge

EVALUATOR = FunctionSpec(
    "AlertEvaluator",
    "alert_evaluator",
    "AlertWork queue -> alert states, firings, their events, emails and deliveries (docs/alerts.md)",
    # A message is a few DynamoDB round trips per group, plus a firing's SES and SQS calls.
    timeout_seconds=60,
)
ALERTS = FunctionSpec(
    "Alerts",
    "alerts",
    "/v1/alerts... (definitions, firings, preview)",
    # A preview page reads through the query path for up to 10 s, then evaluates what it read.
    memory_size=1024,
    timeout_seconds=25,
)

# AWS's advice for an SQS event source (as for Deliveries): six times the function's timeout.
ALERT_WORK_VISIBILITY = Duration.seconds(6 * EVALUATOR.timeout_seconds)
# A message that fails this often (lost races every time, a busy table, a failing follow-up) is kept
# for an operator; retries before that redo only what is not done (duplicates write nothing).
ALERT_WORK_MAX_RECEIVES = 10
# At most 10 messages of ~150 KB: well under Lambda's 6 MB synchronous payload.
ALERT_WORK_BATCH = 10
# Evaluators at once, at most: a burst of alert work cannot take the account's concurrency from the
# API (the work waits in the queue instead), as for the deliverer.
ALERT_CONCURRENCY = 20


class Alerting(Construct):
    """Creates and configures the alert functions; their construct paths stay `Functions/<id>`
    (the factory's scope), like every other function's."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        router: lambda_.Function,
        deliveries: sqs.IQueue,
        sender: Sender,
    ) -> None:
        super().__init__(scope, construct_id)
        control_base = base_table_only(self, "ControlTableBase", control_table)
        events_base = base_table_only(self, "EventsTableBase", events_table)

        self.dead_letters = dead_letter_queue(
            self,
            "AlertWorkDeadLetters",
            holds=f"alert-work messages received {ALERT_WORK_MAX_RECEIVES} times without being deleted "
            "(AlertWork queue)",
        )
        self.queues = [self.dead_letters]
        self.work = work_queue(
            self,
            "AlertWork",
            visibility=ALERT_WORK_VISIBILITY,
            dead_letters=self.dead_letters,
            max_receives=ALERT_WORK_MAX_RECEIVES,
        )

        # The router selects each tenant's alert work from its stream batches (logic/alert_live.py).
        router.add_environment("ALERT_QUEUE_URL", self.work.queue_url)
        self.work.grant_send_messages(router)

        self.evaluator = factory.create(
            EVALUATOR,
            environment={
                **table_environment(events=events_table, control=control_table),
                "DELIVERY_QUEUE_URL": deliveries.queue_url,  # a firing's deliveries
                "SENDER_EMAIL": sender.address,  # a firing's email
                **METRICS_ENVIRONMENT,
            },
        )  # CONSOLE_URL (links in the email) is added by the stack, once the console exists
        # states, firings, the daily mail counter, destinations and ledger items: keys only, and
        # TransactWriteItems needs no action of its own (its Put and Update are PutItem, UpdateItem)
        control_base.grant_read_write_data(self.evaluator)
        events_base.grant_read_data(self.evaluator)  # a firing's events by key, for the email
        events_base.grant_write_data(self.evaluator)  # the firing's activitylog.alert.fired event
        deliveries.grant_send_messages(self.evaluator)
        grant_send_email(self.evaluator, sender)
        # consume (receive, delete, change visibility) is the source's grant
        self.evaluator.add_event_source(
            sources.SqsEventSource(
                self.work,
                batch_size=ALERT_WORK_BATCH,
                report_batch_item_failures=True,
                max_concurrency=ALERT_CONCURRENCY,
            )
        )

        self.alerts = factory.create(
            ALERTS, environment=table_environment(events=events_table, control=control_table)
        )
        control_base.grant_read_write_data(self.alerts)  # alerts, preview pages, destinations read
        events_table.grant_read_data(self.alerts)  # preview reads through the query path (the GSIs)
        events_base.grant_write_data(self.alerts)  # activitylog.alert.* audit events
        acknowledge(
            self.alerts.role or self.alerts,
            rule=f"AwsSolutions-IAM5[{EVENTS_INDEX_RESOURCE}]",
            reason="an alert preview reads the range's events through the query path, i.e. the events "
            "table's four GSIs; read-only actions on <events table>/index/* cover exactly those.",
        )

    def set_console_url(self, url: str) -> None:
        """The web console's address, for the links in firing emails (the console is made later)."""
        self.evaluator.add_environment("CONSOLE_URL", url)

    def routes(self) -> list[Route]:
        f = self.alerts
        base = "/v1/alerts"
        one = f"{base}/{{alert_id}}"
        return [
            Route(path=base, method="POST", function=f),
            Route(path=base, method="GET", function=f),
            Route(path=f"{base}/preview", method="POST", function=f),
            Route(path=one, method="GET", function=f),
            Route(path=one, method="PUT", function=f),
            Route(path=one, method="DELETE", function=f),
            Route(path=f"{one}/firings", method="GET", function=f),
        ]
