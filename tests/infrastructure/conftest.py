"""Synthesizes the CDK app once per test session (with cdk-nag) and shares the templates.

A cdk-nag finding without an acknowledgement fails that one synthesis, so every test here errors with
the report path in the message; tests/infrastructure/test_compliance.py says it explicitly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Stack  # jsii reads the variable above when it starts
from aws_cdk.assertions import Template
from infra_support import CDK_DEPLOYMENT_HANDLER, HANDLER_PREFIX, Synth, resources_of

from infra.app_builder import build_app
from infra.paths import LAYER_DIR, REPO_ROOT
from infra.stacks.stateful import STATEFUL_STACK_NAME
from infra.stacks.stateless import STATELESS_STACK_NAME


def _ensure_layer() -> None:
    if not (LAYER_DIR / "python").is_dir():
        subprocess.run([sys.executable, str(REPO_ROOT / "layers" / "build.py")], check=True)  # noqa: S603


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    _ensure_layer()
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = build_app(outdir=str(outdir), nag=True)
    app.synth()  # the one synthesis; Template.from_stack reuses the app's cached assembly
    stateful = app.node.find_child(STATEFUL_STACK_NAME)
    stateless = app.node.find_child(STATELESS_STACK_NAME)
    assert isinstance(stateful, Stack) and isinstance(stateless, Stack)
    result = Synth(
        app=app,
        outdir=outdir,
        stateful=Template.from_stack(stateful),
        stateless=Template.from_stack(stateless),
    )
    result.templates = {
        STATEFUL_STACK_NAME: result.stateful.to_json(),
        STATELESS_STACK_NAME: result.stateless.to_json(),
    }
    return result


@pytest.fixture(scope="session")
def stateful(synth: Synth) -> dict[str, Any]:
    return synth.templates[STATEFUL_STACK_NAME]


@pytest.fixture(scope="session")
def stateless(synth: Synth) -> dict[str, Any]:
    return synth.templates[STATELESS_STACK_NAME]


@pytest.fixture(scope="session")
def functions_by_module(stateless: dict[str, Any]) -> dict[str, str]:
    """Handler module (`ingest`, `query`, ...) -> logical ID of its AWS::Lambda::Function."""
    found: dict[str, str] = {}
    for logical_id, res in resources_of(stateless, "AWS::Lambda::Function").items():
        if logical_id.startswith(CDK_DEPLOYMENT_HANDLER):
            continue  # CDK's own BucketDeployment handler (the console's files), not one of ours
        handler = res["Properties"]["Handler"]
        assert handler.startswith(HANDLER_PREFIX) and handler.endswith(".handler"), handler
        module = handler.removeprefix(HANDLER_PREFIX).removesuffix(".handler")
        assert module not in found, f"two functions run {handler}"
        found[module] = logical_id
    return found
