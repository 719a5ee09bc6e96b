"""Exports and runs: API requests/responses and the stored run record (API.md "Exports")."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from activitylog.models.email import CONTROL_CHARS, EmailAddress
from activitylog.models.patterns import ACTION_PATTERN
from activitylog.models.text import Timestamp, Unicode

Format = Literal["csv", "jsonl"]
Compression = Literal["none", "gzip"]
RunStatus = Literal["queued", "running", "succeeded", "failed", "expired"]
DOWNLOAD_WINDOW = timedelta(days=7)
MAX_RECIPIENTS = 50
ACTION_FILTER = ACTION_PATTERN[:-1] + r"(\.\*)?$"


def _no_control(value: str) -> str:
    if CONTROL_CHARS.search(value):
        raise ValueError("must not contain control characters (CR, LF, tab, ...)")
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
ActionFilter = Annotated[str, StringConstraints(max_length=102, pattern=ACTION_FILTER)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExportFilters(_Strict):
    """The filters of GET /v1/events, with the same meaning and the same validation."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    actions: list[ActionFilter] = Field(default_factory=list, max_length=20)
    actor_id: Annotated[str, StringConstraints(min_length=1, max_length=256), Unicode] | None = None
    target_type: Annotated[str, StringConstraints(min_length=1, max_length=64), Unicode] | None = None
    target_id: Annotated[str, StringConstraints(min_length=1, max_length=256), Unicode] | None = None
    outcome: Literal["success", "failure"] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=200), Unicode] | None = None
    from_: Timestamp | None = Field(default=None, alias="from")
    to: Timestamp | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ExportFilters:
        if (self.target_type is None) != (self.target_id is None):
            raise ValueError("target_type and target_id go together")
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise ValueError("`from` must be earlier than `to`")
        self.actions = list(dict.fromkeys(self.actions))
        return self


class ExportCreate(_Strict):
    name: ExportName
    format: Format
    compression: Compression = "none"
    filters: ExportFilters = Field(default_factory=ExportFilters)
    recipients: Annotated[list[EmailAddress], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=MAX_RECIPIENTS
    )


class Export(BaseModel):
    id: str
    name: str
    format: Format
    compression: Compression
    filters: ExportFilters
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
        )


class ExportCreated(BaseModel):
    export: Export
    run: Run


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
