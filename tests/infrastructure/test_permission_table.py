"""Least privilege, function by function: the exact (action, resource, condition) set of every Lambda
role, asserted against a table written here. Any new permission, widened resource or new function
fails this test until a reviewer adds it to the table (and says why in the review).

Resources are rendered symbolically: a stateful resource imported through an export becomes its
logical ID without CDK's hash suffix (`EventsTable`, `ExportsExportsBucket`), `Fn::Join` parts are
concatenated, pseudo parameters become `${Region}` and so on.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from infra_support import CDK_DEPLOYMENT_HANDLER, HANDLER_PREFIX, as_list, resources_of, role_statements

Grant = tuple[str, str, str]  # (action, rendered resource, rendered condition or "")

# Services whose resources hold tenant data or act on it: never on "*".
DATA_SERVICES = {"dynamodb", "s3", "secretsmanager", "sqs", "ses", "states", "kms"}
# Observability actions that AWS only offers on "*" (no resource-level permissions).
STAR_ONLY = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# A data service's action that AWS offers on "*" only and that returns no tenant data: the stream
# router's event-source mapping needs ListStreams (stream ARNs), its records are read on one ARN.
UNSCOPABLE = {"dynamodb:ListStreams"}

_HASH = re.compile(r"[0-9A-F]{8}$")


def _symbol(logical_id: str) -> str:
    return _HASH.sub("", logical_id)


def render(value: Any, imports: dict[str, str]) -> str:
    """A CloudFormation resource expression as a stable, readable string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return "${" + arg.removeprefix("AWS::") + "}" if arg.startswith("AWS::") else _symbol(arg)
        if fn == "Fn::GetAtt":
            return _symbol(arg[0]) + ("" if arg[1] == "Arn" else f".{arg[1]}")
        if fn == "Fn::ImportValue":
            assert arg in imports, f"import of an unknown export {arg}"
            return imports[arg]
        if fn == "Fn::Join":
            separator, parts = arg
            return str(separator).join(render(p, imports) for p in parts)
        if fn == "Fn::Sub" and isinstance(arg, str):  # CDK's asset bucket name (BucketDeployment)
            return arg.replace("${AWS::", "${")
    raise AssertionError(f"unrendered resource expression {value!r}")


def stateful_exports(stateful: dict[str, Any]) -> dict[str, str]:
    """Export name -> rendered value (`ControlTable`, `ExportsExportsBucket`, ...)."""
    found = {}
    for output in stateful.get("Outputs", {}).values():
        if "Export" in output:
            found[output["Export"]["Name"]] = render(output["Value"], {})
    return found


def grants_of(template: dict[str, Any], function_id: str, imports: dict[str, str]) -> set[Grant]:
    found: set[Grant] = set()
    for statement in role_statements(template, function_id):
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        condition = (
            json.dumps(statement.get("Condition", {}), sort_keys=True) if "Condition" in statement else ""
        )
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                found.add((action, render(resource, imports), condition))
    return found


def table_of(stateless: dict[str, Any], stateful: dict[str, Any]) -> dict[str, set[Grant]]:
    imports = stateful_exports(stateful)
    table = {}
    for logical_id, function in resources_of(stateless, "AWS::Lambda::Function").items():
        if logical_id.startswith(CDK_DEPLOYMENT_HANDLER):
            continue  # CDK's BucketDeployment handler: its grants are reviewed in docs/infrastructure.md
        module = function["Properties"]["Handler"].removeprefix(HANDLER_PREFIX).removesuffix(".handler")
        table[module] = grants_of(stateless, logical_id, imports)
    return table


PK_ONLY = json.dumps(
    {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk"]},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    },
    sort_keys=True,
)
READ = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:Query",
    "dynamodb:Scan",
]
WRITE = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
BUCKET = "ExportsExportsBucket"
# The identity's ARN is built from the configured sender (a value, not the identity's export).
SENDER = "arn:${Partition}:ses:${Region}:${AccountId}:identity/exports@example.com"
SECRET = "ExportsDownloadSigningSecret"
SCHEDULE_GROUP = "ExportsScheduleGroup"  # its generated name, imported from the stateful stack
SCHEDULES = "arn:${Partition}:scheduler:${Region}:${AccountId}:schedule/" + SCHEDULE_GROUP + "/*"


