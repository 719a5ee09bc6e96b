"""`make deploy`'s checks (ops/activitylog_ops/deploy.py): what it refuses and what it tells the CDK."""

from __future__ import annotations

from typing import Any

import pytest
from activitylog_ops import deploy
from activitylog_ops.deploy import AccountFacts, Choices, Refused, plan, read_account
from botocore.exceptions import ClientError

from infra import config

TOPIC = "arn:aws:sns:eu-west-1:123456789012:oncall"
FRESH = AccountFacts(
    cloudwatch_role_arn=None,
    identity_exists=False,
    identity_verified=False,
    identity_in_stack=False,
    sandboxed=True,
)


def test_the_keys_and_placeholder_are_infra_configs() -> None:
    assert deploy.SENDER_CONTEXT == config.SENDER_CONTEXT
    assert deploy.SENDER_DOMAIN_CONTEXT == config.SENDER_DOMAIN_CONTEXT
    assert deploy.CREATE_IDENTITY_CONTEXT == config.CREATE_IDENTITY_CONTEXT
    assert deploy.CLOUDWATCH_ROLE_CONTEXT == config.CLOUDWATCH_ROLE_CONTEXT
    assert deploy.PLACEHOLDER_SENDER == config.PLACEHOLDER_SENDER


@pytest.mark.parametrize(
    ("environ", "complaint"),
    [
        ({"ALARM_TOPIC_ARN": TOPIC}, "set SENDER_EMAIL"),
        ({"SENDER_EMAIL": "exports@example.com", "ALARM_TOPIC_ARN": TOPIC}, "example value"),
        ({"SENDER_EMAIL": "nobody", "ALARM_TOPIC_ARN": TOPIC}, "not an email address"),
        (
            {"SENDER_EMAIL": "a@acme.test", "SENDER_DOMAIN": "mail.acme.test", "ALARM_TOPIC_ARN": TOPIC},
            "not in SENDER_DOMAIN",
        ),
        ({"SENDER_EMAIL": "a@acme.test"}, "ALARM_TOPIC_ARN"),
        ({"SENDER_EMAIL": "a@acme.test", "ALARM_TOPIC_ARN": "oncall"}, "ALARM_TOPIC_ARN"),
    ],
)
def test_what_cannot_work_in_an_account_is_refused_before_the_cdk_runs(
    environ: dict[str, str], complaint: str
) -> None:
    with pytest.raises(Refused, match=complaint):
        Choices.read(environ, {})


def test_the_placeholder_in_cdk_json_is_refused_too() -> None:
    with pytest.raises(Refused, match="example value"):
        Choices.read({"ALARM_TOPIC_ARN": TOPIC}, {deploy.SENDER_CONTEXT: "exports@example.com"})


def test_a_fresh_account_gets_the_logging_role_and_the_identity_created() -> None:
    choices = Choices.read({"SENDER_EMAIL": "a@acme.test", "ALARM_TOPIC_ARN": TOPIC}, {})
    the_plan = plan("deploy", choices, FRESH)
    argv = the_plan.command
    assert argv[:4] == ["npx", "cdk", "deploy", "--all"]
    assert "activitylog:senderEmail=a@acme.test" in argv
    assert "activitylog:apiGatewayCloudWatchRole=true" in argv
    assert "activitylog:createSenderIdentity=true" in argv
    assert not any(a.startswith("activitylog:senderDomain") for a in argv)
    assert argv[argv.index("--parameters") + 1] == f"ActivityLog-Stateless:AlarmTopicArn={TOPIC}"
    assert argv[argv.index("--require-approval") + 1] == "broadening"
    assert any("sandbox" in n for n in the_plan.notes)
    assert any("click the link" in n for n in the_plan.notes)


def test_ci_deploys_without_waiting_for_approval() -> None:
    choices = Choices.read({"SENDER_EMAIL": "a@acme.test", "ALARM_TOPIC_ARN": TOPIC, "CI": "true"}, {})
    argv = plan("deploy", choices, FRESH).command
    assert argv[argv.index("--require-approval") + 1] == "never"


