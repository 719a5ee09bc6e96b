"""The DynamoDB tables (stateful): events, control and Powertools idempotency (docs/components.md).

Logical IDs are pinned with `override_logical_id`: a table whose logical ID changes is replaced by
CloudFormation, so moving these constructs in the tree must never rename them (a test asserts the IDs).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

EVENTS_TABLE_ID = "EventsTable"
CONTROL_TABLE_ID = "ControlTable"
IDEMPOTENCY_TABLE_ID = "IdempotencyTable"

# GSI name -> partition key attribute; every events GSI sorts on `ts` and projects only `exp` so a read
# can drop expired items (TTL deletes lazily) before fetching the base items.
EVENTS_INDEXES = {"by_time": "tpk", "by_actor": "apk", "by_action": "xpk", "by_target": "gpk"}

_S = dynamodb.AttributeType.STRING


def _table(
    scope: Construct,
    construct_id: str,
    *,
    partition_key: str,
    sort_key: str | None = None,
    ttl_attribute: str,
    stream: dynamodb.StreamViewType | None = None,
) -> dynamodb.Table:
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=_S),
        sort_key=dynamodb.Attribute(name=sort_key, type=_S) if sort_key else None,
        time_to_live_attribute=ttl_attribute,
        stream=stream,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
    )
    cfn = table.node.default_child
    assert isinstance(cfn, dynamodb.CfnTable)
    cfn.override_logical_id(construct_id)
    return table


class Tables(Construct):
    """Creates the three tables; exposes them as attributes for grants in the stateless stack."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.events = _table(
            self,
            EVENTS_TABLE_ID,
            partition_key="pk",
            ttl_attribute="exp",
            # The streaming router's one reader (docs/streaming.md): new images only, no old ones
            # (events are never updated; TTL deletions are filtered out by the mapping).
            stream=dynamodb.StreamViewType.NEW_IMAGE,
        )
        for index_name, pk in EVENTS_INDEXES.items():
            self.events.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=pk, type=_S),
                sort_key=dynamodb.Attribute(name="ts", type=_S),
                projection_type=dynamodb.ProjectionType.INCLUDE,
                non_key_attributes=["exp"],
            )
        self.control = _table(
            self,
            CONTROL_TABLE_ID,
            partition_key="pk",
            sort_key="sk",
            ttl_attribute="exp",
        )
        self.control.add_global_secondary_index(
            index_name="by_owner",
            partition_key=dynamodb.Attribute(name="gpk", type=_S),
            sort_key=dynamodb.Attribute(name="gsk", type=_S),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Powertools idempotency defaults: key attribute `id`, TTL attribute `expiration`.
        self.idempotency = _table(
            self,
            IDEMPOTENCY_TABLE_ID,
            partition_key="id",
            ttl_attribute="expiration",
        )
