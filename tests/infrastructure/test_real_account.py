"""What would break, or mislead, in a real account after `make deploy` (issue: "Ready for a real AWS
account"): each test here fails on the template as it was before the fix."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from infra_support import as_list, resources_of, role_statements

from infra.app_builder import synth_templates
from infra.checkov import WAIVERS
from infra.config import ConfigError, Sender
from infra.paths import REPO_ROOT
from infra.stacks.stateful import STATEFUL_STACK_NAME
from infra.stacks.stateless import STATELESS_STACK_NAME

DOC = REPO_ROOT / "docs" / "infrastructure.md"


def _definition(stateless: dict[str, Any]) -> dict[str, Any]:
    (machine,) = resources_of(stateless, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(p if isinstance(p, str) else "X" for p in parts))  # type: ignore[no-any-return]


def _states(definition: dict[str, Any]) -> dict[str, Any]:
    """Every state, including those inside the Map's item processor."""
    found = dict(definition["States"])
    for state in definition["States"].values():
        if state["Type"] == "Map":
            found |= _states(state.get("ItemProcessor") or state["Iterator"])
    return found


@pytest.fixture(scope="module")
def variants(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """The app synthesized with a real account's choices (what `make deploy` passes)."""
    choices = {
        "domain": {
            "activitylog:senderEmail": "exports@mail.acme.test",
            "activitylog:senderDomain": "mail.acme.test",
            "activitylog:apiGatewayCloudWatchRole": "true",
        },
        "existing": {
            "activitylog:senderEmail": "exports@acme.test",
            "activitylog:createSenderIdentity": "false",
        },
    }
    return {
        name: synth_templates(str(tmp_path_factory.mktemp(name)), context=context)
        for name, context in choices.items()
    }


# --- 1. email: a sender that can work, passed as a value --------------------------------------


def _ses_resources(template: dict[str, Any], function_id: str) -> list[Any]:
    return [
        r
        for s in role_statements(template, function_id)
        if any(a.startswith("ses:") for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    ]


def test_the_sender_identity_is_referred_to_by_value_never_by_a_cross_stack_export(
    stateful: dict[str, Any], stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    # An export of the identity blocks changing the sender: EmailIdentity is replaced on change.
    (identity_id,) = resources_of(stateful, "AWS::SES::EmailIdentity")
    for output in stateful["Outputs"].values():
        assert identity_id not in json.dumps(output["Value"])
    for module in ("ingest", "export_notify"):
        (arn,) = _ses_resources(stateless, functions_by_module[module])
        assert "Fn::ImportValue" not in json.dumps(arn)
        assert json.dumps(arn).endswith(':identity/exports@example.com"]]}')


def test_a_verified_domain_can_be_the_identity_and_its_dkim_records_are_outputs(
    variants: dict[str, dict[str, dict[str, Any]]],
) -> None:
    stateful, stateless = variants["domain"][STATEFUL_STACK_NAME], variants["domain"][STATELESS_STACK_NAME]
    (identity,) = resources_of(stateful, "AWS::SES::EmailIdentity").values()
    assert identity["Properties"]["EmailIdentity"] == "mail.acme.test"
    dkim = {k: o for k, o in stateful["Outputs"].items() if "SenderDkimRecord" in k}
    assert len(dkim) == 3
    for output in dkim.values():
        assert " CNAME " in json.dumps(output["Value"]) and "Export" not in output
    senders = {
        r["Properties"]["Environment"]["Variables"].get("SENDER_EMAIL")
        for r in resources_of(stateless, "AWS::Lambda::Function").values()
    } - {None}
    assert senders == {"exports@mail.acme.test"}
    grants = json.dumps(
        [
            s["Resource"]
            for p in resources_of(stateless, "AWS::IAM::Policy").values()
            for s in as_list(p["Properties"]["PolicyDocument"]["Statement"])
            if "ses:SendEmail" in as_list(s["Action"])
        ]
    )
    # Ingest (quota warnings), ExportNotify, the Deliverer (a disabled destination's notice), the
    # AlertEvaluator (a firing's email)
    assert grants.count(":identity/mail.acme.test") == 4 and "exports@" not in grants


def test_an_identity_verified_outside_the_app_is_used_not_created_again(
    variants: dict[str, dict[str, dict[str, Any]]],
) -> None:
    stateful, stateless = (
        variants["existing"][STATEFUL_STACK_NAME],
        variants["existing"][STATELESS_STACK_NAME],
    )
    assert resources_of(stateful, "AWS::SES::EmailIdentity") == {}  # creating it again would fail
    assert ":identity/exports@acme.test" in json.dumps(resources_of(stateless, "AWS::IAM::Policy"))


@pytest.mark.parametrize(
    ("context", "complaint"),
    [
        ({"activitylog:senderEmail": "not an address"}, "must be an email address"),
        (
            {"activitylog:senderEmail": "exports@acme.test", "activitylog:senderDomain": "other.test"},
            "is not in the verified domain",
        ),
        ({"activitylog:createSenderIdentity": "yes"}, "must be true or false"),
    ],
)
def test_a_malformed_sender_choice_stops_synthesis_with_what_to_fix(
    context: dict[str, str], complaint: str
) -> None:
    stack = Stack(App(context=context), "Probe")
    with pytest.raises(ConfigError, match=complaint):
        Sender.of(stack)


def test_the_placeholder_is_marked_as_such() -> None:
    sender = Sender.of(Stack(App(), "Probe"))
    assert sender.is_placeholder and sender.address.endswith("@example.com")


# --- 2. asynchronous failures land in a queue with an alarm -----------------------------------


def test_fire_and_watchdog_failures_go_to_an_on_failure_queue(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    configs = resources_of(stateless, "AWS::Lambda::EventInvokeConfig").values()
    by_function = {json.dumps(c["Properties"]["FunctionName"]): c["Properties"] for c in configs}
    queues = resources_of(stateless, "AWS::SQS::Queue")
    for module in ("export_fire", "export_watchdog"):
        config = by_function[json.dumps({"Ref": functions_by_module[module]})]
        assert config["MaximumRetryAttempts"] == 2
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]
        assert destination["Fn::GetAtt"][0] in queues and destination["Fn::GetAtt"][1] == "Arn"
    assert len(by_function) == 2  # the only asynchronously invoked functions


def test_the_watchdog_rule_dead_letters_what_it_cannot_deliver(stateless: dict[str, Any]) -> None:
    (rule,) = resources_of(stateless, "AWS::Events::Rule").values()
    (target,) = rule["Properties"]["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    assert "WatchdogFailures" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]


# --- 3. throttling is retried, with backoff and jitter ----------------------------------------


def test_every_task_retries_lambda_throttling_with_backoff_and_full_jitter(stateless: dict[str, Any]) -> None:
    tasks = {n: s for n, s in _states(_definition(stateless)).items() if s["Type"] == "Task"}
    assert set(tasks) == {"Plan", "Slice", "Assemble", "Notify", "Fail", "NotifyFailure"}
    for name, task in tasks.items():
        (retry,) = [r for r in task["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert retry["BackoffRate"] == 2 and retry["MaxAttempts"] >= 6, name
        assert retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"] <= 300, name


def test_a_failed_notification_never_fails_a_succeeded_run(stateless: dict[str, Any]) -> None:
    states = _states(_definition(stateless))
    (catch,) = states["Notify"]["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert states[catch["Next"]]["Type"] == "Succeed"


# --- 4. cross-stack exports: only of resources that are never replaced ------------------------


def _documented_exports() -> set[str]:
    section = DOC.read_text().split("## Cross-stack references", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(ExportsOutput[A-Za-z0-9]+)` \|", section, flags=re.MULTILINE))


def test_every_cross_stack_export_is_listed_with_why_it_is_safe(stateful: dict[str, Any]) -> None:
    exports = {o["Export"]["Name"].split(":", 1)[1] for o in stateful["Outputs"].values() if "Export" in o}
    assert exports == _documented_exports()
    for output in stateful["Outputs"].values():
        if "Export" not in output:
            continue
        ((fn, arg),) = output["Value"].items()
        logical_id = arg if fn == "Ref" else arg[0]
        kind = stateful["Resources"][logical_id]["Type"]
        # a table, the bucket, the secret, the schedule group: no replaceable property is ever set
        assert kind in {
            "AWS::DynamoDB::Table",
            "AWS::S3::Bucket",
            "AWS::SecretsManager::Secret",
            "AWS::Scheduler::ScheduleGroup",
        }, (logical_id, kind)
        props = stateful["Resources"][logical_id].get("Properties", {})
        assert not {"TableName", "BucketName", "Name"} & set(props), logical_id  # generated names


# --- 6. account-wide settings only when asked -------------------------------------------------


def test_the_api_gateway_account_setting_is_left_alone_by_default(
    stateless: dict[str, Any], variants: dict[str, dict[str, dict[str, Any]]]
) -> None:
    assert resources_of(stateless, "AWS::ApiGateway::Account") == {}
    asked = variants["domain"][STATELESS_STACK_NAME]
    (account,) = resources_of(asked, "AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    assert asked["Resources"][role_id]["DeletionPolicy"] == "Retain"  # the setting keeps a role


# --- 7. smaller ones ---------------------------------------------------------------------------


def test_the_state_machine_logs_under_vendedlogs(stateless: dict[str, Any]) -> None:
    (machine,) = resources_of(stateless, "AWS::StepFunctions::StateMachine").values()
    destination = machine["Properties"]["LoggingConfiguration"]["Destinations"][0]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    name = stateless["Resources"][group_id]["Properties"]["LogGroupName"]
    assert name == "/aws/vendedlogs/states/ActivityLog-Stateless-Exports"


def test_deploy_goes_through_the_checks_and_ci_does_not_wait_for_approval() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    deploy = makefile.split("\ndeploy:", 1)[1].split("\n\n", 1)[0]
    assert "activitylog_ops.deploy deploy" in deploy and "cdk deploy" not in deploy
    source = (REPO_ROOT / "ops" / "activitylog_ops" / "deploy.py").read_text()
    assert (
        '"never" if choices.ci else "broadening"' in source
    )  # tested in tests/unit/test_deploy_preflight.py


def test_no_unused_context_values() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    ours = {k for k in context if k.startswith("activitylog:")}
    assert ours == set()  # deploy-time choices come from `make deploy` (infra/config.py), not cdk.json


# --- operators: alarms, their topic, the dashboard ----------------------------------------------


def _alarms(stateless: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["Properties"] for a in resources_of(stateless, "AWS::CloudWatch::Alarm").values()]


def test_every_function_has_error_and_throttle_alarms(
    stateless: dict[str, Any], functions_by_module: dict[str, str]
) -> None:
    watched = {
        (a["MetricName"], a["Dimensions"][0]["Value"]["Ref"])
        for a in _alarms(stateless)
        if a.get("Namespace") == "AWS/Lambda"
    }
    every = {(m, f) for f in functions_by_module.values() for m in ("Errors", "Throttles")}
    # and the one stream reader's backlog (test_streaming_infra.py checks its threshold)
    assert watched == every | {("IteratorAge", functions_by_module["stream_router"])}


def test_api_5xx_and_p99_latency_alarms(stateless: dict[str, Any]) -> None:
    api = {a["MetricName"]: a for a in _alarms(stateless) if a.get("Namespace") == "AWS/ApiGateway"}
    assert set(api) == {"5XXError", "Latency"}
    assert api["Latency"]["ExtendedStatistic"] == "p99" and api["Latency"]["EvaluationPeriods"] == 3


def test_failed_runs_and_failed_mail_alarm_on_the_functions_own_metrics(stateless: dict[str, Any]) -> None:
    ours = {a["MetricName"]: a for a in _alarms(stateless) if a.get("Namespace") == "ActivityLog"}
    assert set(ours) == {"ExportRunsFailed", "EmailsFailed"}
    for alarm in ours.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "activitylog"}]  # no tenant dimension


def test_every_alarm_notifies_the_topic_given_as_a_required_parameter(stateless: dict[str, Any]) -> None:
    parameter = stateless["Parameters"]["AlarmTopicArn"]
    assert "Default" not in parameter and parameter["Type"] == "String"
    alarms = _alarms(stateless)
    # errors and throttles per function, API 5xx and p99, dead-letter queues, service metrics, iterator age
    assert len(alarms) == 2 * 20 + 2 + 7 + 2 + 1
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopicArn"}]
        assert alarm["OKActions"] == [{"Ref": "AlarmTopicArn"}]
        assert "docs/operations.md" in alarm["AlarmDescription"]


def test_alarms_and_dashboard_use_exactly_the_names_the_functions_emit(stateless: dict[str, Any]) -> None:
    from activitylog.handlers import metrics

    from infra.constructs import monitoring

    named = {
        v for k, v in vars(monitoring).items() if k.isupper() and isinstance(v, str) and v.isidentifier()
    }
    named -= {monitoring.METRICS_NAMESPACE}
    assert named == set(metrics.NAMES)
    (dashboard,) = resources_of(stateless, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for name in metrics.NAMES:
        assert f'\\"{name}\\"' in body, name  # every metric is on the dashboard
    assert monitoring.SERVICE_DIMENSION == {metrics.SERVICE_DIMENSION: "activitylog"}


def test_the_dashboard_shows_every_alarm_and_the_service_metrics(stateless: dict[str, Any]) -> None:
    (dashboard,) = resources_of(stateless, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for name in ("EventsAccepted", "EventsRejected", "ExportRunsSucceeded", "ExportRows", "EmailsFailed"):
        assert name in body
    for alarm_id in resources_of(stateless, "AWS::CloudWatch::Alarm"):
        assert json.dumps({"Fn::GetAtt": [alarm_id, "Arn"]}) in body, alarm_id


# --- checkov: findings are fixed or waived with a documented reason -----------------------------


def test_every_checkov_waiver_is_documented() -> None:
    doc = DOC.read_text()
    for kind, waivers in WAIVERS.items():
        for waiver in waivers:
            assert f"`{waiver.check}`" in doc and kind in doc, (kind, waiver.check)


def test_only_public_methods_waive_the_open_access_check(stateless: dict[str, Any]) -> None:
    for method in resources_of(stateless, "AWS::ApiGateway::Method").values():
        skips = [s["id"] for s in method.get("Metadata", {}).get("checkov", {}).get("skip", [])]
        public = method["Properties"]["AuthorizationType"] == "NONE"
        assert ("CKV_AWS_59" in skips) == public


CHECKOV = REPO_ROOT / ".venv-audit" / "bin" / "checkov"


@pytest.mark.skipif(not CHECKOV.exists(), reason="make audit installs checkov (make test runs it first)")
def test_checkov_really_fails_on_an_unwaived_finding(tmp_path: Path) -> None:
    template = {"Resources": {"Open": {"Type": "AWS::SQS::Queue", "Properties": {}}}}
    (tmp_path / "probe.template.json").write_text(json.dumps(template))
    args = [str(CHECKOV), "-d", str(tmp_path), "--framework", "cloudformation", "--quiet", "--skip-download"]
    found = subprocess.run(args, capture_output=True, text=True, check=False, env={"BC_SKIP_MAPPING": "TRUE"})  # noqa: S603
    assert found.returncode == 1 and "CKV_AWS_27" in found.stdout
