"""The one place that carries the house Lambda defaults (docs/infrastructure.md, "Functions").

Every function: Python 3.12 on arm64, JSON logs into an explicit log group with bounded retention,
X-Ray active, the shared third-party layer, the common environment, and the whole `functions/` tree as
its code asset (handler strings are `activitylog.handlers.<module>.handler`). Roles are created here
without AWS-managed policies: log writing is granted on the function's own log group only. The
construct that creates a function passes its extra environment to `create` and adds every data
permission with `grant_*`; no other construct configures that function.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from infra.paths import FUNCTIONS_DIR, LAYER_DIR

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
LOG_RETENTION = logs.RetentionDays.ONE_MONTH
DEFAULT_TIMEOUT_SECONDS = 10
# Powertools reads these in every function (`PowertoolsEnv`, functions/activitylog/models/env.py).
COMMON_ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "activitylog", "POWERTOOLS_LOG_LEVEL": "INFO"}
METRICS_NAMESPACE = "ActivityLog"
# Only functions that emit metrics get the namespace (`MetricsEnv`); the alarms read the same one.
METRICS_ENVIRONMENT = {"POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE}
# Never ship tests or bytecode compiled by the local interpreter in the code asset.
CODE_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/tests", "**/.pytest_cache", "**/.mypy_cache"]


# Local mode only (ops/activitylog_ops/local/deploy.py sets it): local mode runs the functions
# in-process with the virtualenv's packages and never reads the layer, so it synthesizes without
# building it (minutes on a first run). `make synth`, deploy, the audit and the infrastructure tests
# never set it, and always package the real layer.
LOCAL_PLACEHOLDER_LAYER_CONTEXT = "activitylog:localModePlaceholderLayer"
# A bucket that does not exist: a template synthesized with the placeholder cannot deploy by mistake.
PLACEHOLDER_LAYER_BUCKET = "local-mode-placeholder-layer-not-deployable"


class LayerNotBuiltError(RuntimeError):
    """The layer directory is missing: synthesis would package an empty or stale layer."""


def _layer_code(scope: Construct) -> lambda_.Code:
    if scope.node.try_get_context(LOCAL_PLACEHOLDER_LAYER_CONTEXT) is True:
        bucket = s3.Bucket.from_bucket_name(
            scope, "LocalModePlaceholderLayerBucket", PLACEHOLDER_LAYER_BUCKET
        )
        return lambda_.Code.from_bucket(bucket, "layer-not-built.zip")
    if not (LAYER_DIR / "python").is_dir():
        raise LayerNotBuiltError(
            f"Lambda layer not built: {LAYER_DIR} is missing. Run `make layer` "
            "(or `.venv/bin/python layers/build.py`) before synthesizing."
        )
    return lambda_.Code.from_asset(str(LAYER_DIR), exclude=[".built"])


@dataclass(frozen=True)
class FunctionSpec:
    """What sets one function apart from the house defaults."""

    construct_id: str
    handler_module: str
    description: str
    _: KW_ONLY
    memory_size: int = 512
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    # `<stack name>-<construct id>` instead of a generated name: for a function whose ARN is stored
    # outside the stack (the export schedules created at run time target ExportFire), so that
    # recreating the stateless stack gives it the same ARN again.
    stable_name: bool = False


class FunctionFactory:
    """Creates functions with the house defaults as children of `scope`, sharing one layer and asset."""

    def __init__(self, scope: Construct) -> None:
        self._scope = scope
        self._environment = dict(COMMON_ENVIRONMENT)
        self._code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDES)
        self.layer = lambda_.LayerVersion(
            scope,
            "RuntimeLayer",
            code=_layer_code(scope),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Third-party runtime dependencies of the Activity Log functions",
        )

    def create(self, spec: FunctionSpec, *, environment: Mapping[str, str] | None = None) -> lambda_.Function:
        """`environment` adds the function's own variables to the common ones (it may not replace them)."""
        if spec.memory_size not in (512, 1024):
            raise ValueError("house default memory sizes are 512 and 1024 MB")
        extra = dict(environment or {})
        if clash := sorted(extra.keys() & self._environment.keys()):
            raise ValueError(f"{spec.construct_id} would override the common environment: {clash}")
        construct_id = spec.construct_id
        log_group = logs.LogGroup(
            self._scope,
            f"{construct_id}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self._scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {construct_id} function",
        )
        function = lambda_.Function(
            self._scope,
            construct_id,
            function_name=f"{Stack.of(self._scope).stack_name}-{construct_id}" if spec.stable_name else None,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=f"activitylog.handlers.{spec.handler_module}.handler",
            code=self._code,
            layers=[self.layer],
            memory_size=spec.memory_size,
            timeout=Duration.seconds(spec.timeout_seconds),
            environment={**self._environment, **extra},
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
        )
        log_group.grant_write(role)
        acknowledge(
            function,
            rule="AwsSolutions-L1",
            reason="Pinned to Python 3.12 on purpose: the layer is built for 3.12 (layers/build.py) and "
            "the runtime is supported by Lambda; moving runtimes is a deliberate, tested change.",
        )
        acknowledge(
            role,
            rule="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) does not support "
            "resource-level permissions; they are the only actions the factory grants on '*' (the "
            "stream router's dynamodb:ListStreams, which has no resource either, is acknowledged "
            "where it is granted, infra/constructs/streaming.py).",
        )
        return function
