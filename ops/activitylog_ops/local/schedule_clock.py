"""Local mode fires due schedules by itself, as EventBridge Scheduler would (moto never does).

Every `interval` seconds the clock lists the emulation's schedules and, for each ENABLED one, works
out the times it was due since the last tick from its expression and time zone (cron expressions
with `croniter`, a maintained cron library; rate expressions from the schedule's creation), then
fires each through `LocalScheduler.fire`, which delivers the same target input Scheduler would.
As Scheduler does, a cron time that a DST change skips does not fire, and a repeated one fires once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

log = logging.getLogger(__name__)

_CRON = re.compile(r"^cron\((.+)\)$")
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86400}


def _aws_weekdays(field_: str) -> str:
    """AWS numbers weekdays 1-7 from Sunday; croniter 0-6. Names and `L`/`#` forms stay as they are."""
    return re.sub(r"(?<![#\w])([1-7])(?![\w])", lambda m: str(int(m.group(1)) - 1), field_)


def cron_fields(expression: str) -> tuple[str, str]:
    """`cron(m h dom mon dow year)` -> a croniter expression and the year field."""
    match = _CRON.match(expression.strip())
    if not match:
        raise ValueError(f"not a cron expression: {expression}")
    minute, hour, dom, month, dow, year = match.group(1).split()
    dom, dow = (dom.replace("?", "*"), _aws_weekdays(dow.replace("?", "*")))
    return f"{minute} {hour} {dom} {month} {dow}", year


def _exists(local: datetime) -> bool:
    """False for wall-clock times a DST change skips (02:30 on the spring-forward night)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


def _year_ok(year: str, moment: datetime) -> bool:
    if year in ("*", "?"):
        return True
    for part in year.split(","):
        low, _, high = part.partition("-")
        if int(low) <= moment.year <= int(high or low):
            return True
    return False


def due_times(schedule: dict[str, Any], since: datetime, until: datetime) -> Iterator[datetime]:
    """The times in (since, until] at which `schedule` fires, in UTC."""
    expression = str(schedule.get("ScheduleExpression", ""))
    zone = ZoneInfo(str(schedule.get("ScheduleExpressionTimezone") or "UTC"))
    rate = _RATE.match(expression)
    if rate:
        period = timedelta(seconds=int(rate.group(1)) * _UNIT[rate.group(2).rstrip("s")])
        start = schedule.get("CreationDate") or since
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        steps = max(1, -(-(since - start) // period)) if since > start else 1
        moment = start + period * steps
        while moment <= until:
            if moment > since:
                yield moment.astimezone(UTC)
            moment += period
        return
    fields, year = cron_fields(expression)
    seen: set[datetime] = set()  # wall-clock times already fired: a repeated hour fires once
    times = croniter(fields, since.astimezone(zone))
    while True:
        local: datetime = times.get_next(datetime)
        moment = local.astimezone(UTC)
        if moment > until:
            return
        wall = local.replace(tzinfo=None)
        if (
            moment <= since
            or not _exists(local)
            or not croniter.match(fields, wall)  # croniter moved a skipped time to one that exists
            or not _year_ok(year, local)
            or wall in seen
        ):
            continue
        seen.add(wall)
        yield moment


@dataclass
class ScheduleClock:
    """A background thread firing due schedules; `tick` does one round (tests call it directly)."""

    scheduler: Callable[[], Any]  # a boto3 `scheduler` client on the emulation
    fire: Callable[[str, str | None], dict[str, Any]]  # LocalScheduler.fire
    interval: float = 15.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _last: datetime | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def schedules(self) -> Iterator[dict[str, Any]]:
        client = self.scheduler()
        for group in client.list_schedule_groups().get("ScheduleGroups", []):
            for summary in client.list_schedules(GroupName=group["Name"]).get("Schedules", []):
                yield client.get_schedule(GroupName=group["Name"], Name=summary["Name"])

    def tick(self) -> list[dict[str, Any]]:
        until = self.now()
        since, self._last = self._last or until, until
        fired = []
        for schedule in self.schedules():
            if schedule.get("State") == "DISABLED":
                continue
            for moment in due_times(schedule, since, until):
                when = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
                fired.append(self.fire(schedule["Name"], when))
        return fired

    def start(self) -> None:
        self._last = self.now()
        self._thread = threading.Thread(target=self._run, name="schedule-clock", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for result in self.tick():
                    log.info("schedule fired: %s at %s", result["schedule"], result["scheduled_time"])
            except Exception:  # a broken schedule must not stop the clock
                log.exception("schedule clock tick failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
