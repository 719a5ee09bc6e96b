"""The time range a scheduled run reads, and its deterministic run id (docs/exports.md).

A run's window ends at the firing's *scheduled* time (EventBridge Scheduler's
`<aws.scheduler.scheduled-time>`), never at the moment the function happens to run, so a late or
retried firing reads exactly the intended range. Days and weeks of a window are calendar days in the
schedule's time zone: `P1D` ending at 06:00 Europe/Oslo starts at 06:00 the day before, which is 23
hours earlier on the day clocks go forward and 25 hours earlier on the day they go back.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ulid import ULID

from activitylog.models.schedule_syntax import parse_duration


def window_bounds(window: str, timezone: str, scheduled: datetime) -> tuple[datetime, datetime]:
    """[start, end) in UTC: `end` is the scheduled time, `start` is `window` earlier in `timezone`."""
    end = scheduled.astimezone(UTC)
    duration = parse_duration(window)
    zone = ZoneInfo(timezone)
    wall = end.astimezone(zone).replace(tzinfo=None) - timedelta(days=duration.days)
    # A wall time that a DST change skips resolves forward (fold=0 takes the offset before the
    # change, as RFC 5545 does); a repeated one resolves to its first occurrence.
    start = wall.replace(tzinfo=zone).astimezone(UTC) - duration.time
    return start, end


def not_before(scheduled: datetime, settle: str) -> datetime:
    """When the run may start reading: late events have had `settle` to arrive."""
    return scheduled.astimezone(UTC) + parse_duration(settle).nominal


def scheduled_run_id(tenant: str, export_id: str, scheduled: datetime) -> str:
    """A ULID fixed by (tenant, export, scheduled time): the idempotency key of a firing.

    Its time part is the scheduled time (runs list in schedule order) and its random part a hash of
    the three, so a firing delivered twice names the same run and the same execution. ULIDs are
    Crockford base 32: no `:`, which Step Functions execution names cannot contain.
    """
    at = scheduled.astimezone(UTC)
    millis = int(at.timestamp() * 1000)
    digest = hashlib.sha256(f"{tenant}\n{export_id}\n{at.isoformat()}".encode()).digest()
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest[:10]))
