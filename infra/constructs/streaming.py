"""Streaming destinations (docs/streaming.md): the router, the deliveries queue, the deliverer and the
`/v1/destinations` API function.

events table stream (NEW_IMAGE) -> StreamRouter (event-source mapping, filtered to the INSERTs of
event items) -> ledger items + messages on `Deliveries` -> Deliverer (SQS event source) -> the
tenant's webhook, S3 bucket or EventBridge bus. The router's failed batches go to `RouterDeadLetters`,
a delivery message received too often to `DeliveryDeadLetters`; both are alarmed (monitoring.py).

S3 and EventBridge destinations are written by assuming a role in the tenant's account, only with an
external id `activitylog:...` (docs/destination-roles.md): the role ARNs a tenant's role must trust
are the stack's outputs `DelivererRoleArn` and `DestinationsRoleArn`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from constructs import Construct

from infra.config import Sender
from infra.constructs.api import Route
from infra.constructs.dead_letters import dead_letter_queue, work_queue
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import (
    EVENTS_INDEX_RESOURCE,
    base_table_only,
    grant_send_email,
    table_environment,
)
from infra.nag import acknowledge

ROUTER = FunctionSpec(
    "StreamRouter",
    "stream_router",
    "Events table stream -> deliveries of each tenant's destinations (docs/streaming.md)",
    memory_size=1024,
    timeout_seconds=60,
)
DELIVERER = FunctionSpec(
    "Deliverer",
    "deliverer",
    "Deliveries queue -> webhooks, S3 buckets, EventBridge buses",
    # A batch of 5: a replay step reads for at most 30 s (logic/deliveries.py REPLAY_STEP_SECONDS) and
    # each of the other 4 attempts may take its full 15 s (the webhook deadline): 90 s, plus margin.
    timeout_seconds=120,
)
DESTINATIONS = FunctionSpec("Destinations", "destinations", "/v1/destinations...", timeout_seconds=25)

# AWS's advice for an SQS event source: a visibility timeout of six times the function's timeout, so a
# batch still being retried by the poller is not handed out again.
DELIVERY_VISIBILITY = Duration.seconds(6 * DELIVERER.timeout_seconds)
# A delivery is attempted at most 8 times (docs/streaming.md, the retry schedule); the rest is room for
# receives that never reached the deliverer's code (throttling, a crashed batch) before SQS gives up.
DELIVERY_MAX_RECEIVES = 12
DELIVERY_BATCH = 5
# Deliverers at once, at most: slow tenant endpoints cannot take the account's concurrency from the API.
DELIVERY_CONCURRENCY = 20

ROUTER_BATCH = 500
ROUTER_WINDOW = Duration.seconds(1)
ROUTER_RETRIES = 20

# The external id every assumed tenant role is asked with starts with this (docs/destination-roles.md;
# the functions' own constant, functions/activitylog/models/destinations.py, a test compares them).
EXTERNAL_ID_PREFIX = "activitylog:"
TENANT_ROLES = f"arn:{Aws.PARTITION}:iam::*:role/*"
TENANT_ROLES_FINDING = "Resource::arn:<AWS::Partition>:iam::*:role/*"


def only_insert_of_event_items() -> Mapping[str, Any]:
    """The mapping's one filter: new event items only (`d`, the event document, is on those alone);
    an event's further target items, its late-arrival item and TTL deletions never invoke the router."""
    return lambda_.FilterCriteria.filter(
        {
            "eventName": lambda_.FilterRule.is_equal("INSERT"),
            "dynamodb": {"NewImage": {"d": {"S": lambda_.FilterRule.exists()}}},
        }
    )


def assume_tenant_roles() -> iam.PolicyStatement:
    """sts:AssumeRole on roles in any account, only when asked with an `activitylog:` external id, and
    never a role of this account (a role trusting this account's root would otherwise be reachable
    by naming it as a destination's role)."""
    return iam.PolicyStatement(
        actions=["sts:AssumeRole"],
        resources=[TENANT_ROLES],
        conditions={
            "StringLike": {"sts:ExternalId": f"{EXTERNAL_ID_PREFIX}*"},
            "StringNotEquals": {"aws:ResourceAccount": Aws.ACCOUNT_ID},
        },
    )


