"""The whole local stack (synthesized CDK app, real handlers) and the CLI against it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import requests
from activitylog_ops.local.envfile import read_env_file
from local_stack import RunningLocalService


def test_env_file_describes_the_running_stack(local_service: RunningLocalService) -> None:
    written = read_env_file(local_service.workdir / ".local" / "env")

    assert written == local_service.env
    assert written is not None and written["ACTIVITYLOG_API_URL"].startswith("http://127.0.0.1:")
    assert written["ACTIVITYLOG_API_KEY"].startswith("alk_")


def test_posted_event_can_be_read_back_with_the_demo_key(local_service: RunningLocalService) -> None:
    headers = {"Authorization": f"Bearer {local_service.key}"}
    event_id = f"e2e-{uuid.uuid4().hex}"

    posted = requests.post(
        f"{local_service.url}/v1/events",
        json={"events": [{"id": event_id, "action": "user.login", "actor": {"id": "alice"}}]},
        headers=headers,
        timeout=30,
    )
    fetched = requests.get(f"{local_service.url}/v1/events/{event_id}", headers=headers, timeout=30)

    assert posted.status_code == 200, posted.text
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == event_id and fetched.json()["actor"]["id"] == "alice"


def test_bad_key_and_unknown_route_through_the_real_authorizer(local_service: RunningLocalService) -> None:
    refused = requests.get(
        f"{local_service.url}/v1/events", headers={"Authorization": "Bearer alk_x"}, timeout=30
    )
    unknown = requests.get(f"{local_service.url}/v1/nope", timeout=30)

    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def run_cli(local_service: RunningLocalService, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "activitylog_ops.cli", *args],
        cwd=local_service.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_creates_a_key_that_works_against_the_gateway(local_service: RunningLocalService) -> None:
    result = run_cli(
        local_service, "keys", "create", "--tenant", "acme", "--scopes", "events:write,events:read"
    )

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("alk_")
    headers = {"Authorization": f"Bearer {key}"}
    posted = requests.post(
        f"{local_service.url}/v1/events",
        json={"events": [{"action": "user.login", "actor": {"id": "bob"}}]},
        headers=headers,
        timeout=30,
    )
    listed = requests.get(f"{local_service.url}/v1/events", headers=headers, timeout=30)
    assert posted.status_code == 200, posted.text
    # acme sees only its own events: bob's, and the operator's key creation in its audit trail
    by_actor = {e["actor"]["id"]: e["action"] for e in listed.json()["events"]}
    assert by_actor == {"bob": "user.login", "operator": "activitylog.api_key.created"}


def test_cli_rejects_bad_tenant_and_scopes_with_exit_code_2(local_service: RunningLocalService) -> None:
    bad_tenant = run_cli(local_service, "keys", "create", "--tenant", "Acme!", "--scopes", "events:read")
    bad_scope = run_cli(local_service, "keys", "create", "--tenant", "acme", "--scopes", "events:read,root")

    assert bad_tenant.returncode == 2 and "invalid tenant" in bad_tenant.stderr
    assert bad_scope.returncode == 2 and "root" in bad_scope.stderr
    assert bad_tenant.stdout == bad_scope.stdout == ""


def test_cli_sets_a_tenants_daily_mail_limit_and_shows_it(local_service: RunningLocalService) -> None:
    tenant = f"mail-{uuid.uuid4().hex[:8]}"
    before = run_cli(local_service, "tenants", "show", tenant)
    assert before.returncode == 0, before.stderr
    assert '"daily_mail_limit": 100' in before.stdout and "0 of 100" in before.stdout  # the default

    raised = run_cli(local_service, "tenants", "set-mail-limit", tenant, "500")
    shown = run_cli(local_service, "tenants", "show", tenant)
    negative = run_cli(local_service, "tenants", "set-mail-limit", tenant, "-1")

    assert raised.returncode == 0, raised.stderr
    assert "500 notification emails per UTC day" in raised.stdout
    assert '"daily_mail_limit": 500' in shown.stdout and "0 of 500" in shown.stdout
    assert negative.returncode == 2 and "0 or more" in negative.stderr


def test_cli_raises_a_hot_tenants_write_shards_and_never_lowers_them(
    local_service: RunningLocalService,
) -> None:
    tenant = f"hot-{uuid.uuid4().hex[:8]}"
    raised = run_cli(local_service, "tenants", "set-shards", tenant, "4")
    shown = run_cli(local_service, "tenants", "show", tenant)
    lowered = run_cli(local_service, "tenants", "set-shards", tenant, "2")
    too_many = run_cli(local_service, "tenants", "set-shards", tenant, "65")
    again = run_cli(local_service, "tenants", "set-shards", tenant, "4")

    assert raised.returncode == 0, raised.stderr
    assert "4 write shards" in raised.stdout and '"shard_count": 4' in shown.stdout
    assert lowered.returncode == 1 and "may only grow: it is 4" in lowered.stderr
    assert too_many.returncode == 2 and "between 1 and 64" in too_many.stderr
    assert again.returncode == 0, again.stderr  # the same count again is fine


def test_cli_elsewhere_says_where_it_looks_and_how_to_point_it(tmp_path: Path) -> None:
    # Given a directory without .local/env, and no AWS region or credentials
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "activitylog_ops.cli", "tenants", "show", "acme"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then it says what it looked for and how to point it at either stack (not "You must specify a region.")
    assert result.returncode == 1
    assert f".local/env in {tmp_path}" in result.stderr
    assert "source " in result.stderr and "AWS_REGION" in result.stderr and "AWS_PROFILE" in result.stderr
    assert "You must specify a region" not in result.stderr


def test_cli_elsewhere_targets_the_local_stack_a_shell_has_sourced(
    local_service: RunningLocalService, tmp_path: Path
) -> None:
    # Given a shell elsewhere that sourced the stack's .local/env
    sourced = subprocess.run(  # noqa: S603 - bash sourcing our own file
        ["/bin/bash", "-c", f"source {local_service.workdir / '.local' / 'env'} && exec env"],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = dict(line.split("=", 1) for line in sourced.splitlines() if "=" in line)

    # When it creates a key, then on the local stack
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "activitylog_ops.cli",
            "keys",
            "create",
            "--tenant",
            "acme",
            "--scopes",
            "events:read",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.get(f"{local_service.url}/v1/events", headers=headers, timeout=30).status_code == 200
