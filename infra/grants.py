"""Grant helpers shared by the stateless constructs, and how cdk-nag names the imported resources.

The construct that creates a function is the only one that sets its environment and grants; these
helpers keep those grants as narrow as the function's code needs.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import Sender

# Cross-stack exports of the stateful stack, as cdk-nag prints them in IAM5 findings.
_EVENTS_TABLE_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttEventsTableArn9499E97C"
_CONTROL_TABLE_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttControlTableArn18E2DDBF"
EXPORTS_BUCKET_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttExportsExportsBucketAF6E3739Arn2357CF2C"
SCHEDULE_GROUP_NAME = "ActivityLog-Stateful:ExportsOutputRefExportsScheduleGroup7C853BBFCEAD35C0"
EVENTS_INDEX_RESOURCE = f"Resource::{_EVENTS_TABLE_ARN}/index/*"
CONTROL_INDEX_RESOURCE = f"Resource::{_CONTROL_TABLE_ARN}/index/*"


def base_table_only(scope: Construct, construct_id: str, table: dynamodb.ITable) -> dynamodb.ITable:
    """The same table seen without its indexes, so `grant_*` covers the base table ARN only.

    `grant_*` on a table with GSIs always adds `<arn>/index/*`; callers that only use keys
    (GetItem/UpdateItem/BatchWriteItem) get no access to any index this way.
    """
    return dynamodb.Table.from_table_arn(scope, construct_id, table.table_arn)


def grant_send_email(function: lambda_.IFunction, sender: Sender) -> None:
    """ses:SendEmail as the configured sender identity only, its ARN built from the name.

    A value, not the stateful stack's export of the identity: changing the sender replaces the
    `AWS::SES::EmailIdentity`, which an exported reference would block (docs/infrastructure.md).
    """
    identity_arn = Stack.of(function).format_arn(
        service="ses", resource="identity", resource_name=sender.identity
    )
    function.add_to_role_policy(
        iam.PolicyStatement(actions=["ses:SendEmail", "ses:SendRawEmail"], resources=[identity_arn])
    )


def table_environment(
    *,
    events: dynamodb.ITable | None = None,
    control: dynamodb.ITable | None = None,
    idempotency: dynamodb.ITable | None = None,
) -> dict[str, str]:
    """The table variables of a function that reads those tables (`EventsEnv`, `ControlEnv`, ...)."""
    named = {"EVENTS_TABLE": events, "CONTROL_TABLE": control, "IDEMPOTENCY_TABLE": idempotency}
    return {name: table.table_name for name, table in named.items() if table is not None}
