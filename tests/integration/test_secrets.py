"""No API key, download token or signing secret appears in logs, in error bodies, or in the repository."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import boto3
import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import mails_to, wait_for_run

REPO = Path(__file__).parents[2]
# Written in pieces so that this file does not match its own patterns.
SECRET_PATTERNS = {
    # A key is a token of its own: `alk_` inside a name (`walk_and_...`) is not one.
    "api key": re.compile(r"(?<![A-Za-z0-9_])alk_[A-Za-z0-9_-]{20,}"),
    "private key": re.compile("-----BEGIN [A-Z ]*" + "PRIVATE KEY-----"),
    "aws access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws secret access key": re.compile(
        r"aws_secret_access_key\s*[=:]\s*['\"]?(?!testing|test|dummy|fake)[A-Za-z0-9/+]{40}", re.IGNORECASE
    ),
}


def scan(text: str) -> list[str]:
    return [f"{name}: {m.group(0)[:12]}..." for name, p in SECRET_PATTERNS.items() for m in p.finditer(text)]


def test_the_scanner_finds_planted_secrets() -> None:
    planted = "\n".join(
        [
            "key = 'alk_" + "Q" * 43 + "'",
            "-----BEGIN RSA " + "PRIVATE KEY-----",
            "AKIA" + "ABCDEFGHIJKLMNOP",
            "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"[:40],
        ]
    )
    assert len(scan(planted)) == 4
    assert scan("alk_not-a-real-key and alk_short") == []  # shorter than a real key
    assert scan("def test_a_residual_walk_and_a_count_read_each_entry_once") == []  # part of a name
    assert len(scan('{"key": "alk_' + "x_-" * 15 + '"}')) == 1


def test_no_tracked_file_holds_a_secret() -> None:
    files = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    findings = []
    for name in filter(None, files):
        path = REPO / name.decode()
        if not path.is_file():
            continue  # deleted in the work tree
        findings += [f"{name.decode()}: {f}" for f in scan(path.read_bytes().decode("utf-8", "replace"))]
    assert len(files) > 50
    assert findings == []


def signing_secrets(stack: LocalService) -> list[str]:
    sm = boto3.client("secretsmanager", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    values = []
    for secret in sm.list_secrets()["SecretList"]:
        value = sm.get_secret_value(SecretId=secret["ARN"]).get("SecretString")
        if value:
            values.append(value)
    return values


def test_keys_tokens_and_the_signing_secret_never_reach_logs_or_error_bodies(
    keys: Keys, local_stack: LocalService, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")  # the deployed functions log at INFO (POWERTOOLS_LOG_LEVEL)
    # Given a tenant that uses every kind of credential, well and badly
    api = keys.api()
    wrong = Api(api.url, "alk_" + "W" * 43, api.tenant)
    bodies: list[str] = []
    recipient = "secrets-check@example.com"
    assert api.post_events([{"id": "s1", "action": "user.login", "actor": {"id": "u1"}}]).status_code == 200
    bodies.append(wrong.request("GET", "/v1/events").text)
    bodies.append(wrong.post_events([{"action": "x", "actor": {"id": "u"}}]).text)
    bodies.append(api.request("GET", "/v1/events", headers={"Authorization": f"Basic {api.key}"}).text)
    reader = keys.api(tenant=api.tenant, scopes=["events:read"])
    bodies.append(reader.request("POST", "/v1/exports", json={"name": "x", "format": "csv"}).text)
    created_key = api.request("POST", "/v1/api-keys", json={"name": "n", "scopes": ["events:read"]}).json()
    new_key = created_key["key"]
    bodies.append(api.request("GET", "/v1/api-keys").text)  # never the secret
    created = api.request(
        "POST", "/v1/exports", json={"name": "Secrets", "format": "csv", "recipients": [recipient]}
    ).json()
    run = wait_for_run(api, created["export"]["id"], created["run"]["id"])
    assert run["status"] == "succeeded", run
    (mail,) = mails_to(local_stack, recipient)
    link = next(w for w in mail["text"].split() if "/v1/downloads/" in w)
    token = link.rsplit("/", 1)[1]
    assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bodies.append(requests.get(f"{api.url}/v1/downloads/{tampered}", timeout=10).text)
    bodies.append(requests.get(f"{api.url}/v1/downloads/{token}x", timeout=10).text)

    # When everything the service printed or logged meanwhile is collected
    out, err = capfd.readouterr()
    logged = out + err + "\n".join(r.getMessage() for r in caplog.records)

    # Then no credential appears in it, nor in any error body (raw, or base64 for the secret)
    secrets = [api.key, wrong.key, reader.key, new_key, token, *signing_secrets(local_stack)]
    assert all(secrets) and len(secrets) >= 6
    assert logged, "nothing was captured: the test would prove nothing"
    for secret in secrets:
        assert secret is not None
        forms = {secret, base64.b64encode(secret.encode()).decode()}
        for form in forms:
            assert form not in logged, f"a credential ({secret[:6]}...) is in the logs"
            for body in bodies:
                assert form not in body, f"a credential ({secret[:6]}...) is in an error body: {body[:200]}"
    assert "prefix" in bodies[4] and not scan(bodies[4])  # the key list shows a short prefix only
