"""Exports and runs: API requests/responses and the stored run record (API.md "Exports")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from typing_extensions import TypeAliasType

from activitylog.models.email import CONTROL_CHARS, EmailAddress
from activitylog.models.filters import EventFilter
from activitylog.models.text import Timestamp, Unicode, format_time

# Named aliases: one schema of each name in the OpenAPI document (models/filters.py, Outcome).
Format = TypeAliasType("Format", Literal["csv", "jsonl", "pdf"])
Compression = TypeAliasType("Compression", Literal["none", "gzip"])
RunStatus = TypeAliasType("RunStatus", Literal["queued", "running", "succeeded", "failed", "expired"])
# What became of a finished run's email (API.md "Run"): None until Notify ran.
Notification = TypeAliasType("Notification", Literal["sent", "failed", "skipped_daily_limit", "none"])
DOWNLOAD_WINDOW = timedelta(days=7)
MAX_RECIPIENTS = 50


# Bidirectional embeddings, overrides and isolates: they reorder how a name is shown
# (`invoice\u202efdp.exe` reads as `invoiceexe.pdf`), in the email and in file names.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _no_control(value: str) -> str:
    if CONTROL_CHARS.search(value):
        raise ValueError("must not contain control characters (CR, LF, tab, ...)")
    if BIDI_CONTROLS.search(value):
        raise ValueError("must not contain bidirectional-override characters (U+202A-U+202E, U+2066-U+2069)")
    return value


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    unique = []
    for value in values:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            unique.append(value)
    return unique


ExportName = Annotated[
    str, StringConstraints(min_length=1, max_length=200), Unicode, AfterValidator(_no_control)
]


class ExportFilters(EventFilter):
    """The filters of GET /v1/events, with the same meaning and the same validation."""


# The one filter model under the name the OpenAPI document has always given an export's filters
# (generated clients keep their class): no field or rule of its own, and any EventFilter is taken.
def _export_filters(value: Any) -> Any:
    if isinstance(value, EventFilter) and not isinstance(value, ExportFilters):
        return ExportFilters.model_validate(value.model_dump())
    return value


Filters = Annotated[ExportFilters, BeforeValidator(_export_filters)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportCreate(_Strict):
    name: ExportName
    format: Format
    compression: Compression = "none"
    filters: Filters = Field(default_factory=ExportFilters)
    recipients: Annotated[list[EmailAddress], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS
    )
    run_now: bool = Field(
        default=True,
        description="start the first run at once (202); false: create the export only, for a schedule (201)",
    )


class Export(BaseModel):
    id: str
    name: str
    format: Format
    compression: Compression
    filters: Filters
    recipients: list[str]
    created_at: Timestamp

    def dump(self) -> str:
        return self.model_dump_json(by_alias=True)


class RunRecord(BaseModel):
    """A run as stored in the control table: the API's Run plus what the workflow needs."""

    id: str
    export_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: Timestamp
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    row_count: int | None = None
    bytes: int | None = None
    sha256: str | None = None
    error: str | None = None
    range_from: Timestamp | None = None  # the time range the run read: [from, to)
    range_to: Timestamp | None = None
    slice_count: int | None = None
    key: str | None = None  # the S3 key of the file
    # A scheduled run: the workflow waits until then before reading (late events settle).
    not_before: Timestamp | None = None
    notification: Notification | None = None  # set by Notify once the run ended

    def position(self) -> str:
        """Where the run sorts among its export's runs: by creation, then id (a scheduled run's id
        encodes its scheduled time, not when it was made: API.md lists runs newest first)."""
        return f"{format_time(self.created_at)}#{self.id}"

    def expires_at(self) -> datetime | None:
        return self.finished_at + DOWNLOAD_WINDOW if self.finished_at and self.status == "succeeded" else None

    def expired(self, now: datetime) -> bool:
        expires = self.expires_at()
        return expires is not None and now >= expires


class Run(BaseModel):
    id: str
    export_id: str
    status: RunStatus
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    row_count: int | None
    bytes: int | None
    sha256: str | None
    expires_at: Timestamp | None
    error: str | None
    download_url: str | None
    notification: Notification | None = Field(
        description="the run's email: null until the run ended and Notify ran; `sent`, `failed` (the "
        "mail could not be sent, the run keeps its status), `skipped_daily_limit` (the tenant's daily "
        "cap of notification emails was reached) or `none` (the export has no recipients)"
    )

    @classmethod
    def of(cls, record: RunRecord, *, now: datetime, base_url: str) -> Run:
        expired = record.expired(now)
        download = (
            f"{base_url}/v1/exports/{record.export_id}/runs/{record.id}/download"
            if record.status == "succeeded" and not expired
            else None
        )
        return cls(
            id=record.id,
            export_id=record.export_id,
            status="expired" if expired else record.status,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            row_count=record.row_count,
            bytes=record.bytes,
            sha256=record.sha256,
            expires_at=record.expires_at(),
            error=record.error,
            download_url=download,
            notification=record.notification,
        )


class ExportCreated(BaseModel):
    export: Export
    run: Run | None = Field(description="the first run; null when the export was created with run_now false")


class ExportPage(BaseModel):
    exports: list[Export]
    next_cursor: str | None


class RunPage(BaseModel):
    runs: list[Run]
    next_cursor: str | None


class WorkflowInput(BaseModel):
    """What a workflow execution receives: references only (the state payload limit is 256 KiB)."""

    tenant: str
    export_id: str
    run_id: str

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> WorkflowInput:
        """The run's references from a state's input (which carries more: slices, results, errors)."""
        return cls.model_validate({k: state[k] for k in ("tenant", "export_id", "run_id")})
