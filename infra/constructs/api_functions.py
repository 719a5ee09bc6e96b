"""The API's Lambda functions (docs/components.md) and their least-privilege data permissions."""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import Sender
from infra.constructs.api import Route
from infra.constructs.function_factory import METRICS_ENVIRONMENT, FunctionFactory, FunctionSpec
from infra.grants import (
    CONTROL_INDEX_RESOURCE,
    EVENTS_INDEX_RESOURCE,
    base_table_only,
    grant_send_email,
    table_environment,
)
from infra.nag import acknowledge

AUTHORIZER = FunctionSpec(
    "Authorizer",
    "authorizer",
    "REST API token authorizer: resolves an API key or viewer token to tenant, scopes and restriction",
)
INGEST = FunctionSpec("Ingest", "ingest", "POST /v1/events", memory_size=1024, timeout_seconds=25)
QUERY = FunctionSpec(
    "Query",
    "query",
    "GET /v1/events, /v1/events/count, /v1/events/{id}, /v1/actions, /v1/actors, /v1/targets",
    memory_size=1024,
    timeout_seconds=25,
)
ADMIN = FunctionSpec(
    "Admin", "admin", "/v1/settings, /v1/usage, /v1/api-keys, /v1/viewer-tokens", timeout_seconds=15
)
DOCS = FunctionSpec("Docs", "docs", "GET /v1/health, /v1/openapi.json, /v1/docs (public, no data access)")


def key_only_batch_get(table: dynamodb.ITable) -> iam.PolicyStatement:
    """BatchGetItem on the base table that can return the partition key `pk` and nothing else.

    The ingest idempotency check only asks "is this id stored?"; the conditions keep "ingest cannot
    read events" true (AWS: "Limiting access to specific attributes" with dynamodb:Attributes).
    """
    return iam.PolicyStatement(
        actions=["dynamodb:BatchGetItem"],
        resources=[table.table_arn],
        conditions={
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk"]},
            "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
        },
    )


class ApiFunctions(Construct):
    """Authorizer, Ingest, Query, Admin and Docs, each granted only what its routes need.

    Owns the function factory (its children are every function of the stack, one layer, one asset);
    other areas' constructs create their own functions with it and configure only those.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        events_table: dynamodb.ITable,
        control_table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        sender: Sender,
    ) -> None:
        super().__init__(scope, construct_id)
        factory = FunctionFactory(self)
        self.factory = factory  # shared with other areas' constructs (one layer, one code asset)
        control_base = base_table_only(self, "ControlTableBase", control_table)
        events_base = base_table_only(self, "EventsTableBase", events_table)

        events, control = table_environment(events=events_table), table_environment(control=control_table)
        # The tenant's API Gateway key is named after this stack (functions' logic/throttle.py).
        self.authorizer = factory.create(
            AUTHORIZER,
            environment={**control, "THROTTLE_NAMESPACE": Aws.STACK_NAME, **METRICS_ENVIRONMENT},
        )
        control_base.grant_read_data(self.authorizer)
        control_base.grant(self.authorizer, "dynamodb:UpdateItem")  # a key's last_used_at, hourly

        # Quota warnings (80% / 100%) are emailed by Ingest, from the exports' sender.
        self.ingest = factory.create(
            INGEST,
            environment={
                **table_environment(
                    events=events_table, control=control_table, idempotency=idempotency_table
                ),
                "SENDER_EMAIL": sender.address,
                **METRICS_ENVIRONMENT,
            },
        )
        events_base.grant_write_data(self.ingest)
        self.ingest.add_to_role_policy(key_only_batch_get(events_table))
        idempotency_table.grant_read_write_data(self.ingest)
        control_base.grant_read_data(self.ingest)
        control_base.grant(self.ingest, "dynamodb:UpdateItem")  # usage counters, action catalogue
        grant_send_email(self.ingest, sender)

        self.query = factory.create(QUERY, environment={**events, **control})
        events_table.grant_read_data(self.query)
        control_base.grant_read_data(self.query)

        self.admin = factory.create(ADMIN, environment={**events, **control})
        control_table.grant_read_write_data(self.admin)  # incl. the by_owner index (key listing)
        events_base.grant_write_data(self.admin)  # the service's own activitylog.* audit events

        self.docs = factory.create(DOCS)

        index_readers = {
            self.query: (
                EVENTS_INDEX_RESOURCE,
                "Query reads the events table through its four GSIs (by_time, by_actor, by_action, "
                "by_target); read-only actions on <events table>/index/* cover exactly those indexes.",
            ),
            self.admin: (
                CONTROL_INDEX_RESOURCE,
                "Admin lists and finds a tenant's API keys through the control table's by_owner GSI; "
                "read-only actions on <control table>/index/* cover exactly that index.",
            ),
        }
        for function, (indexes, reason) in index_readers.items():
            acknowledge(function.role or function, rule=f"AwsSolutions-IAM5[{indexes}]", reason=reason)

    def routes(self) -> list[Route]:
        return [
            Route(path="/v1/events", method="POST", function=self.ingest),
            Route(path="/v1/events", method="GET", function=self.query),
            Route(path="/v1/events/count", method="GET", function=self.query),
            Route(path="/v1/events/{id}", method="GET", function=self.query),
            Route(path="/v1/actions", method="GET", function=self.query),
            Route(path="/v1/actors", method="GET", function=self.query),
            Route(path="/v1/targets", method="GET", function=self.query),
            Route(path="/v1/settings", method="GET", function=self.admin),
            Route(path="/v1/settings", method="PUT", function=self.admin),
            Route(path="/v1/usage", method="GET", function=self.admin),
            Route(path="/v1/api-keys", method="POST", function=self.admin),
            Route(path="/v1/api-keys", method="GET", function=self.admin),
            Route(path="/v1/api-keys/{key_id}", method="DELETE", function=self.admin),
            Route(path="/v1/viewer-tokens", method="POST", function=self.admin),
            Route(path="/v1/health", method="GET", function=self.docs, public=True),
            Route(path="/v1/openapi.json", method="GET", function=self.docs, public=True),
            Route(path="/v1/docs", method="GET", function=self.docs, public=True),
        ]
