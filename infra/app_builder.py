"""Builds the CDK app: used by app.py (CDK CLI), the infrastructure tests and local mode."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Aspects, Validations
from cdk_nag import AwsSolutionsChecks

from infra.checkov import CheckovWaivers
from infra.paths import REPO_ROOT
from infra.stacks.stateful import STATEFUL_STACK_NAME, StatefulStack
from infra.stacks.stateless import STATELESS_STACK_NAME, StatelessStack

STACK_NAMES = (STATEFUL_STACK_NAME, STATELESS_STACK_NAME)
# Cross-stack references stay "strong" (the producer's exports are protected while imported); set here
# so the CLI, the tests and local mode synthesize the same, and without the CLI's warning about it.
DEFAULT_CONTEXT = {"@aws-cdk/core:defaultCrossStackReferences": "strong"}


def cdk_context() -> dict[str, Any]:
    """cdk.json's context (feature flags): the CDK CLI passes it, tests and local mode must too."""
    with (REPO_ROOT / "cdk.json").open() as fh:
        return {**DEFAULT_CONTEXT, **json.load(fh).get("context", {})}


def build_app(
    *, outdir: str | None = None, nag: bool = True, context: Mapping[str, Any] | None = None
) -> App:
    """Both stacks, environment-agnostic (no look-ups at synth); cdk-nag findings fail synthesis.

    `context` adds to cdk.json's (as `-c key=value` does on the CLI: infra/config.py lists the keys).
    """
    context = {**cdk_context(), **(context or {})}
    app = App(outdir=outdir, context=context) if outdir else App(context=context)
    stateful = StatefulStack(
        app,
        STATEFUL_STACK_NAME,
        description="Activity Log: DynamoDB tables (events, control, idempotency)",
    )
    StatelessStack(
        app,
        STATELESS_STACK_NAME,
        description="Activity Log: REST API and Lambda functions",
        tables=stateful.tables,
        export_storage=stateful.exports,
    )
    Aspects.of(app).add(CheckovWaivers())
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def synth_templates(
    outdir: str, *, nag: bool = False, context: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Synthesize once into `outdir` and return the CloudFormation templates keyed by stack name."""
    assembly = build_app(outdir=outdir, nag=nag, context=context).synth()
    return {name: assembly.get_stack_by_name(name).template for name in STACK_NAMES}
