"""What the use cases need from the outside world, as small Protocols (DESIGN.md §5, docs/components.md).

Logic depends on these and nothing else; the adapters in `activitylog.dal` satisfy them structurally
(they never import this module), and `activitylog.handlers.wiring` is the one place that knows both.
The records passed across (index pages, event records, stream positions) live in `activitylog.models`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # annotations only: importing the ports loads no model at cold start
    from activitylog.models.auth import ApiKeyRecord
    from activitylog.models.exports import Export, RunRecord
    from activitylog.models.query import EventRecord, IndexPage, Stream, TimeWindow
    from activitylog.models.schedules import Schedule
    from activitylog.models.settings import LoggingSettings, TenantSettings

# --- events table ---------------------------------------------------------------------------------


class EventStore(Protocol):
    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]: ...
    def put_events(self, records: Sequence[EventRecord]) -> set[str]: ...
    def query_index(
        self,
        tenant: str,
        stream: Stream,
        *,
        window: TimeWindow,
        after: str | None,
        descending: bool,
        limit: int,
        now_s: int,
    ) -> IndexPage:
        """Up to `limit` entries of `stream` inside `window`, strictly beyond the position `after`
        (a `ts` this store returned) in the read direction; unexpired at `now_s` only."""
        ...

    def count_index(
        self, tenant: str, stream: Stream, *, window: TimeWindow, after: str | None, now_s: int
    ) -> tuple[int, str | None]:
        """Count one page of `stream` in ascending order strictly after `after`; the last ts read
        when the stream has more."""
        ...

    def event_key(self, tenant: str, event_id: str) -> str:
        """The key `get_documents` finds the event by."""
        ...

    def get_documents(self, event_keys: Sequence[str]) -> dict[str, str]: ...


# --- control table --------------------------------------------------------------------------------


class SettingsStore(Protocol):
    def get_settings(self, tenant: str) -> TenantSettings: ...


class SettingsAdmin(SettingsStore, Protocol):
    def get_logging_settings(self, tenant: str) -> tuple[LoggingSettings, int]: ...
    def put_logging_settings(self, tenant: str, settings: LoggingSettings, *, version: int) -> None: ...


class ActionCatalogue(Protocol):
    def known_actions(self, tenant: str) -> set[str]: ...
    def add_actions(self, tenant: str, actions: set[str]) -> None: ...


class LimitsAdmin(SettingsStore, ActionCatalogue, Protocol):
    def set_monthly_quota(self, tenant: str, quota: int) -> None: ...


class UsageStore(Protocol):
    def reserve(self, tenant: str, month: str, count: int, quota: int) -> int | None: ...
    def release(self, tenant: str, month: str, count: int) -> None: ...
    def accepted(self, tenant: str, month: str) -> int: ...
    def claim_warning(self, tenant: str, month: str, threshold: str) -> bool: ...


class KeyStore(Protocol):
    def put_api_key(self, record: ApiKeyRecord) -> None: ...
    def get_api_key(self, secret_hash: str) -> ApiKeyRecord | None: ...


class KeyAdmin(KeyStore, Protocol):
    def list_api_keys(
        self, tenant: str, *, limit: int, after: str | None
    ) -> tuple[list[ApiKeyRecord], str | None]: ...
    def delete_api_key(self, tenant: str, key_id: str) -> ApiKeyRecord | None: ...


class ExportStore(Protocol):
    def put_export(self, tenant: str, export: Export) -> None: ...
    def get_export(self, tenant: str, export_id: str) -> Export | None: ...
    def list_exports(self, tenant: str, *, limit: int, after: str | None) -> tuple[list[Export], bool]: ...
    def delete_export(self, tenant: str, export_id: str) -> None: ...
    def put_run(self, tenant: str, run: RunRecord) -> None: ...
    def get_run(self, tenant: str, export_id: str, run_id: str) -> RunRecord | None: ...
    def list_runs(
        self, tenant: str, export_id: str, *, limit: int, before: str | None
    ) -> tuple[list[RunRecord], bool]: ...
    def update_run(self, tenant: str, run: RunRecord, *, expected: Iterable[str]) -> bool: ...


class ScheduleStore(Protocol):
    def put_schedule(self, tenant: str, schedule: Schedule) -> None: ...
    def get_schedule(self, tenant: str, export_id: str) -> Schedule | None: ...
    def delete_schedule(self, tenant: str, export_id: str) -> None: ...


# --- EventBridge Scheduler, S3 ---------------------------------------------------------------------


class Schedules(Protocol):
    """The Scheduler side: one schedule per (tenant, export)."""

    def put(self, tenant: str, schedule: Schedule) -> None: ...
    def delete(self, tenant: str, export_id: str) -> bool: ...


class MultipartSink(Protocol):
    """Where an assembled file's parts go: an S3 multipart upload, or a test fake."""

    def start(self) -> None: ...
    def upload_part(self, number: int, data: bytes) -> str: ...
    def complete(self, parts: list[tuple[int, str]]) -> None: ...
    def abort(self) -> None: ...


class Stored(Protocol):
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class WorkflowFiles(Protocol):
    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str, gzip: bool) -> Stored: ...
    def read(self, key: str) -> Iterator[bytes]: ...
    def delete_prefix(self, prefix: str) -> None: ...