class Streaming(Construct):
    """Creates and configures the three streaming functions; their construct paths stay
    `Functions/<id>` (the factory's scope), like every other function's."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: FunctionFactory,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        sender: Sender,
    ) -> None:
        super().__init__(scope, construct_id)
        control_base = base_table_only(self, "ControlTableBase", control_table)
        events_base = base_table_only(self, "EventsTableBase", events_table)

        self.delivery_dead_letters = dead_letter_queue(
            self,
            "DeliveryDeadLetters",
            holds="delivery and replay messages received 12 times without being deleted (Deliveries queue)",
        )
        self.deliveries = work_queue(
            self,
            "Deliveries",
            visibility=DELIVERY_VISIBILITY,
            dead_letters=self.delivery_dead_letters,
            max_receives=DELIVERY_MAX_RECEIVES,
        )
        self.router_dead_letters = dead_letter_queue(
            self,
            "RouterDeadLetters",
            holds="stream batches (shard and sequence range) the router failed on after 20 retries",
        )
        self.queues = [self.router_dead_letters, self.delivery_dead_letters]
        queue_url = {"DELIVERY_QUEUE_URL": self.deliveries.queue_url}

        self.router = factory.create(
            ROUTER,
            environment={**table_environment(control=control_table), **queue_url, **METRICS_ENVIRONMENT},
        )
        control_base.grant_read_write_data(self.router)  # destinations read, ledger items written
        self.deliveries.grant_send_messages(self.router)
        # the mapping grants the stream read (and nothing of the table's items) and the DLQ's send
        self.router.add_event_source(
            sources.DynamoEventSource(
                events_table,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=ROUTER_BATCH,
                max_batching_window=ROUTER_WINDOW,
                bisect_batch_on_error=True,
                retry_attempts=ROUTER_RETRIES,
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(self.router_dead_letters.queue),
                filters=[only_insert_of_event_items()],
            )
        )

        self.deliverer = factory.create(
            DELIVERER,
            environment={
                **table_environment(events=events_table, control=control_table),
                **queue_url,
                "SENDER_EMAIL": sender.address,  # a disabled destination's notice
                **METRICS_ENVIRONMENT,
            },
        )
        events_table.grant_read_data(self.deliverer)  # events by id, and by_time for replays
        events_base.grant_write_data(self.deliverer)  # activitylog.destination.disabled
        control_base.grant_read_write_data(self.deliverer)
        grant_send_email(self.deliverer, sender)
        self.deliveries.grant_send_messages(self.deliverer)  # replays' next steps
        self.deliverer.add_to_role_policy(assume_tenant_roles())
        # consume (receive, delete, change visibility for the retry schedule) is the source's grant
        self.deliverer.add_event_source(
            sources.SqsEventSource(
                self.deliveries,
                batch_size=DELIVERY_BATCH,
                report_batch_item_failures=True,
                max_concurrency=DELIVERY_CONCURRENCY,
            )
        )

        self.destinations = factory.create(
            DESTINATIONS,
            environment={**table_environment(events=events_table, control=control_table), **queue_url},
        )
        control_base.grant_read_write_data(self.destinations)
        events_base.grant_write_data(self.destinations)  # activitylog.destination.* audit events
        self.deliveries.grant_send_messages(self.destinations)  # retries now, replays' first steps
        self.destinations.add_to_role_policy(assume_tenant_roles())  # POST .../test to S3, EventBridge
        self._acknowledge()

    def _acknowledge(self) -> None:
        roles = (
            "the tenant's role for an s3 or eventbridge destination lives in the tenant's account, "
            "unknown at synth; the statement's conditions require an external id starting with "
            "`activitylog:` and exclude this account's roles (docs/destination-roles.md)."
        )
        for function in (self.deliverer, self.destinations):
            acknowledge(
                function.role or function, rule=f"AwsSolutions-IAM5[{TENANT_ROLES_FINDING}]", reason=roles
            )
        acknowledge(
            self.deliverer.role or self.deliverer,
            rule=f"AwsSolutions-IAM5[{EVENTS_INDEX_RESOURCE}]",
            reason="a replay reads the events table's by_time index (docs/streaming.md, Replays); "
            "read-only actions on <events table>/index/* cover exactly its GSIs.",
        )
        # The factory acknowledged X-Ray's '*' on every role; the router's '*' also has ListStreams.
        acknowledge(
            self.router.role or self.router,
            rule="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray (no resource-level permissions) and dynamodb:ListStreams, which Lambda's "
            "event-source mapping requires and DynamoDB offers on '*' only (it lists stream ARNs, no "
            "items); the stream's records are read on the events table's one stream ARN.",
        )

    def routes(self) -> list[Route]:
        f = self.destinations
        base = "/v1/destinations"
        one = f"{base}/{{id}}"
        return [
            Route(path=base, method="GET", function=f),
            Route(path=base, method="POST", function=f),
            Route(path=one, method="GET", function=f),
            Route(path=one, method="PUT", function=f),
            Route(path=one, method="DELETE", function=f),
            Route(path=f"{one}/rotate-secret", method="POST", function=f),
            Route(path=f"{one}/test", method="POST", function=f),
            Route(path=f"{one}/deliveries", method="GET", function=f),
            Route(path=f"{one}/deliveries/{{delivery_id}}/retry", method="POST", function=f),
            Route(path=f"{one}/replays", method="POST", function=f),
            Route(path=f"{one}/replays/{{replay_id}}", method="GET", function=f),
        ]
