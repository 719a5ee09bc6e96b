"""The hostile-input corpus (tests/corpus/hostile_payloads.jsonl, made by make_hostile_corpus.py) over
HTTP: each payload gets a 4xx with the error envelope (or, for a bad event inside a valid batch, the
documented per-event rejection), and the tenant's stored data is the same afterwards."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys

CORPUS = Path(__file__).parents[1] / "corpus" / "hostile_payloads.jsonl"
PAYLOADS = [json.loads(line) for line in CORPUS.read_text().splitlines()]


def assert_envelope(status: int, body: bytes, where: str) -> None:
    assert 400 <= status < 500, f"{where}: status {status} {body[:300]!r}"
    parsed = json.loads(body)
    assert set(parsed) == {"error"}, where
    assert isinstance(parsed["error"]["code"], str) and parsed["error"]["code"], where
    assert isinstance(parsed["error"]["message"], str) and isinstance(parsed["error"]["details"], list)


def snapshot(api: Api) -> dict[str, Any]:
    """Everything the tenant has stored, as the API shows it."""
    return {
        "events": sorted(api.all_ids()),
        "count": api.request("GET", "/v1/events/count").json(),
        "usage": api.request("GET", "/v1/usage").json(),
        "settings": api.request("GET", "/v1/settings").json(),
        "exports": [e["id"] for e in api.request("GET", "/v1/exports").json()["exports"]],
        "keys": [k["id"] for k in api.request("GET", "/v1/api-keys").json()["api_keys"]],
        "destinations": api.request("GET", "/v1/destinations").json()["destinations"],
        "alerts": api.request("GET", "/v1/alerts").json()["alerts"],
    }


@pytest.fixture(scope="module")
def tenant(local_stack: LocalService) -> Api:
    # every scope: the viewer-token and destination bodies reach validation too
    api = Keys(local_stack).api(unthrottled=True)
    seeded = [{"id": f"seed-{i}", "action": "user.login", "actor": {"id": f"u{i}"}} for i in range(5)]
    assert api.post_events(seeded).json()["accepted"] == 5
    answer = api.request("POST", "/v1/exports", json={"name": "baseline", "format": "csv"})
    assert answer.status_code == 202
    return api


def test_the_corpus_is_big_and_covers_every_family() -> None:
    assert len(PAYLOADS) >= 200
    names = " ".join(p["name"] for p in PAYLOADS)
    for family in (
        "deep nesting",
        "huge int",
        "invalid utf-8",
        "lone surrogate",
        "nul",
        "notification email",
        "recipient",
        "formula",
        "traversal",
        "wrong type",
        "destinations: url",
        "destination path",
        "alerts: window",
        "alert path",
        "reports: activity tz",
        "reports: heatmap",
    ):
        assert family in names, family


def test_every_hostile_payload_is_refused_and_changes_nothing(tenant: Api) -> None:
    before = snapshot(tenant)
    failures = []
    for payload in PAYLOADS:
        raw = None if payload["body_b64"] is None else base64.b64decode(payload["body_b64"])
        answer = tenant.request(
            payload["method"],
            payload["path"],
            data=raw,
            headers={"Content-Type": "application/json"} if raw is not None else {},
        )
        try:
            if payload["expect"] == "rejected":
                assert answer.status_code == 200, answer.text[:300]
                body = answer.json()
                assert body["accepted"] == 0 and body["rejected"] == len(body["results"]) == 1, body
                (result,) = body["results"]
                assert result["status"] == "rejected" and isinstance(result["error"]["code"], str)
            else:
                assert_envelope(answer.status_code, answer.content, payload["name"])
        except (AssertionError, ValueError) as err:
            failures.append(f"{payload['name']}: {err}")
    assert failures == [], "\n".join(failures)
    assert snapshot(tenant) == before


def test_a_10_mb_body_is_refused_by_the_gateway_with_the_envelope(tenant: Api) -> None:
    # Sent over a raw socket: the gateway decides from Content-Length and closes without reading.
    url = urlsplit(tenant.url)
    body = b'{"events": [' + b" " * (10 * 1024 * 1024) + b"]}"
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {tenant.key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    before = snapshot(tenant)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(head)
        # the gateway may close before reading the body: its answer is already written
        with contextlib.suppress(OSError):
            sock.sendall(body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    status = int(status_line.split()[1])
    assert status == 413, answer[:300]
    payload = rest.split(b"\r\n\r\n", 1)[1]
    assert_envelope(status, payload, "10 MB")
    assert json.loads(payload)["error"]["code"] == "payload_too_large"
    assert snapshot(tenant) == before
