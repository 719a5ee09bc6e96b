"""`make deploy` / `make diff`: check a real account's deploy-time choices, then run the CDK CLI.

    SENDER_EMAIL=exports@mail.acme.com ALARM_TOPIC_ARN=arn:aws:sns:...:oncall make deploy

Refuses what cannot work in an account (docs/operations.md, "First deploy"):
- no sender, or the placeholder `exports@example.com` (an identity SES can never verify);
- a sender outside `SENDER_DOMAIN` (when the domain is the verified identity);
- no `ALARM_TOPIC_ARN` (the alarms' SNS topic, a required stack parameter).
Then reads the account (read-only calls) to decide what the app may not guess at synth time:
- whether the region already has an API Gateway CloudWatch Logs role (an account setting: the app
  sets one only when there is none, `activitylog:apiGatewayCloudWatchRole`);
- whether the sender identity already exists in SES outside the stateful stack (then the stack must
  not create it again: `activitylog:createSenderIdentity=false`), and whether it is verified;
- whether SES is still in the sandbox (verified recipients only, 200 messages a day): a warning.
With `CI=true` the CLI runs without stopping for approval (`--require-approval never`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
STATEFUL, STATELESS = "ActivityLog-Stateful", "ActivityLog-Stateless"
# The same keys and placeholder as infra/config.py (ops does not import infra: a test pins them).
SENDER_CONTEXT = "activitylog:senderEmail"
SENDER_DOMAIN_CONTEXT = "activitylog:senderDomain"
CREATE_IDENTITY_CONTEXT = "activitylog:createSenderIdentity"
CLOUDWATCH_ROLE_CONTEXT = "activitylog:apiGatewayCloudWatchRole"
PLACEHOLDER_SENDER = "exports@example.com"
TOPIC_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
ADDRESS = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)$")


class Refused(SystemExit):
    """What makes the deploy stop before the CDK CLI runs, with what to do about it."""

    def __init__(self, message: str) -> None:
        super().__init__(f"make deploy: {message}")


@dataclass(frozen=True, slots=True)
class Choices:
    sender: str
    domain: str  # "" when the address itself is the identity
    alarm_topic_arn: str
    ci: bool

    @property
    def identity(self) -> str:
        return self.domain or self.sender

    @classmethod
    def read(cls, environ: Mapping[str, str], context: Mapping[str, Any]) -> Choices:
        sender = (environ.get("SENDER_EMAIL") or str(context.get(SENDER_CONTEXT) or "")).strip()
        if not sender or sender == PLACEHOLDER_SENDER:
            raise Refused(
                "set SENDER_EMAIL to an address SES can verify (or that is in a domain you verify with "
                f"SENDER_DOMAIN); {PLACEHOLDER_SENDER} is the example value of synth and local mode"
            )
        match = ADDRESS.match(sender)
        if not match:
            raise Refused(f"SENDER_EMAIL is not an email address: {sender!r}")
        domain = (
            (environ.get("SENDER_DOMAIN") or str(context.get(SENDER_DOMAIN_CONTEXT) or "")).strip().lower()
        )
        if domain and match.group(1).lower() != domain:
            raise Refused(f"SENDER_EMAIL {sender} is not in SENDER_DOMAIN {domain}")
        topic = environ.get("ALARM_TOPIC_ARN", "").strip()
        if not TOPIC_ARN.match(topic):
            raise Refused(
                "set ALARM_TOPIC_ARN to the SNS topic the alarms notify "
                "(aws sns create-topic --name activitylog-alarms; docs/operations.md)"
            )
        return cls(sender=sender, domain=domain, alarm_topic_arn=topic, ci=environ.get("CI") == "true")


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """What the account already has, read before deploying (read-only calls)."""

    cloudwatch_role_arn: str | None
    identity_exists: bool
    identity_verified: bool
    identity_in_stack: bool  # created by our stateful stack (then it is ours to keep)
    sandboxed: bool


@dataclass(slots=True)
class Plan:
    command: list[str]
    notes: list[str] = field(default_factory=list)


def plan(command: str, choices: Choices, facts: AccountFacts) -> Plan:
    """The CDK CLI command for `deploy` or `diff`, and what the operator should know."""
    create_identity = facts.identity_in_stack or not facts.identity_exists
    set_role = facts.cloudwatch_role_arn is None
    context = {
        SENDER_CONTEXT: choices.sender,
        SENDER_DOMAIN_CONTEXT: choices.domain,
        CREATE_IDENTITY_CONTEXT: str(create_identity).lower(),
        CLOUDWATCH_ROLE_CONTEXT: str(set_role).lower(),
    }
    argv = ["npx", "cdk", command, "--all"]
    for key, value in context.items():
        if value:
            argv += ["-c", f"{key}={value}"]
    if command == "deploy":
        argv += ["--parameters", f"{STATELESS}:AlarmTopicArn={choices.alarm_topic_arn}"]
        argv += ["--require-approval", "never" if choices.ci else "broadening"]
    notes = []
    if set_role:
        notes.append(
            "this region has no API Gateway CloudWatch Logs role: the stack creates one and sets the "
            "account setting (it is retained on teardown)"
        )
    else:
        notes.append(f"the account's API Gateway CloudWatch Logs role is kept: {facts.cloudwatch_role_arn}")
    if not create_identity:
        notes.append(f"SES identity {choices.identity} exists outside the stack: it is used, not created")
    if facts.identity_exists and not facts.identity_verified:
        notes.append(f"SES identity {choices.identity} is not verified yet: emails fail until it is")
    elif not facts.identity_exists:
        what = "publish the DKIM records (stack outputs)" if choices.domain else "click the link SES mails"
        notes.append(f"SES identity {choices.identity} will be created: {what} to verify it")
    if facts.sandboxed:
        notes.append(
            "SES is in the sandbox here: mail goes to verified recipients only, 200 a day; request "
            "production access (docs/operations.md, 'Leaving the SES sandbox')"
        )
    return Plan(command=argv, notes=notes)


def read_account(identity: str, *, session: Any = None) -> AccountFacts:
    import boto3
    from botocore.exceptions import ClientError

    session = session or boto3.Session()
    role = session.client("apigateway").get_account().get("cloudwatchRoleArn") or None
    ses = session.client("sesv2")
    try:
        found = ses.get_email_identity(EmailIdentity=identity)
        exists, verified = True, bool(found.get("VerifiedForSendingStatus"))
    except ClientError as err:
        if err.response["Error"]["Code"] != "NotFoundException":
            raise
        exists, verified = False, False
    in_stack = False
    try:
        resources = session.client("cloudformation").describe_stack_resources(StackName=STATEFUL)
        in_stack = any(
            r["ResourceType"] == "AWS::SES::EmailIdentity" and r.get("PhysicalResourceId") == identity
            for r in resources["StackResources"]
        )
    except ClientError as err:
        if "does not exist" not in str(err):
            raise
    sandboxed = not ses.get_account().get("ProductionAccessEnabled", False)
    return AccountFacts(
        cloudwatch_role_arn=role,
        identity_exists=exists,
        identity_verified=verified,
        identity_in_stack=in_stack,
        sandboxed=sandboxed,
    )


def cdk_json_context() -> dict[str, Any]:
    with (REPO_ROOT / "cdk.json").open() as fh:
        return dict(json.load(fh).get("context", {}))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="activitylog_ops.deploy", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["deploy", "diff"])
    parser.add_argument("--dry-run", action="store_true", help="print the CDK command instead of running it")
    args = parser.parse_args(argv)
    choices = Choices.read(os.environ, cdk_json_context())
    the_plan = plan(args.command, choices, read_account(choices.identity))
    for note in the_plan.notes:
        print(f"note: {note}", file=sys.stderr)
    print("+ " + " ".join(the_plan.command), file=sys.stderr)
    if args.dry_run:
        return 0
    return subprocess.run(the_plan.command, cwd=REPO_ROOT, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    raise SystemExit(main())