def on(resource: str, *actions: str, condition: str = "") -> set[Grant]:
    return {(a, resource, condition) for a in actions}


def base(module: str) -> set[Grant]:
    """Every function: X-Ray (AWS offers no resource scoping) and its own log group only."""
    log_group = {
        "authorizer": "FunctionsAuthorizerLogs",
        "ingest": "FunctionsIngestLogs",
        "query": "FunctionsQueryLogs",
        "admin": "FunctionsAdminLogs",
        "docs": "FunctionsDocsLogs",
        "exports": "FunctionsExportsLogs",
        "export_plan": "FunctionsExportPlanLogs",
        "export_slice": "FunctionsExportSliceLogs",
        "export_assemble": "FunctionsExportAssembleLogs",
        "export_fail": "FunctionsExportFailLogs",
        "export_watchdog": "FunctionsExportWatchdogLogs",
        "export_notify": "FunctionsExportNotifyLogs",
        "export_fire": "FunctionsExportFireLogs",
        "stream_router": "FunctionsStreamRouterLogs",
        "deliverer": "FunctionsDelivererLogs",
        "destinations": "FunctionsDestinationsLogs",
        "alerts": "FunctionsAlertsLogs",
        "alert_evaluator": "FunctionsAlertEvaluatorLogs",
        "reports": "FunctionsReportsLogs",
        "rollup_worker": "FunctionsRollupWorkerLogs",
    }[module]
    return on("*", *sorted(STAR_ONLY)) | on(log_group, "logs:CreateLogStream", "logs:PutLogEvents")


S3_READ = ["s3:GetBucket*", "s3:GetObject*", "s3:List*"]
S3_PUT = ["s3:Abort*", "s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention"]
S3_PUT += ["s3:PutObjectTagging", "s3:PutObjectVersionTagging"]
CONTROL_RW = sorted(set(READ) | set(WRITE))
# An asynchronously invoked function's on-failure destination (Lambda sends with the function's role).
TO_QUEUE = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]

# The Deliveries queue's consumer (the SQS event source's grant) and the events table's stream reader.
CONSUME = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
CONSUME += ["sqs:GetQueueUrl", "sqs:ReceiveMessage"]
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
DELIVERIES = "StreamingDeliveries"
ALERT_WORK = "AlertingAlertWork"
ROLLUP_WORK = "ReportingRollupWork"
# Roles in tenants' accounts, only with an `activitylog:` external id and never this account's own.
TENANT_ROLES = "arn:${Partition}:iam::*:role/*"
EXTERNAL_ID = json.dumps(
    {
        "StringLike": {"sts:ExternalId": "activitylog:*"},
        "StringNotEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}},
    },
    sort_keys=True,
)

