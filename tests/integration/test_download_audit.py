"""Download audit events are bounded (issue 18, item 6): a link clicked (or scanned by mail filters)
many times writes one audit event per downloader and minute, and the next event says how many more
downloads the previous minute had."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import create, mails_to, wait_for_run


def downloaded(api: Api) -> list[dict[str, Any]]:
    page = api.events(action="activitylog.export.downloaded", limit=200).json()
    return list(page["events"])


def test_a_link_clicked_many_times_writes_one_audit_event_a_minute_with_a_count(
    keys: Keys, local_stack: LocalService
) -> None:
    api = keys.api()
    api.post_events([{"action": "user.login", "actor": {"id": "u1"}}])
    recipient = f"dl-{api.tenant}@example.com"
    created = create(api, recipients=[recipient])
    wait_for_run(api, created["export"]["id"], created["run"]["id"])
    (mail,) = mails_to(local_stack, recipient)
    link = next(w for w in mail["text"].split() if "/v1/downloads/" in w)
    # When the emailed link is opened 6 times within a minute, and the API download twice
    minute = datetime.now(UTC).replace(second=5, microsecond=0)
    with mock.patch("activitylog.logic.clock.now", return_value=minute):
        for _ in range(6):
            assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
        run_path = f"/v1/exports/{created['export']['id']}/runs/{created['run']['id']}/download"
        for _ in range(2):
            assert api.request("GET", run_path, allow_redirects=False).status_code == 302
    # Then one event for the link and one for the key
    first = downloaded(api)
    assert sorted(e["actor"]["type"] for e in first) == ["api_key", "download_link"]
    assert all("more_downloads" not in e.get("metadata", {}) for e in first)
    # When the link is opened again a minute later / Then one more event, counting the 5 not recorded
    with mock.patch("activitylog.logic.clock.now", return_value=minute + timedelta(minutes=1)):
        assert requests.get(link, allow_redirects=False, timeout=10).status_code == 302
    links = [e for e in downloaded(api) if e["actor"]["type"] == "download_link"]
    assert len(links) == 2
    assert sorted(e.get("metadata", {}).get("more_downloads", 0) for e in links) == [0, 5]
