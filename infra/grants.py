"""Grant helpers shared by the stateless constructs, and how cdk-nag names the imported resources.

The construct that creates a function is the only one that sets its environment and grants; these
helpers keep those grants as narrow as the function's code needs.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

# Cross-stack exports of the stateful stack, as cdk-nag prints them in IAM5 findings.
_EVENTS_TABLE_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttEventsTableArn9499E97C"
_CONTROL_TABLE_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttControlTableArn18E2DDBF"
EXPORTS_BUCKET_ARN = "ActivityLog-Stateful:ExportsOutputFnGetAttExportsExportsBucketAF6E3739Arn2357CF2C"
EVENTS_INDEX_RESOURCE = f"Resource::{_EVENTS_TABLE_ARN}/index/*"
CONTROL_INDEX_RESOURCE = f"Resource::{_CONTROL_TABLE_ARN}/index/*"


def base_table_only(scope: Construct, construct_id: str, table: dynamodb.ITable) -> dynamodb.ITable:
    """The same table seen without its indexes, so `grant_*` covers the base table ARN only.

    `grant_*` on a table with GSIs always adds `<arn>/index/*`; callers that only use keys
    (GetItem/UpdateItem/BatchWriteItem) get no access to any index this way.
    """
    return dynamodb.Table.from_table_arn(scope, construct_id, table.table_arn)
