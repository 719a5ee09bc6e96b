"""Pure CloudFormation template parsing for local mode: names, intrinsic functions, functions, routes.

Nothing here does I/O. A `Deployment` resolves the intrinsic functions of a set of synthesized stacks
(`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`, `Fn::ImportValue`, ...) to deterministic local names and
ARNs, so that a function's environment points at the tables `deploy` creates on the emulation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
LOCAL_API_ID = "local"

Template = Mapping[str, Any]

# Physical-name properties honoured when a template sets one (the house style does not).
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::SQS::Queue": "QueueName",
}
QUEUE_NAME_MAX = 80  # SQS's limit, ".fifo" included
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_FUNCTION_ARN_IN_URI = re.compile(r"/functions/(arn:[^/]+)/invocations$")


class TemplateError(Exception):
    """The template uses something local mode cannot resolve."""


@dataclass(frozen=True)
class FunctionSpec:
    stack: str
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int
    memory_mb: int


@dataclass(frozen=True)
class TableSpec:
    stack: str
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Route:
    """One API Gateway method: `resource` is the path template, e.g. `/v1/events/{id}`."""

    method: str
    resource: str
    function: str  # function name
    authorizer: str | None = None  # authorizer function name, for CUSTOM authorization
    identity_header: str = "Authorization"  # the TOKEN authorizer's identity source
    api_key_required: bool = False  # throttled by the usage plan of the authorizer's usageIdentifierKey


@dataclass
class Deployment:
    """The resolved view of a set of stacks, keyed by stack name.

    `endpoint_url` is the emulation's URL: the `Ref` of an SQS queue is its URL, and locally that is
    the URL moto's `GetQueueUrl` answers (`<endpoint>/<account>/<name>`); without one, the AWS form
    (`https://sqs.<region>.amazonaws.com/<account>/<name>`, which moto accepts too: it reads only
    the name at the end of a `QueueUrl`)."""

    templates: Mapping[str, Template]
    region: str = REGION
    account_id: str = ACCOUNT_ID
    endpoint_url: str | None = None
    _exports: dict[str, tuple[str, Any]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for stack, template in self.templates.items():
            for output in template.get("Outputs", {}).values():
                export = output.get("Export", {}).get("Name")
                if export is not None:
                    self._exports[str(self.resolve(stack, export))] = (stack, output["Value"])

    # -- names ---------------------------------------------------------------------------------
    def resources(self, stack: str) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.templates[stack].get("Resources", {})
        return resources

    def resource(self, stack: str, logical_id: str) -> Mapping[str, Any]:
        try:
            resource: Mapping[str, Any] = self.resources(stack)[logical_id]
        except KeyError:
            raise TemplateError(f"{stack}: no resource {logical_id!r}") from None
        return resource

    def physical_name(self, stack: str, logical_id: str) -> str:
        resource = self.resource(stack, logical_id)
        kind = resource["Type"]
        explicit = resource.get("Properties", {}).get(_NAME_PROPERTY.get(kind, ""))
        if explicit is not None:
            return str(self.resolve(stack, explicit))
        if kind == "AWS::ApiGateway::RestApi":
            return LOCAL_API_ID
        name = f"{stack}-{logical_id}"
        if kind == "AWS::S3::Bucket":
            return name.lower()[:63]
        if kind == "AWS::Lambda::Function":
            return name[:64]
        if kind == "AWS::StepFunctions::StateMachine":
            return name[:80]
        if kind == "AWS::SQS::Queue":  # CloudFormation names a FIFO queue `....fifo`, as SQS requires
            fifo = str(self.resolve(stack, resource.get("Properties", {}).get("FifoQueue", False)))
            if fifo.lower() == "true":
                return name[: QUEUE_NAME_MAX - len(".fifo")] + ".fifo"
            return name[:QUEUE_NAME_MAX]
        return name

    def queue_url(self, stack: str, logical_id: str) -> str:
        """An SQS queue's URL (its `Ref`), as the emulation addresses it (see the class)."""
        base = (
            self.endpoint_url.rstrip("/") if self.endpoint_url else f"https://sqs.{self.region}.amazonaws.com"
        )
        return f"{base}/{self.account_id}/{self.physical_name(stack, logical_id)}"

    def arn(self, stack: str, logical_id: str) -> str:
        kind = self.resource(stack, logical_id)["Type"]
        name = self.physical_name(stack, logical_id)
        prefix = f"arn:{PARTITION}"
        where = f"{self.region}:{self.account_id}"
        match kind:
            case "AWS::DynamoDB::Table" | "AWS::DynamoDB::GlobalTable":
                return f"{prefix}:dynamodb:{where}:table/{name}"
            case "AWS::Lambda::Function":
                return f"{prefix}:lambda:{where}:function:{name}"
            case "AWS::S3::Bucket":
                return f"{prefix}:s3:::{name}"
            case "AWS::StepFunctions::StateMachine":
                return f"{prefix}:states:{where}:stateMachine:{name}"
            case "AWS::IAM::Role":
                return f"{prefix}:iam::{self.account_id}:role/{name}"
            case "AWS::SNS::Topic":
                return f"{prefix}:sns:{where}:{name}"
            case "AWS::SQS::Queue":
                return f"{prefix}:sqs:{where}:{name}"
            case "AWS::Events::Rule":
                return f"{prefix}:events:{where}:rule/{name}"
            case "AWS::Scheduler::ScheduleGroup":
                return f"{prefix}:scheduler:{where}:schedule-group/{name}"
            case "AWS::Logs::LogGroup":
                return f"{prefix}:logs:{where}:log-group:{name}:*"
        service = kind.split("::")[1].lower()
        return f"{prefix}:{service}:{where}:{name}"

    def ref(self, stack: str, logical_id: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack,
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{self.region}:{self.account_id}:stack/{stack}/x",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        parameters = self.templates[stack].get("Parameters", {})
        if logical_id in parameters:
            if "Default" not in parameters[logical_id]:
                raise TemplateError(f"{stack}: parameter {logical_id!r} has no default")
            return str(parameters[logical_id]["Default"])
        kind = self.resource(stack, logical_id)["Type"]
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::SNS::Topic"):
            return self.arn(stack, logical_id)
        if kind == "AWS::SQS::Queue":
            return self.queue_url(stack, logical_id)
        if kind in ("AWS::ApiGateway::Resource", "AWS::ApiGateway::Authorizer"):
            return logical_id  # an id the route collection below maps back to the resource
        return self.physical_name(stack, logical_id)

    def get_att(self, stack: str, logical_id: str, attribute: str) -> str:
        kind = self.resource(stack, logical_id)["Type"]
        if attribute == "Arn":
            return self.arn(stack, logical_id)
        if kind == "AWS::ApiGateway::RestApi" and attribute == "RootResourceId":
            return "/"
        if kind == "AWS::S3::Bucket" and attribute in ("RegionalDomainName", "DomainName"):
            return f"{self.physical_name(stack, logical_id)}.s3.{self.region}.amazonaws.com"
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self.queue_url(stack, logical_id)
        if kind == "AWS::CloudFront::Distribution" and attribute == "DomainName":
            # No distribution exists locally (the gateway serves /console/ itself): a name that can
            # never resolve, so a value built from it is never used by mistake; local mode's
            # service replaces the one variable built from it (CONSOLE_URL) with the gateway's.
            return f"{self.physical_name(stack, logical_id).lower()}.cloudfront.invalid"
        if attribute in ("Name", "TableName", "StateMachineName", "QueueName", "RoleId", "Id"):
            return self.physical_name(stack, logical_id)
        if kind.startswith("AWS::DynamoDB::") and attribute == "StreamArn":
            return f"{self.arn(stack, logical_id)}/stream/local"
        raise TemplateError(f"{stack}: cannot resolve Fn::GetAtt {logical_id}.{attribute} ({kind})")

    # -- intrinsic functions ---------------------------------------------------------------------
    def resolve(self, stack: str, value: Any) -> Any:
        """Resolve every intrinsic function inside `value` (recursively)."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(stack, arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(stack, logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return str(separator).join(str(p) for p in self.resolve(stack, parts))
            if key == "Fn::Sub":
                return self._sub(stack, arg)
            if key == "Fn::ImportValue":
                return self.import_value(str(self.resolve(stack, arg)))
            if key == "Fn::Select":
                index, items = self.resolve(stack, arg)
                return items[int(index)]
            if key == "Fn::Split":
                separator, text = self.resolve(stack, arg)
                return str(text).split(separator)
            if key.startswith("Fn::"):
                raise TemplateError(f"{stack}: unsupported intrinsic function {key}")
        return {k: self.resolve(stack, v) for k, v in value.items()}

    def import_value(self, name: str) -> Any:
        if name not in self._exports:
            raise TemplateError(f"no stack exports {name!r}")
        stack, value = self._exports[name]
        return self.resolve(stack, value)

    def _sub(self, stack: str, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved = {k: self.resolve(stack, v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return str(resolved[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(stack, logical_id, attribute)
            return self.ref(stack, name)

        return _SUB_VARIABLE.sub(substitute, text).replace("${!", "${")

    # -- collections -------------------------------------------------------------------------------
    def of_type(self, kind: str) -> list[tuple[str, str, Mapping[str, Any]]]:
        """`(stack, logical_id, resource)` of every resource of `kind`, in a stable order."""
        return [
            (stack, logical_id, resource)
            for stack in sorted(self.templates)
            for logical_id, resource in sorted(self.resources(stack).items())
            if resource.get("Type") == kind
        ]

    def tables(self) -> list[TableSpec]:
        return [
            TableSpec(
                stack, lid, self.physical_name(stack, lid), self.resolve(stack, r.get("Properties", {}))
            )
            for kind in ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")
            for stack, lid, r in self.of_type(kind)
        ]

    def functions(self) -> list[FunctionSpec]:
        specs = []
        for stack, logical_id, resource in self.of_type("AWS::Lambda::Function"):
            props = resource.get("Properties", {})
            if "Handler" not in props:
                continue  # container-image functions cannot run in-process
            variables = props.get("Environment", {}).get("Variables", {})
            specs.append(
                FunctionSpec(
                    stack=stack,
                    logical_id=logical_id,
                    name=self.physical_name(stack, logical_id),
                    arn=self.arn(stack, logical_id),
                    handler=str(self.resolve(stack, props["Handler"])),
                    environment={k: str(v) for k, v in self.resolve(stack, variables).items()},
                    timeout_s=int(props.get("Timeout", 3)),
                    memory_mb=int(props.get("MemorySize", 128)),
                )
            )
        return specs

    def function_by_arn(self, arn: str) -> FunctionSpec:
        for spec in self.functions():
            if arn in (spec.arn, f"{spec.arn}:$LATEST"):
                return spec
        raise TemplateError(f"no function with ARN {arn}")

    def function_of_uri(self, uri: str) -> FunctionSpec:
        """The function behind an integration or authorizer URI (`.../functions/<arn>/invocations`)."""
        match = _FUNCTION_ARN_IN_URI.search(uri)
        if match is None:
            raise TemplateError(f"not a Lambda invocation URI: {uri}")
        return self.function_by_arn(match.group(1))

    def stage_name(self) -> str:
        for stack, _lid, resource in self.of_type("AWS::ApiGateway::Stage"):
            return str(self.resolve(stack, resource["Properties"]["StageName"]))
        return "prod"

    def routes(self) -> list[Route]:
        return collect_routes(self)


def _resource_paths(deployment: Deployment, stack: str) -> dict[str, str]:
    """Map each `AWS::ApiGateway::Resource` id (and the root, `/`) to its full path."""
    parents: dict[str, tuple[str, str]] = {}
    for logical_id, resource in deployment.resources(stack).items():
        if resource.get("Type") == "AWS::ApiGateway::Resource":
            props = resource["Properties"]
            parents[logical_id] = (str(deployment.resolve(stack, props["ParentId"])), props["PathPart"])
    paths: dict[str, str] = {"/": "/"}

    def path_of(resource_id: str, seen: tuple[str, ...] = ()) -> str:
        if resource_id in paths:
            return paths[resource_id]
        if resource_id in seen or resource_id not in parents:
            raise TemplateError(f"{stack}: API resource {resource_id!r} has no path to the root")
        parent, part = parents[resource_id]
        paths[resource_id] = path_of(parent, (*seen, resource_id)).rstrip("/") + "/" + part
        return paths[resource_id]

    for resource_id in parents:
        path_of(resource_id)
    return paths


def collect_routes(deployment: Deployment) -> list[Route]:
    """The Lambda-proxy routes of every REST API in the stacks."""
    routes = []
    for stack in sorted(deployment.templates):
        paths = _resource_paths(deployment, stack)
        for logical_id, resource in sorted(deployment.resources(stack).items()):
            if resource.get("Type") != "AWS::ApiGateway::Method":
                continue
            props = resource["Properties"]
            integration = props.get("Integration", {})
            if integration.get("Type") not in ("AWS_PROXY", "AWS"):
                continue  # MOCK integrations (CORS preflight) have no function behind them
            resource_id = str(deployment.resolve(stack, props["ResourceId"]))
            if resource_id not in paths:
                raise TemplateError(f"{stack}: method {logical_id} on unknown resource {resource_id!r}")
            function = deployment.function_of_uri(str(deployment.resolve(stack, integration["Uri"])))
            authorizer, header = None, "Authorization"
            if props.get("AuthorizationType") == "CUSTOM":
                authorizer_id = str(deployment.resolve(stack, props["AuthorizerId"]))
                authorizer_props = deployment.resource(stack, authorizer_id)["Properties"]
                if authorizer_props.get("Type", "TOKEN") != "TOKEN":
                    raise TemplateError(f"{stack}: only TOKEN authorizers are supported ({authorizer_id})")
                uri = str(deployment.resolve(stack, authorizer_props["AuthorizerUri"]))
                authorizer = deployment.function_of_uri(uri).name
                source = str(authorizer_props.get("IdentitySource", "method.request.header.Authorization"))
                header = source.removeprefix("method.request.header.")
            routes.append(
                Route(
                    props["HttpMethod"].upper(),
                    paths[resource_id],
                    function.name,
                    authorizer,
                    header,
                    api_key_required=bool(props.get("ApiKeyRequired", False)),
                )
            )
    return routes
