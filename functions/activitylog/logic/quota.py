"""The monthly quota: calendar months in UTC, warnings when 80% and 100% are crossed."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape as html_escape

from activitylog.logic.ports import SettingsStore, UsageStore

THRESHOLDS = (("80", 0.8), ("100", 1.0))
# How long the request that claimed a warning may take to send it before another may try (longer
# than an SES call with its SDK retries).
LEASE_SECONDS = 60
# After a failed send, how long before a request tries again: a mail service that keeps refusing
# (unverified sender, sandbox) is then called once per 5 minutes, not by every request of the tenant.
RETRY_SECONDS = 300


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


def pending(
    accepted: int,
    quota: int,
    warned: frozenset[str],
    leases: Mapping[str, int] | None = None,
    now: int = 0,
) -> list[str]:
    """Thresholds reached by `accepted` whose warning is not marked sent and not held by a lease at
    epoch second `now` (crossed by this request, or earlier by one whose email failed: a request
    after the retry time tries again)."""
    if quota <= 0:
        return []
    held = {name for name, until in (leases or {}).items() if until >= now}
    return [name for name, share in THRESHOLDS if share * quota <= accepted and name not in warned | held]


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
    now: datetime,
    usage: UsageStore,
    settings: SettingsStore,
    send: Callable[[Sequence[str], str, str, str], None],
) -> int | None:
    """One email per tenant, month and threshold, marked sent only once it was sent.

    The request that claims the warning's short lease sends it and then marks it sent; if sending
    fails it keeps the lease until RETRY_SECONDS from now and raises, and a request after that tries
    again. Returns how many
    recipients it went to (0: nobody to tell, marked sent too), or None when another request holds
    the lease or it was sent already.
    """
    epoch = int(now.timestamp())
    until = epoch + LEASE_SECONDS
    if not usage.claim_warning(warning.tenant, warning.month, warning.threshold, now=epoch, until=until):
        return None
    try:
        recipients = settings.get_settings(warning.tenant).logging.notification_emails
        if recipients:
            send(recipients, *subject_and_body(warning))
    except BaseException:
        usage.defer_warning(
            warning.tenant, warning.month, warning.threshold, until=until, retry_at=epoch + RETRY_SECONDS
        )
        raise
    usage.mark_warned(warning.tenant, warning.month, warning.threshold)
    return len(recipients)