# The reviewed table. Why each function needs what it has: docs/components.md, docs/exports.md.
EXPECTED: dict[str, set[Grant]] = {
    "authorizer": on("ControlTable", *READ, "dynamodb:UpdateItem"),
    "ingest": on("EventsTable", *WRITE)
    | on("EventsTable", "dynamodb:BatchGetItem", condition=PK_ONLY)
    | on("IdempotencyTable", *CONTROL_RW)
    | on("ControlTable", *READ, "dynamodb:UpdateItem")
    | on(SENDER, "ses:SendEmail", "ses:SendRawEmail"),
    "query": on("ControlTable", *READ) | on("EventsTable", *READ) | on("EventsTable/index/*", *READ),
    # CDK's grant_read_write_data also names the index ARN for the write actions; DynamoDB never
    # authorises a write against an index ARN, so those four grants are inert (kept: CDK's shape).
    "admin": on("ControlTable", *CONTROL_RW)
    | on("ControlTable/index/*", *CONTROL_RW)
    | on("EventsTable", *WRITE),
    "docs": set(),
    # the audit trail (activitylog.export.*): append-only on the base table, no index, no read
    "exports": on("ControlTable", *CONTROL_RW)
    | on("EventsTable", *WRITE)
    | on("ExportsStateMachine", "states:StartExecution")
    | on(BUCKET, *S3_READ)
    | on(f"{BUCKET}/*", *S3_READ, "s3:DeleteObject*")
    | on(SECRET, "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
    # scheduled exports: its own schedule group's schedules, and passing the scheduler role only
    | on(SCHEDULES, "scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule")
    | on("SchedulesSchedulerRole", "iam:PassRole"),
    "export_plan": on("ControlTable", *CONTROL_RW)
    | on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ),
    "export_slice": on("ControlTable", *READ)
    | on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ)
    | on(f"{BUCKET}/tmp/*", *S3_PUT),
    "export_assemble": on("ControlTable", *CONTROL_RW)
    | on(BUCKET, *S3_READ, *S3_PUT, "s3:DeleteObject*")
    | on(f"{BUCKET}/*", *S3_READ, *S3_PUT, "s3:DeleteObject*"),
    "export_fail": on("ControlTable", *CONTROL_RW)
    | on(BUCKET, *S3_READ)
    | on(f"{BUCKET}/*", *S3_READ, "s3:DeleteObject*"),
    "export_watchdog": on("ControlTable", *CONTROL_RW)
    | on(BUCKET, *S3_READ)
    | on(f"{BUCKET}/*", *S3_READ, "s3:DeleteObject*")
    | on("ExportsWatchdogFailures", *TO_QUEUE),
    # records the run's `notification` and counts the tenant's daily mail
    "export_notify": on("ControlTable", *CONTROL_RW)
    | on(SECRET, "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
    | on(SENDER, "ses:SendEmail", "ses:SendRawEmail"),
    # the schedules' target: records the run (control table) and starts the workflow
    "export_fire": on("ControlTable", *CONTROL_RW)
    | on("ExportsStateMachine", "states:StartExecution")
    | on("SchedulesFireFailures", *TO_QUEUE),
    # docs/streaming.md: the stream only (never the events' items), destinations and alerts read and
    # the ledger written, deliveries, alert work and rollup work (hours announced) enqueued; its
    # mapping's failed batches go to its dead-letter queue
    "stream_router": on("EventsTable.StreamArn", *STREAM_READ)
    | on("*", "dynamodb:ListStreams")
    | on("ControlTable", *CONTROL_RW)
    | on(DELIVERIES, *TO_QUEUE)
    | on(ALERT_WORK, *TO_QUEUE)
    | on(ROLLUP_WORK, *TO_QUEUE)
    | on("StreamingRouterDeadLetters", *TO_QUEUE),
    # events by id and, for replays, by_time; the activitylog.destination.disabled event and its email
    "deliverer": on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ)
    | on("EventsTable", *WRITE)
    | on("ControlTable", *CONTROL_RW)
    | on(SENDER, "ses:SendEmail", "ses:SendRawEmail")
    | on(DELIVERIES, *CONSUME, "sqs:SendMessage")
    | on(TENANT_ROLES, "sts:AssumeRole", condition=EXTERNAL_ID),
    # the API: definitions and their audit events, retries and replays enqueued, tests sent now
    "destinations": on("ControlTable", *CONTROL_RW)
    | on("EventsTable", *WRITE)
    | on(DELIVERIES, *TO_QUEUE)
    | on(TENANT_ROLES, "sts:AssumeRole", condition=EXTERNAL_ID),
    # docs/alerts.md: the API's definitions, preview pages and audit events; preview reads events
    # through the query path (the GSIs); no queue, no mail, no other account
    "alerts": on("ControlTable", *CONTROL_RW)
    | on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ)
    | on("EventsTable", *WRITE),
    # the evaluator: states and firings (TransactWriteItems is PutItem and UpdateItem), the mail
    # counter, destinations and ledger items (control table, keys only); the firing's events by key
    # (no index) and its activitylog.alert.fired event; its email; its deliveries enqueued; the
    # AlertWork queue consumed
    "alert_evaluator": on("ControlTable", *CONTROL_RW)
    | on("EventsTable", *READ)
    | on("EventsTable", *WRITE)
    | on(SENDER, "ses:SendEmail", "ses:SendRawEmail")
    | on(DELIVERIES, *TO_QUEUE)
    | on(ALERT_WORK, *CONSUME),
    # docs/reports.md: the pieces a report cannot answer from rollups are counted from events through
    # the query path (the GSIs); rollups, settings and known actions read; a background job's claim
    # (RUJOB#, a conditional PutItem) and its hours enqueued. No update, no delete, no index of the
    # control table.
    "reports": on("ControlTable", *READ, "dynamodb:PutItem")
    | on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ)
    | on(ROLLUP_WORK, *TO_QUEUE),
    # the worker: an hour's events through the query path (the GSIs); its rollup items (conditional
    # PutItem) and the sealed-through mark (UpdateItem), settings and known actions read; no delete;
    # the RollupWork queue consumed, and work not yet due sent back to it with a delay
    "rollup_worker": on("ControlTable", *READ, "dynamodb:PutItem", "dynamodb:UpdateItem")
    | on("EventsTable", *READ)
    | on("EventsTable/index/*", *READ)
    | on(ROLLUP_WORK, *CONSUME, "sqs:SendMessage"),
}


