"""Against a deployed stack: opt-in, skipped unless ACTIVITYLOG_E2E_URL and ACTIVITYLOG_E2E_KEY are set.

    ACTIVITYLOG_E2E_URL=https://<api>.execute-api.<region>.amazonaws.com/prod \
    ACTIVITYLOG_E2E_KEY=alk_... .venv/bin/pytest tests/e2e
"""

from __future__ import annotations

import os
import uuid

import pytest
import requests

URL = os.environ.get("ACTIVITYLOG_E2E_URL", "").rstrip("/")
KEY = os.environ.get("ACTIVITYLOG_E2E_KEY", "")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (URL and KEY), reason="set ACTIVITYLOG_E2E_URL and ACTIVITYLOG_E2E_KEY"),
]


def test_gateway_refusals_carry_the_envelope() -> None:
    for path, status in (("/v1/events", 401), ("/v1/no-such-route", 404)):
        answer = requests.get(URL + path, timeout=30)
        assert answer.status_code == status
        assert set(answer.json()["error"]) >= {"code", "message"}


def test_event_round_trip() -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    event_id = f"e2e-{uuid.uuid4().hex}"
    body = {"events": [{"id": event_id, "action": "e2e.check", "actor": {"id": "e2e"}}]}
    answer = requests.post(URL + "/v1/events", json=body, headers=headers, timeout=30)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    got = requests.get(f"{URL}/v1/events/{event_id}", headers=headers, timeout=30)
    assert got.status_code == 200 and got.json()["action"] == "e2e.check"
