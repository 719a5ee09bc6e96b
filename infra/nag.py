"""One helper to acknowledge a single cdk-nag finding on a single construct, always with a reason.

cdk-nag 3 runs as a CDK policy-validation plugin: an unacknowledged finding fails synthesis. Every
acknowledgement is listed, with its reason, in docs/infrastructure.md (a test checks the list).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, *, rule: str, reason: str) -> None:
    """`rule` as cdk-nag prints it, e.g. `AwsSolutions-IAM5[Resource::*]`.

    The validation framework scopes an acknowledgement by plugin: `<plugin name>::<rule>`, where the
    plugin name of a cdk-nag pack is the rule's prefix (`AwsSolutions`).
    """
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledging {rule} needs a written reason, got {reason!r}")
    plugin = rule.split("-", 1)[0]
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{plugin}::{rule}", reason=reason))
