"""The notification email of a run (success or failure): subject, plain text and HTML."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor

from activitylog.logic import download_tokens
from activitylog.logic.ports import ExportStore
from activitylog.models.errors import MailNotSentError
from activitylog.models.exports import Export, Notification, RunRecord, WorkflowInput
from activitylog.models.text import format_time


@dataclass(frozen=True, slots=True)
class Message:
    to: list[str]
    subject: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class NotifyPorts:
    store: ExportStore
    send: Callable[[Message], None]  # raises MailNotSentError when the mail service refuses
    signing_key: Callable[[], bytes]
    base_url: str
    # Counts one email of the tenant's UTC day if its daily cap allows: (tenant, day) -> allowed
    claim_mail: Callable[[str, str], bool] = lambda _tenant, _day: True


@dataclass(frozen=True, slots=True)
class Notified:
    """What Notify did: the run's `notification`, and why a mail failed (for the log, not the API)."""

    notification: Notification | None  # None: the run or export is gone, or the run has not ended
    reason: str | None = None


def human_size(size: int) -> str:
    units = ["bytes", "KB", "MB", "GB", "TB"]
    value, unit = float(size), 0
    while value >= 1000 and unit < len(units) - 1:
        value, unit = value / 1000, unit + 1
    return f"{size} bytes" if unit == 0 else f"{floor(value * 10) / 10:g} {units[unit]}"


def _range(run: RunRecord) -> str:
    if run.range_from is None or run.range_to is None:
        return "not determined"
    return f"{format_time(run.range_from)} to {format_time(run.range_to)} (UTC, end exclusive)"


SUBJECT_NAME_LENGTH = 60


def subject_name(name: str) -> str:
    """The export's name as a labelled, bounded value after the service's own words: the subject
    reads as "Activity Log: export ready [name: ...]" whatever the tenant wrote, and a long name
    (a sentence that could pass for the subject itself) is cut."""
    short = name if len(name) <= SUBJECT_NAME_LENGTH else name[: SUBJECT_NAME_LENGTH - 1] + "\u2026"
    return short.replace("[", "(").replace("]", ")")


def compose(export: Export, run: RunRecord, *, tenant: str, key: bytes, base_url: str) -> Message:
    name = export.name
    if run.status == "succeeded" and run.finished_at is not None:
        expires = run.expires_at()
        assert expires is not None
        grant = download_tokens.DownloadGrant(tenant, export.id, run.id, int(expires.timestamp()))
        link = f"{base_url}/v1/downloads/{download_tokens.issue(key, grant)}"
        facts = [
            ("Rows", f"{run.row_count:,}"),
            ("Size", human_size(run.bytes or 0)),
            ("Time range", _range(run)),
            ("Format", export.format + (" (gzip)" if export.compression == "gzip" else "")),
            ("SHA-256", run.sha256 or ""),
            ("Link valid until", format_time(expires)),
        ]
        subject = f"Activity Log: export ready [name: {subject_name(name)}]"
        intro = f'Your export "{name}" is ready to download.'
        text_link = f"\nDownload: {link}\n"
        html_link = f'<p><a href="{html.escape(link)}">Download the file</a></p>'
    else:
        facts = [("Reason", run.error or "unknown"), ("Time range", _range(run))]
        subject = f"Activity Log: export failed [name: {subject_name(name)}]"
        intro = f'Your export "{name}" failed; no file was produced. Start a new run to try again.'
        text_link = html_link = ""
    text = intro + "\n\n" + "".join(f"{k}: {v}\n" for k, v in facts) + text_link
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    body = f"<p>{html.escape(intro)}</p><table>{rows}</table>{html_link}"
    return Message(to=list(export.recipients), subject=subject, text=text, html=body)


def notify(inp: WorkflowInput, *, now: datetime, ports: NotifyPorts) -> Notified:
    """Email the run's outcome to the export's recipients and record on the run what became of it.

    A mail the service refuses is not an error of the run: the run keeps its status (a succeeded run
    stays downloadable), its `notification` says `failed`, and this returns normally.
    """
    export = ports.store.get_export(inp.tenant, inp.export_id)
    run = ports.store.get_run(inp.tenant, inp.export_id, inp.run_id) if export else None
    if export is None or run is None or run.status not in ("succeeded", "failed"):
        return Notified(None)
    reason = None
    outcome: Notification
    if not export.recipients:
        outcome = "none"
    elif not ports.claim_mail(inp.tenant, day_of(now)):
        outcome = "skipped_daily_limit"
    else:
        message = compose(export, run, tenant=inp.tenant, key=ports.signing_key(), base_url=ports.base_url)
        try:
            ports.send(message)
            outcome = "sent"
        except MailNotSentError as err:
            outcome, reason = "failed", err.message
    # Only the run's own status may be current: a run deleted meanwhile is not written back.
    ports.store.update_run(
        inp.tenant, run.model_copy(update={"notification": outcome}), expected={run.status}
    )
    return Notified(outcome, reason)


def day_of(now: datetime) -> str:
    """The UTC day the daily mail cap counts in."""
    return now.astimezone(UTC).strftime("%Y-%m-%d")
