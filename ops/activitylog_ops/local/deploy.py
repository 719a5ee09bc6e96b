""" "Deploys" the synthesized stacks onto the embedded emulation.

Creates what the handlers and the export workflow reach at run time: DynamoDB tables (with TTL
enabled, though moto never expires items), S3 buckets, SQS queues (with their redrive policies),
Secrets Manager secrets, the Lambda functions (registered with moto's docker-free backend; their
code runs in-process through `moto_lambda`), SES identities, and the state machines with their
definitions resolved to the local resources. API Gateway is not created on moto: the local gateway
serves the routes itself. Nor are the event-source mappings: local mode's pollers run them
(`activitylog_ops.local.streams`, `.queues`).
"""

from __future__ import annotations

import io
import json
import logging
import secrets as secrets_module
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from activitylog_ops.local.template import Deployment, Template

log = logging.getLogger(__name__)

STACKS = ("ActivityLog-Stateful", "ActivityLog-Stateless")
LAMBDA_ROLE = "activitylog-local-lambda"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}
_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
# The `AWS::SQS::Queue` properties that change how the emulated queue behaves (all SetQueueAttributes
# attributes of the same name). Encryption (`SqsManagedSseEnabled`, `KmsMasterKeyId`, ...), the
# queue policies (`AWS::SQS::QueuePolicy`: TLS only, who may send) and `RedriveAllowPolicy` (who may
# use it as a dead-letter queue) are access controls with no behaviour to emulate: not created.
QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


class SynthesisError(RuntimeError):
    """The CDK app did not synthesize (its own messages went to stderr)."""


def synth_templates(outdir: str) -> dict[str, dict[str, Any]]:
    """The CDK app's templates, keyed by stack name: synthesized in a child process
    (`activitylog_ops.local.synth`, which says why), with a placeholder for the Lambda layer."""
    child = subprocess.run(  # noqa: S603 (our interpreter, our module, a temp directory)
        [sys.executable, "-m", "activitylog_ops.local.synth", outdir],
        # its own session: a Ctrl-C during synthesis stops us, and subprocess.run then kills it,
        # instead of it printing a traceback of its own
        start_new_session=True,
        check=False,
    )
    if child.returncode != 0:
        raise SynthesisError(f"the CDK app did not synthesize (exit code {child.returncode}; see above)")
    return {name: json.loads((Path(outdir) / f"{name}.template.json").read_text()) for name in STACKS}