def test_an_account_with_a_role_and_a_verified_identity_keeps_both() -> None:
    choices = Choices.read(
        {"SENDER_EMAIL": "a@mail.acme.test", "SENDER_DOMAIN": "mail.acme.test", "ALARM_TOPIC_ARN": TOPIC}, {}
    )
    facts = AccountFacts(
        cloudwatch_role_arn="arn:aws:iam::123456789012:role/theirs",
        identity_exists=True,
        identity_verified=True,
        identity_in_stack=False,
        sandboxed=False,
    )
    the_plan = plan("deploy", choices, facts)
    assert "activitylog:apiGatewayCloudWatchRole=false" in the_plan.command
    assert "activitylog:createSenderIdentity=false" in the_plan.command
    assert "activitylog:senderDomain=mail.acme.test" in the_plan.command
    assert not any("sandbox" in n for n in the_plan.notes)


def test_an_identity_the_stack_created_stays_the_stacks() -> None:
    choices = Choices.read({"SENDER_EMAIL": "a@acme.test", "ALARM_TOPIC_ARN": TOPIC}, {})
    facts = AccountFacts(
        None, identity_exists=True, identity_verified=False, identity_in_stack=True, sandboxed=False
    )
    the_plan = plan("deploy", choices, facts)
    assert "activitylog:createSenderIdentity=true" in the_plan.command
    assert any("not verified yet" in n for n in the_plan.notes)


def test_diff_passes_the_same_context_and_no_deploy_flags() -> None:
    choices = Choices.read({"SENDER_EMAIL": "a@acme.test", "ALARM_TOPIC_ARN": TOPIC}, {})
    argv = plan("diff", choices, FRESH).command
    assert argv[:3] == ["npx", "cdk", "diff"] and "activitylog:senderEmail=a@acme.test" in argv
    assert "--require-approval" not in argv and "--parameters" not in argv


class _Client:
    def __init__(self, answers: dict[str, Any]) -> None:
        self._answers = answers

    def __getattr__(self, name: str) -> Any:
        answer = self._answers[name]

        def call(**_kwargs: Any) -> Any:
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


class _Session:
    def __init__(self, **clients: dict[str, Any]) -> None:
        self._clients = clients

    def client(self, service: str) -> _Client:
        return _Client(self._clients[service])


def _error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Call")


def test_reading_a_fresh_account() -> None:
    session = _Session(
        apigateway={"get_account": {"throttleSettings": {}}},
        sesv2={
            "get_email_identity": _error("NotFoundException"),
            "get_account": {"ProductionAccessEnabled": False},
        },
        cloudformation={
            "describe_stack_resources": _error("ValidationError", "Stack ActivityLog-Stateful does not exist")
        },
    )
    assert read_account("a@acme.test", session=session) == FRESH


def test_reading_an_account_whose_identity_our_stack_made() -> None:
    session = _Session(
        apigateway={"get_account": {"cloudwatchRoleArn": "arn:aws:iam::1:role/r"}},
        sesv2={
            "get_email_identity": {"VerifiedForSendingStatus": True},
            "get_account": {"ProductionAccessEnabled": True},
        },
        cloudformation={
            "describe_stack_resources": {
                "StackResources": [
                    {"ResourceType": "AWS::SES::EmailIdentity", "PhysicalResourceId": "a@acme.test"}
                ]
            }
        },
    )
    assert read_account("a@acme.test", session=session) == AccountFacts(
        "arn:aws:iam::1:role/r",
        identity_exists=True,
        identity_verified=True,
        identity_in_stack=True,
        sandboxed=False,
    )


def test_an_access_error_is_not_mistaken_for_a_missing_identity() -> None:
    session = _Session(
        apigateway={"get_account": {}},
        sesv2={"get_email_identity": _error("AccessDeniedException")},
        cloudformation={},
    )
    with pytest.raises(ClientError):
        read_account("a@acme.test", session=session)