@pytest.fixture(scope="module")
def actual(stateless: dict[str, Any], stateful: dict[str, Any]) -> dict[str, set[Grant]]:
    return table_of(stateless, stateful)


def test_every_lambda_function_is_in_the_reviewed_table(actual: dict[str, set[Grant]]) -> None:
    assert sorted(actual) == sorted(EXPECTED)


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_each_function_has_exactly_the_reviewed_permissions(
    actual: dict[str, set[Grant]], module: str
) -> None:
    # Given the synthesized role of one function / Then it holds the reviewed grants, no more, no less
    expected = EXPECTED[module] | base(module)
    got = actual[module]
    assert {
        "not reviewed (new permission)": sorted(got - expected),
        "reviewed but gone (update the table)": sorted(expected - got),
    } == {"not reviewed (new permission)": [], "reviewed but gone (update the table)": []}


def data_star_findings(template: dict[str, Any], imports: dict[str, str]) -> list[str]:
    """Every statement of every role in a template granting a data service's action on '*'."""
    found = []
    roles = set(resources_of(template, "AWS::IAM::Role"))
    documents = [
        (role, p["PolicyDocument"])
        for role in roles
        for p in template["Resources"][role]["Properties"].get("Policies", [])
    ]
    documents += [
        (str(p["Properties"]["Roles"]), p["Properties"]["PolicyDocument"])
        for p in resources_of(template, "AWS::IAM::Policy").values()
    ]
    for owner, document in documents:
        for statement in as_list(document["Statement"]):
            actions = as_list(statement.get("Action", []))
            data = [
                a for a in actions if (a == "*" or a.split(":")[0] in DATA_SERVICES) and a not in UNSCOPABLE
            ]
            resources = [render(r, imports) for r in as_list(statement.get("Resource", []))]
            wide = [r for r in resources if r == "*" or r.endswith(":*") or r.endswith(":::*")]
            if data and wide:
                found.append(f"{owner}: {data} on {wide}")
    return found


def test_no_role_has_a_data_action_on_star(stateless: dict[str, Any], stateful: dict[str, Any]) -> None:
    imports = stateful_exports(stateful)
    # every role of both stacks (the state machine's and the API's too), not only the functions'
    assert data_star_findings(stateless, imports) + data_star_findings(stateful, {}) == []


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::*"},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": ["x", "*"]},
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": "arn:aws:states:*"},
        {"Effect": "Allow", "Action": ["dynamodb:ListStreams", "dynamodb:GetRecords"], "Resource": "*"},
    ],
)
def test_the_star_check_finds_a_planted_wildcard(statement: dict[str, Any]) -> None:
    template = {
        "Resources": {
            "R": {"Type": "AWS::IAM::Role", "Properties": {}},
            "P": {
                "Type": "AWS::IAM::Policy",
                "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": {"Statement": [statement]}},
            },
        }
    }
    assert len(data_star_findings(template, {})) == 1


def test_the_table_check_notices_an_extra_grant(stateless: dict[str, Any], stateful: dict[str, Any]) -> None:
    # Given the real template with one more statement on the query role / Then the table differs
    planted = json.loads(json.dumps(stateless))
    (policy,) = [
        p
        for p in resources_of(planted, "AWS::IAM::Policy").values()
        if any("FunctionsQueryRole" in str(r) for r in p["Properties"]["Roles"])
    ]
    policy["Properties"]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": {"Fn::GetAtt": ["Whatever", "Arn"]}}
    )
    assert table_of(planted, stateful)["query"] - (EXPECTED["query"] | base("query")) == {
        ("dynamodb:PutItem", "Whatever", "")
    }