def table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """`CreateTable` arguments from an `AWS::DynamoDB::Table` / `GlobalTable`'s resolved properties."""
    billing = properties.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = properties.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    indexes = [
        {k: v for k, v in gsi.items() if k in _INDEX_KEYS}
        for gsi in properties.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    local = [
        {k: v for k, v in lsi.items() if k in _INDEX_KEYS}
        for lsi in properties.get("LocalSecondaryIndexes", [])
    ]
    if local:
        request["LocalSecondaryIndexes"] = local
    stream = properties.get("StreamSpecification")
    if stream:  # read by local mode's stream pollers (activitylog_ops.local.streams)
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """`CreateQueue` attributes (strings, as SQS takes them) from an `AWS::SQS::Queue`'s resolved
    properties, without the redrive policy (`redrive_policy`: its dead-letter queue must exist first)."""
    return {name: _attribute(properties[name]) for name in QUEUE_ATTRIBUTES if name in properties}


def redrive_policy(properties: Mapping[str, Any]) -> str | None:
    """The queue's `RedrivePolicy` as SQS takes it (JSON), its `deadLetterTargetArn` resolved."""
    policy = properties.get("RedrivePolicy")
    if not policy:
        return None
    policy = json.loads(policy) if isinstance(policy, str) else dict(policy)
    return json.dumps(
        {
            "deadLetterTargetArn": str(policy["deadLetterTargetArn"]),
            "maxReceiveCount": int(policy["maxReceiveCount"]),
        }
    )


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def ttl_attribute(properties: Mapping[str, Any]) -> str | None:
    spec = properties.get("TimeToLiveSpecification") or {}
    return str(spec["AttributeName"]) if spec.get("Enabled") and spec.get("AttributeName") else None


def state_machine_definition(deployment: Deployment, stack: str, properties: Mapping[str, Any]) -> str:
    """The plain JSON definition: `DefinitionString` (a `Fn::Join`), or `Definition` + substitutions."""
    if "DefinitionString" in properties:
        text = str(deployment.resolve(stack, properties["DefinitionString"]))
    else:
        text = json.dumps(deployment.resolve(stack, properties["Definition"]))
    substitutions = deployment.resolve(stack, properties.get("DefinitionSubstitutions", {}))
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", str(value))
    return text


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("local.txt", "code runs in-process (activitylog_ops.local.invoker)\n")
    return buffer.getvalue()


def _role(iam: Any) -> str:
    """The one role every local function and state machine gets (moto checks that it exists)."""
    try:
        return str(iam.get_role(RoleName=LAMBDA_ROLE)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=json.dumps(_TRUST))
        return str(created["Role"]["Arn"])


def create_resources(deployment: Deployment, client: Any) -> dict[str, str]:
    """Create the stacks' resources on the emulation; `client(service)` returns a boto3 client.
    Returns the emulation's ids of what it names itself: `{"<stack>/<logical id>": id}` of the usage
    plans (the local gateway enforces their throttles, activitylog_ops.local.rate_limits)."""
    dynamodb = client("dynamodb")
    for table in deployment.tables():
        dynamodb.create_table(**table_request(table.name, table.properties))
        attribute = ttl_attribute(table.properties)
        if attribute:
            dynamodb.update_time_to_live(
                TableName=table.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
    sqs = client("sqs")
    queues = [
        (
            deployment.physical_name(stack, logical_id),
            deployment.resolve(stack, resource.get("Properties", {})),
        )
        for stack, logical_id, resource in deployment.of_type("AWS::SQS::Queue")
    ]
    urls = {}
    for name, properties in queues:  # every queue first: a redrive policy's dead-letter queue must exist
        urls[name] = sqs.create_queue(QueueName=name, Attributes=queue_attributes(properties))["QueueUrl"]
    for name, properties in queues:
        policy = redrive_policy(properties)
        if policy is not None:
            sqs.set_queue_attributes(QueueUrl=urls[name], Attributes={"RedrivePolicy": policy})
    s3 = client("s3")
    for stack, logical_id, _resource in deployment.of_type("AWS::S3::Bucket"):
        s3.create_bucket(Bucket=deployment.physical_name(stack, logical_id))
    ses = client("ses")
    for stack, _logical_id, resource in deployment.of_type("AWS::SES::EmailIdentity"):
        identity = str(deployment.resolve(stack, resource["Properties"]["EmailIdentity"]))
        if "@" in identity:
            ses.verify_email_identity(EmailAddress=identity)
        else:
            ses.verify_domain_identity(Domain=identity)
    secrets = client("secretsmanager")
    for stack, logical_id, _resource in deployment.of_type("AWS::SecretsManager::Secret"):
        # A fresh random value per start, as GenerateSecretString makes one per deployment.
        secrets.create_secret(
            Name=deployment.physical_name(stack, logical_id), SecretString=secrets_module.token_urlsafe(48)
        )
    scheduler = client("scheduler")
    for stack, logical_id, _resource in deployment.of_type("AWS::Scheduler::ScheduleGroup"):
        scheduler.create_schedule_group(Name=deployment.physical_name(stack, logical_id))
    role_arn = _role(client("iam"))
    lambda_ = client("lambda")
    code = _empty_zip()
    for function in deployment.functions():
        lambda_.create_function(
            FunctionName=function.name,
            Runtime="python3.12",
            Role=role_arn,
            Handler=function.handler,
            Code={"ZipFile": code},
            Timeout=function.timeout_s,
            MemorySize=function.memory_mb,
            Environment={"Variables": function.environment},
        )
    sfn = client("stepfunctions")
    for stack, logical_id, resource in deployment.of_type("AWS::StepFunctions::StateMachine"):
        properties = resource["Properties"]
        sfn.create_state_machine(
            name=deployment.physical_name(stack, logical_id),
            definition=state_machine_definition(deployment, stack, properties),
            roleArn=role_arn,
            type=properties.get("StateMachineType", "STANDARD"),
        )
    created: dict[str, str] = {}
    apigateway = client("apigateway")
    for stack, logical_id, resource in deployment.of_type("AWS::ApiGateway::UsagePlan"):
        properties = deployment.resolve(stack, resource["Properties"])
        throttle = properties.get("Throttle", {})
        plan = apigateway.create_usage_plan(
            name=str(properties.get("UsagePlanName", logical_id)),
            apiStages=[
                {"apiId": str(s["ApiId"]), "stage": str(s["Stage"])} for s in properties.get("ApiStages", [])
            ],
            throttle={"rateLimit": float(throttle["RateLimit"]), "burstLimit": int(throttle["BurstLimit"])},
        )
        created[f"{stack}/{logical_id}"] = plan["id"]
    log.info(
        "deployed %d tables, %d queues, %d functions, %d routes",
        len(deployment.tables()),
        len(queues),
        len(deployment.functions()),
        len(deployment.routes()),
    )
    return created


def output(deployment: Deployment, stack: str, name: str) -> str:
    """A stack output's value, resolved to the local resources."""
    template: Template = deployment.templates[stack]
    try:
        value = template["Outputs"][name]["Value"]
    except KeyError:
        raise KeyError(f"stack {stack} has no output {name}") from None
    return str(deployment.resolve(stack, value))
