"""Local mode fires due schedules by itself: the schedule clock against the whole local service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Keys
from tests.integration.test_exports_flow import create, wait_for_run


def test_the_clock_fires_a_due_schedule_through_the_same_target(
    keys: Keys, local_stack: LocalService
) -> None:
    api = keys.api()
    api.post_events([{"action": "user.login", "actor": {"id": "u1"}}])
    export_id = create(api)["export"]["id"]
    schedule = {
        "expression": "cron(0 * * * ? *)",  # hourly: the most often a schedule may fire
        "timezone": "Europe/Oslo",
        "window": "PT1H",
        "settle": "PT0S",
    }
    assert api.request("PUT", f"/v1/exports/{export_id}/schedule", json=schedule).status_code == 200
    clock = local_stack.clock
    assert clock is not None
    start = (datetime.now(UTC) - timedelta(days=1)).replace(minute=30, second=0, microsecond=0)
    moments = iter([start, start + timedelta(hours=2)])
    saved = (clock.now, clock._last)
    clock.now, clock._last = (lambda: next(moments)), None
    try:
        clock.tick()
        fired = [r for r in clock.tick() if r["schedule"].startswith(export_id)]
    finally:
        clock.now, clock._last = saved
    assert [r["scheduled_time"] for r in fired] == [
        (start.replace(minute=0) + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00:00Z") for h in (1, 2)
    ]
    for result in fired:
        run = wait_for_run(api, export_id, result["result"]["run_id"])
        assert run["status"] == "succeeded", run
