"""The monthly quota: calendar months in UTC, warnings when 80% and 100% are crossed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape

from activitylog.logic.ports import SettingsStore, UsageStore

THRESHOLDS = (("80", 0.8), ("100", 1.0))


@dataclass(frozen=True, slots=True)
class QuotaWarning:
    tenant: str
    month: str
    threshold: str  # "80" or "100"
    accepted: int
    quota: int


def month_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def next_month_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def seconds_to_next_month(now: datetime) -> int:
    return max(1, math.ceil((next_month_start(now) - now).total_seconds()))


def crossed(before: int, after: int, quota: int) -> list[str]:
    """Thresholds passed by going from `before` to `after` accepted events."""
    if quota <= 0:
        return []
    return [name for name, share in THRESHOLDS if before < share * quota <= after]


def subject_and_body(warning: QuotaWarning) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a quota warning email."""
    reached = "reached" if warning.threshold == "100" else f"passed {warning.threshold}% of"
    subject = f"Activity Log: tenant {warning.tenant} has {reached} its monthly quota"
    text = (
        f"Tenant {warning.tenant} has accepted {warning.accepted:,} events in {warning.month} "
        f"({warning.threshold}% of its monthly quota of {warning.quota:,}).\n"
    )
    if warning.threshold == "100":
        text += "Further events are refused (429 quota_exceeded) until the start of next month (UTC).\n"
    html = "<p>" + html_escape(text).replace("\n", "</p><p>").removesuffix("<p>")
    return subject, text, html


def send_warning(
    warning: QuotaWarning,
    *,
    usage: UsageStore,
    settings: SettingsStore,
    send: Callable[[Sequence[str], str, str, str], None],
) -> int | None:
    """One email per tenant, month and threshold: only the request that claims it sends it.

    Returns how many recipients it went to, or None when another request had claimed it.
    """
    if not usage.claim_warning(warning.tenant, warning.month, warning.threshold):
        return None
    recipients = settings.get_settings(warning.tenant).logging.notification_emails
    if recipients:
        send(recipients, *subject_and_body(warning))
    return len(recipients)
