"""cdk-nag (AwsSolutions) and cfn-lint over the synthesized templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint
from infra_support import Synth

from infra.nag import acknowledge
from infra.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "infrastructure.md"
# W3005 "dependency already enforced by a GetAtt": CDK adds an explicit DependsOn from each function
# to its role (and the role's default policy, which is what matters: the policy must exist before the
# function is invoked). The redundant half is harmless and not ours to remove.
IGNORED_CFN_LINT_RULES = ["W3005"]
LINT_REGIONS = ["us-east-1", "eu-west-1", "eu-north-1"]


def acknowledgements(app: App) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every cdk-nag acknowledgement in the app."""
    found = []
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found += [(construct.node.path, rule, reason) for rule, reason in entry.data.items()]
    return found


def test_synthesis_with_cdk_nag_succeeded(synth: Synth) -> None:
    # Given the session synthesis ran with AwsSolutionsChecks (an unacknowledged finding raises there)
    # Then any validation report it wrote concludes success
    report = synth.outdir / "validation-report.json"
    if report.exists():
        plugins = json.loads(report.read_text())["pluginReports"]
        assert [p["conclusion"] for p in plugins] == ["success"] * len(plugins), plugins


def test_every_acknowledgement_has_a_reason_and_is_documented(synth: Synth) -> None:
    found = acknowledgements(synth.app)
    assert found, "the nag fixture must have registered acknowledgements"
    doc = DOC.read_text()
    for path, rule, reason in found:
        assert rule.startswith("AwsSolutions::AwsSolutions-"), (path, rule)
        assert len(reason) >= 40, (path, rule, reason)
        finding = rule.removeprefix("AwsSolutions::")
        assert f"`{finding}`" in doc, f"{finding} on {path} is not listed in {DOC.name}"


def test_no_acknowledgement_on_a_stack_or_the_app(synth: Synth) -> None:
    # Acknowledgements sit on the construct they concern; a stack-wide one would hide future findings
    stacks = {c.node.path for c in synth.app.node.children if isinstance(c, Stack)}
    assert not [a for a in acknowledgements(synth.app) if a[0] in stacks | {""}]


def _nag_app(tmp_path: Path, *, acknowledged: bool) -> App:
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "NagProbe")
    table = dynamodb.Table(
        stack,
        "NoPitr",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=RemovalPolicy.DESTROY,
    )
    if acknowledged:
        acknowledge(table, rule="AwsSolutions-DDB3", reason="probe table: proves acknowledgements work")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def test_cdk_nag_really_fails_synthesis_on_a_finding(tmp_path: Path) -> None:
    # Given a table without point-in-time recovery / When synthesized with cdk-nag / Then synth fails
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        _nag_app(tmp_path / "bad", acknowledged=False).synth()
    report = json.loads((tmp_path / "bad" / "validation-report.json").read_text())
    rules = {v["ruleName"] for p in report["pluginReports"] for v in p["violations"]}
    assert "AwsSolutions-DDB3" in rules
    # And the same finding acknowledged through infra.nag passes
    _nag_app(tmp_path / "ok", acknowledged=True).synth()


@pytest.mark.parametrize("stack_name", ["ActivityLog-Stateful", "ActivityLog-Stateless"])
def test_cfn_lint_is_clean(synth: Synth, stack_name: str) -> None:
    template: dict[str, Any] = synth.templates[stack_name]
    matches = lint(
        json.dumps(template),
        config=ManualArgs(regions=LINT_REGIONS, ignore_checks=IGNORED_CFN_LINT_RULES),
    )
    # Errors and warnings both fail; informational checks are not enabled.
    assert [f"{m.rule.id} {m.message} at {'/'.join(map(str, m.path))}" for m in matches] == []


def test_cfn_lint_catches_a_broken_template() -> None:
    broken = {"Resources": {"T": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "FREE"}}}}
    matches = lint(json.dumps(broken), config=ManualArgs(regions=LINT_REGIONS))
    assert any(m.rule.id.startswith("E") for m in matches)
