"""Firing EventBridge Scheduler schedules in local mode (moto stores schedules but never fires them).

`fire` does what Scheduler does at a firing: it reads the stored schedule, skips it when DISABLED,
substitutes `<aws.scheduler.scheduled-time>` in the target's Input and invokes the target function
(through the in-process invoker, i.e. the very handler that Scheduler invokes on AWS). The local
gateway serves it as `POST /_local/schedules/{name or export id}/fire?at=<RFC 3339 time>`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
FIRE_PREFIX = "/_local/schedules/"


class ScheduleNotFound(Exception):
    pass


def scheduled_time(at: str | None, *, now: datetime | None = None) -> str:
    """Scheduler's format (UTC, whole seconds, `Z`); default: the current minute, as cron fires."""
    if at:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("`at` needs an offset or Z, e.g. 2026-11-24T06:00:00Z")
    else:
        moment = (now or datetime.now(UTC)).replace(second=0)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class LocalScheduler:
    scheduler: Callable[[], Any]  # a boto3 `scheduler` client on the emulation
    invoke: Callable[[str, Any], Any]  # the in-process invoker

    def find(self, key: str) -> dict[str, Any]:
        """A schedule by its name, or by the export id its name starts with, in any group."""
        client = self.scheduler()
        for group in client.list_schedule_groups().get("ScheduleGroups", []):
            for summary in client.list_schedules(GroupName=group["Name"]).get("Schedules", []):
                if summary["Name"] == key or summary["Name"].startswith(key + "-"):
                    found: dict[str, Any] = client.get_schedule(GroupName=group["Name"], Name=summary["Name"])
                    return found
        raise ScheduleNotFound(key)

    def fire(self, key: str, at: str | None = None) -> dict[str, Any]:
        schedule = self.find(key)
        when = scheduled_time(at)
        if schedule.get("State") == "DISABLED":
            return {"schedule": schedule["Name"], "scheduled_time": when, "fired": False, "result": None}
        target = schedule["Target"]
        payload = json.loads(str(target.get("Input") or "{}").replace(SCHEDULED_TIME, when))
        result = self.invoke(target["Arn"], payload)
        log.info("fired schedule %s at %s: %s", schedule["Name"], when, result)
        return {"schedule": schedule["Name"], "scheduled_time": when, "fired": True, "result": result}
