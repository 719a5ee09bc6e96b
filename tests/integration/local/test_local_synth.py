"""Local mode synthesizes without the Lambda layer (it never uses it); everything else needs the layer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from local_stack import RunningLocalService

from infra.constructs import function_factory
from infra.constructs.function_factory import (
    LOCAL_PLACEHOLDER_LAYER_CONTEXT,
    PLACEHOLDER_LAYER_BUCKET,
    FunctionFactory,
    LayerNotBuiltError,
)


def layer_versions(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The functions' layer versions (not the AWS CLI layer of CDK's BucketDeployment handler, which
    deploys the console's files: infra/constructs/console_site.py)."""
    return [
        r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::LayerVersion" and "AwsCliLayer" not in k
    ]


def test_without_the_layer_only_the_local_placeholder_synthesizes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given no built layer
    monkeypatch.setattr(function_factory, "LAYER_DIR", tmp_path / "not-built")

    # When the app's factory is made for synth/deploy, then it refuses and says how to build the layer
    with pytest.raises(LayerNotBuiltError, match="make layer"):
        FunctionFactory(Stack(App(), "S"))

    # When it is made for local mode, then the layer is the placeholder: a bucket that cannot exist
    stack = Stack(App(context={LOCAL_PLACEHOLDER_LAYER_CONTEXT: True}), "S")
    FunctionFactory(stack)
    (layer,) = layer_versions(App.of(stack).synth().get_stack_by_name("S").template)  # type: ignore[union-attr]
    assert layer["Properties"]["Content"]["S3Bucket"] == PLACEHOLDER_LAYER_BUCKET


def test_a_string_context_value_is_not_the_placeholder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # `-c activitylog:localModePlaceholderLayer=true` on the CDK CLI arrives as a string: never honoured
    monkeypatch.setattr(function_factory, "LAYER_DIR", tmp_path / "not-built")
    with pytest.raises(LayerNotBuiltError):
        FunctionFactory(Stack(App(context={LOCAL_PLACEHOLDER_LAYER_CONTEXT: "true"}), "S"))


def test_local_mode_runs_on_the_placeholder_layer(local_service: RunningLocalService) -> None:
    deployment = local_service.service.deployment
    assert deployment is not None
    (layer,) = layer_versions(dict(deployment.templates["ActivityLog-Stateless"]))
    assert layer["Properties"]["Content"]["S3Bucket"] == PLACEHOLDER_LAYER_BUCKET
