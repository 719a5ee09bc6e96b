"""The service records its own use as events of the tenant: exports created, run and downloaded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, mails_to, wait_for_run


def audit(api: Api) -> list[dict[str, Any]]:
    answer = api.events(action="activitylog.export.*", order="asc", limit=200)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["events"])


def test_export_activity_is_audited_with_its_actor(keys: Keys, local_stack: LocalService) -> None:
    api = keys.api()
    api.post_events([{"action": "user.login", "actor": {"id": "u1"}}])
    recipient = f"audit-{api.tenant}@example.com"
    created = create(api, recipients=[recipient])
    export_id, run_id = created["export"]["id"], created["run"]["id"]
    run = wait_for_run(api, export_id, run_id)
    assert run["status"] == "succeeded", run
    by_key = api.request("GET", urlparse(run["download_url"]).path, allow_redirects=False)
    assert by_key.status_code == 302
    link = next(
        word for word in mails_to(local_stack, recipient)[0]["text"].split() if "/v1/downloads/" in word
    )
    assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302

    trail = audit(api)
    assert [e["action"] for e in trail] == [
        "activitylog.export.created",
        "activitylog.export.downloaded",
        "activitylog.export.downloaded",
    ]
    key_actor = trail[0]["actor"]
    assert key_actor["type"] == "api_key" and trail[1]["actor"] == key_actor
    assert trail[2]["actor"]["type"] == "download_link"
    assert {"type": "export", "id": export_id, "name": None} in trail[2]["targets"]
    # Not counted against the quota, and invisible to other tenants.
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == 1
    assert audit(keys.api()) == []
