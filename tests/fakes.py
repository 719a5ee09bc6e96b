"""In-memory stand-ins for the DynamoDB and S3 adapters, with the same semantics the logic relies on."""

from __future__ import annotations

import copy
import gzip as gzip_module
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from activitylog.dal import catalogue as catalogue_keys
from activitylog.dal.events import INDEX, event_pk, index_pk, key_range, main_pk, to_items
from activitylog.models.auth import ApiKeyRecord
from activitylog.models.catalogue import Entry, EntryKey, Kind
from activitylog.models.exports import Export, RunRecord
from activitylog.models.query import EventRecord, IndexEntry, IndexPage, IndexRead, Stream, WriteOutcome
from activitylog.models.reports import HourRollup
from activitylog.models.settings import Reservation, TenantLimits, TenantSettings


class FakeEventStore:
    """Items as the real store writes them; queries honour key conditions, filter and Limit."""

    def __init__(
        self, fail_ids: Iterable[str] = (), *, page_items: int | None = None, lookahead: bool = False
    ) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.fail_ids = set(fail_ids)
        self.scanned = 0
        self.returned = 0
        self.writes = 0
        self.queries = 0
        self.reads: list[tuple[Stream, list[str]]] = []  # per Query: the stream and the `ts` it read
        # A Query page ends after `page_items` items (as DynamoDB's 1 MB page does), Limit or not.
        self.page_items = page_items
        # DynamoDB returns LastEvaluatedKey whenever a page stopped at Limit (or 1 MB), even when no
        # item follows; moto only when one does (`lookahead`). The logic must work with both.
        self.lookahead = lookahead

    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]:
        return {i for i in event_ids if event_pk(tenant, i) in self.items}

    def put_events(self, records: Sequence[EventRecord]) -> WriteOutcome:
        """As the real store: the first write of an id wins (its items all, or none of them)."""
        failed, taken = set(), set()
        for record in records:
            if record.event_id in self.fail_ids:
                failed.add(record.event_id)
                continue
            items = to_items(record)
            if items[0]["pk"]["S"] in self.items:
                taken.add(record.event_id)
                continue
            for item in items:
                self.items[item["pk"]["S"]] = item
                self.writes += 1
        return WriteOutcome(failed=frozenset(failed), taken=frozenset(taken))

    def _partition(self, tenant: str, stream: Stream, lo: str, hi: str) -> list[dict[str, Any]]:
        _, attr = INDEX[stream.dimension]
        key = index_pk(tenant, stream)
        return [
            i for i in self.items.values() if i.get(attr, {}).get("S") == key and lo <= i["ts"]["S"] <= hi
        ]

    def query_index(self, tenant: str, stream: Stream, request: IndexRead) -> IndexPage:
        descending, limit, now_s = request.descending, request.limit, request.now_s
        bounds = key_range(
            request.window, request.after, descending=descending
        )  # the real store's arithmetic
        if bounds is None:
            return IndexPage(entries=[], last_ts=None, scanned=0)
        lo, hi = bounds
        assert lo <= hi, "DynamoDB refuses BETWEEN with a lower bound above the upper one"
        assert limit >= 1, "DynamoDB refuses Limit < 1"
        rows = sorted(self._partition(tenant, stream, lo, hi), key=lambda i: i["ts"]["S"], reverse=descending)
        read = rows[: min(limit, self.page_items or limit)]
        self.queries += 1
        self.reads.append((stream, [i["ts"]["S"] for i in read]))
        self.scanned += len(read)
        kept = [i for i in read if int(i["exp"]["N"]) > now_s]
        self.returned += len(kept)
        stopped = len(read) < len(rows) or (len(read) == limit and not self.lookahead)
        more = bool(read) and stopped
        return IndexPage(
            entries=[IndexEntry(ts=i["ts"]["S"], event_pk=main_pk(i["pk"]["S"])) for i in kept],
            last_ts=read[-1]["ts"]["S"] if more else None,
            scanned=len(read),
        )

    def count_index(self, tenant: str, stream: Stream, read: IndexRead) -> tuple[int, str | None]:
        now_s = read.now_s
        bounds = key_range(read.window, read.after, descending=False)
        if bounds is None:
            return 0, None
        lo, hi = bounds
        assert lo <= hi, "DynamoDB refuses BETWEEN with a lower bound above the upper one"
        rows = sorted(self._partition(tenant, stream, lo, hi), key=lambda i: i["ts"]["S"])
        page, rest = rows[:3], rows[3:]  # tiny pages exercise the continuation
        return sum(int(i["exp"]["N"]) > now_s for i in page), (page[-1]["ts"]["S"] if rest else None)

    def event_key(self, tenant: str, event_id: str) -> str:
        return event_pk(tenant, event_id)

    def get_documents(self, event_pks: Sequence[str]) -> dict[str, str]:
        return {
            pk: self.items[pk]["d"]["S"] for pk in event_pks if pk in self.items and "d" in self.items[pk]
        }


class FakeCatalogue:
    """The catalogue's items in memory, keyed as dal/catalogue.py keys them; counts requests."""

    def __init__(self) -> None:
        self.catalogue_items: dict[tuple[str, str], Entry] = {}
        self.entry_reads = 0  # BatchGetItem requests
        self.item_writes = 0  # UpdateItem requests

    def get_entries(self, tenant: str, keys: Iterable[EntryKey]) -> dict[EntryKey, Entry]:
        keys = list(keys)
        self.entry_reads += -(-len(keys) // catalogue_keys.BATCH_GET)
        found = {k: self.catalogue_items.get(self._own(tenant, k)) for k in keys}
        return {k: e for k, e in found.items() if e is not None}

    @staticmethod
    def _own(tenant: str, key: EntryKey) -> tuple[str, str]:
        return catalogue_keys.partitions(tenant, key)[0], catalogue_keys.sort_key(key, key.id)

    def write_entries(self, tenant: str, writes: Sequence[tuple[Entry, Entry | None]], *, now: int) -> None:
        for new, old in writes:
            keys = catalogue_keys.sort_keys(new)
            gone = [sk for sk in catalogue_keys.sort_keys(old) if sk not in keys] if old else []
            for pk in catalogue_keys.partitions(tenant, new.key):
                for sk in gone:
                    self.item_writes += 1
                    if (pk, sk) in self.catalogue_items:
                        self.catalogue_items[(pk, sk)] = replace(self.catalogue_items[(pk, sk)], until=now)
                for sk in keys:
                    self.item_writes += 1
                    self.catalogue_items[(pk, sk)] = new

    def search(
        self,
        tenant: str,
        kind: Kind,
        *,
        prefix: str,
        after: str | None,
        limit: int,
        now: int,
        target_type: str | None = None,
    ) -> tuple[list[Entry], str | None]:
        pk = catalogue_keys.search_partition(tenant, kind, target_type)
        begins = catalogue_keys.search_prefix(prefix)
        if after is not None and not after.startswith(begins):
            from activitylog.models.errors import BadRequestError

            raise BadRequestError("invalid cursor")
        rows = sorted(
            (sk, e)
            for (p, sk), e in self.catalogue_items.items()
            if p == pk and sk.startswith(begins) and (after is None or sk > after)
        )
        found: list[Entry] = []
        for n, (sk, entry) in enumerate(rows):
            if entry.until > now and (kind == "action" or catalogue_keys.shown_at(entry, prefix) == sk):
                found.append(entry)
            if len(found) == limit:
                return found, sk if n + 1 < len(rows) else None
        return found, None

    def all_actions(self, tenant: str, *, now: int) -> list[Entry]:
        return self.search(tenant, "action", prefix="", after=None, limit=10**9, now=now)[0]


class FakeControl(FakeCatalogue):
    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, ApiKeyRecord] = {}
        self.settings: dict[str, TenantSettings] = {}
        self.actions: dict[str, set[str]] = {}
        self.action_writes = 0
        self.counters: dict[tuple[str, str], int] = {}
        self.warned: set[tuple[str, str, str]] = set()
        self.leases: dict[tuple[str, str, str], int] = {}  # until (epoch s)
        self.mail: dict[tuple[str, str], int] = {}  # notification emails per tenant and day
        self.mail_limits: dict[str, int] = {}

    # usage (same contract as dal/usage.py: conditional, never past the quota)
    def _sent(self, tenant: str, month: str) -> frozenset[str]:
        return frozenset(t for (te, m, t) in self.warned if (te, m) == (tenant, month))

    def _leases(self, tenant: str, month: str) -> dict[str, int]:
        return {t: until for (te, m, t), until in self.leases.items() if (te, m) == (tenant, month)}

    def reserve(self, tenant: str, month: str, count: int, quota: int) -> Reservation:
        now = self.counters.get((tenant, month), 0)
        if now + count > quota:
            return Reservation(
                total=None, accepted=now, warned=self._sent(tenant, month), leases=self._leases(tenant, month)
            )
        self.counters[(tenant, month)] = now + count
        return Reservation(
            total=now + count,
            accepted=now + count,
            warned=self._sent(tenant, month),
            leases=self._leases(tenant, month),
        )

    def release(self, tenant: str, month: str, count: int) -> None:
        self.counters[(tenant, month)] -= count

    def accepted(self, tenant: str, month: str) -> int:
        return self.counters.get((tenant, month), 0)

    def claim_warning(self, tenant: str, month: str, threshold: str, *, now: int, until: int) -> bool:
        key = (tenant, month, threshold)
        if key in self.warned or self.leases.get(key, 0) >= now:
            return False
        self.leases[key] = until
        return True

    def mark_warned(self, tenant: str, month: str, threshold: str) -> None:
        self.warned.add((tenant, month, threshold))
        self.leases.pop((tenant, month, threshold), None)

    def defer_warning(self, tenant: str, month: str, threshold: str, *, until: int, retry_at: int) -> None:
        if self.leases.get((tenant, month, threshold)) == until:
            self.leases[(tenant, month, threshold)] = retry_at

    def claim_mail(self, tenant: str, day: str, limit: int, *, expires: int) -> bool:
        if self.mail.get((tenant, day), 0) >= limit:
            return False
        self.mail[(tenant, day)] = self.mail.get((tenant, day), 0) + 1
        return True

    def put_api_key(self, record: ApiKeyRecord) -> None:
        self.keys[record.secret_hash] = record

    def get_api_key(self, secret_hash: str) -> ApiKeyRecord | None:
        return self.keys.get(secret_hash)

    def get_settings(self, tenant: str) -> TenantSettings:
        return self.settings.get(tenant, TenantSettings())

    def get_limits(self, tenant: str) -> TenantLimits:
        return self.get_settings(tenant).limits

    def known_actions(self, tenant: str) -> set[str]:
        return set(self.actions.get(tenant, set()))

    def add_actions(self, tenant: str, actions: set[str]) -> None:
        self.action_writes += 1
        self.actions.setdefault(tenant, set()).update(actions)


class FakeExports:
    """The ExportStore part the export workflow's steps use: exports and runs by key."""

    def __init__(self) -> None:
        self.exports: dict[tuple[str, str], Export] = {}
        self.runs: dict[tuple[str, str, str], RunRecord] = {}

    def get_export(self, tenant: str, export_id: str) -> Export | None:
        return self.exports.get((tenant, export_id))

    def put_run(self, tenant: str, run: RunRecord) -> None:
        self.runs[(tenant, run.export_id, run.id)] = run

    def get_run(self, tenant: str, export_id: str, run_id: str) -> RunRecord | None:
        return self.runs.get((tenant, export_id, run_id))

    def update_run(self, tenant: str, run: RunRecord, *, expected: Iterable[str]) -> bool:
        current = self.get_run(tenant, run.export_id, run.id)
        if current is None or current.status not in set(expected):
            return False
        self.put_run(tenant, run)
        return True


@dataclass(frozen=True)
class StoredFile:
    bytes: int
    sha256: str


class MemoryFiles:
    """WorkflowFiles in memory: each object's bytes by key."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def write(self, key: str, chunks: Iterable[bytes], *, content_type: str, gzip: bool) -> StoredFile:
        data = b"".join(chunks)
        self.objects[key] = gzip_module.compress(data) if gzip else data
        return StoredFile(bytes=len(self.objects[key]), sha256=hashlib.sha256(self.objects[key]).hexdigest())

    def read(self, key: str) -> Iterator[bytes]:
        yield self.objects[key]

    def delete_prefix(self, prefix: str) -> None:
        for key in [k for k in self.objects if k.startswith(prefix)]:
            del self.objects[key]


class FakeMailer:
    """The SES adapter's `send`: records messages, or refuses the first `fail` of them as SES would."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[tuple[list[str], str]] = []
        self.fail = fail

    def send(self, to: Sequence[str], subject: str, text: str, html: str) -> None:
        from activitylog.models.errors import MailNotSentError

        if self.fail > 0:
            self.fail -= 1
            raise MailNotSentError("the mail service refused the message (MessageRejected: not verified)")
        self.sent.append((list(to), subject))


class FakeSecret:
    """The signing secret's versions (dal/secrets.py `SigningKey.read`), counting reads per stage."""

    def __init__(self, current: bytes, previous: bytes | None = None) -> None:
        self.stages: dict[str, bytes | None] = {"AWSCURRENT": current, "AWSPREVIOUS": previous}
        self.reads: list[str] = []

    def rotate(self, new: bytes) -> None:
        self.stages = {"AWSCURRENT": new, "AWSPREVIOUS": self.stages["AWSCURRENT"]}

    def read(self, stage: str = "AWSCURRENT") -> bytes | None:
        self.reads.append(stage)
        return self.stages[stage]


class FakeDestinationStore:
    """Destinations, ledgers and replays in memory, with the conditions dal/destinations.py uses."""

    def __init__(self) -> None:
        from activitylog.models.destinations import DeliveryRecord, Replay, StoredDestination

        self.destinations: dict[tuple[str, str], StoredDestination] = {}
        self.deliveries: dict[tuple[str, str, str], tuple[DeliveryRecord, list[str]]] = {}
        self.markers: set[tuple[str, str, str, str]] = set()  # tenant, destination, received, delivery
        self.replays: dict[tuple[str, str, str], tuple[Replay, dict[str, Any] | None]] = {}
        self.fail_puts = 0  # the next n put_delivery calls raise

    @staticmethod
    def _copy(value: Any) -> Any:
        return value.model_copy(deep=True)

    # destinations
    def put_destination(self, tenant: str, destination: Any) -> None:
        key = (tenant, destination.settings.id)
        assert key not in self.destinations
        self.destinations[key] = self._copy(destination)

    def get_destination(self, tenant: str, destination_id: str) -> Any:
        found = self.destinations.get((tenant, destination_id))
        return self._copy(found) if found else None

    def list_destinations(self, tenant: str) -> list[Any]:
        return [self._copy(d) for (t, _), d in sorted(self.destinations.items()) if t == tenant]

    def save_destination(
        self, tenant: str, destination: Any, *, version: int, reset_state: bool = False
    ) -> None:
        from activitylog.models.errors import ConflictError

        current = self.destinations.get((tenant, destination.settings.id))
        if current is None or current.version != version:
            raise ConflictError("changed meanwhile")
        update: dict[str, Any] = {
            "settings": destination.settings,
            "secrets": destination.secrets,
            "version": version + 1,
        }
        if reset_state:
            update |= {"state": "active", "failing_since": None}
        self.destinations[(tenant, destination.settings.id)] = current.model_copy(update=update, deep=True)

    def delete_destination(self, tenant: str, destination_id: str) -> bool:
        return self.destinations.pop((tenant, destination_id), None) is not None

    def mark_delivered(self, tenant: str, destination_id: str, at: Any) -> None:
        d = self.destinations.get((tenant, destination_id))
        if d is not None and d.state != "disabled":
            d.state, d.last_delivered_at, d.failing_since = "active", at, None

    def mark_failing(self, tenant: str, destination_id: str, at: Any) -> Any:
        d = self.destinations.get((tenant, destination_id))
        if d is None or d.state == "disabled":
            return None
        d.state = "failing"
        d.failing_since = d.failing_since or at
        return d.failing_since

    def disable(self, tenant: str, destination_id: str, failing_since: Any) -> bool:
        d = self.destinations.get((tenant, destination_id))
        if d is None or d.state != "failing" or d.failing_since != failing_since:
            return False
        d.state = "disabled"
        return True

    # ledger
    def put_delivery(
        self,
        tenant: str,
        destination_id: str,
        record: Any,
        event_ids: list[str],
        *,
        now: Any,
        open_marker: bool = True,
    ) -> None:
        if self.fail_puts:
            self.fail_puts -= 1
            raise RuntimeError("the store is busy")
        self.deliveries[(tenant, destination_id, record.id)] = (self._copy(record), list(event_ids))
        if open_marker:
            self.open_marker(tenant, destination_id, record, now=now)

    def open_marker(self, tenant: str, destination_id: str, record: Any, *, now: Any) -> None:
        self.markers.add((tenant, destination_id, format_marker(record.oldest_received_at), record.id))

    def close_marker(self, tenant: str, destination_id: str, record: Any) -> None:
        self.markers.discard((tenant, destination_id, format_marker(record.oldest_received_at), record.id))

    def delete_delivery(self, tenant: str, destination_id: str, record: Any) -> None:
        self.deliveries.pop((tenant, destination_id, record.id), None)
        self.close_marker(tenant, destination_id, record)

    def get_delivery(self, tenant: str, destination_id: str, delivery_id: str) -> Any:
        found = self.deliveries.get((tenant, destination_id, delivery_id))
        return (self._copy(found[0]), list(found[1])) if found else None

    def save_delivery(self, tenant: str, destination_id: str, record: Any) -> None:
        key = (tenant, destination_id, record.id)
        if key in self.deliveries:
            self.deliveries[key] = (self._copy(record), self.deliveries[key][1])

    def list_deliveries(
        self, tenant: str, destination_id: str, *, limit: int, before: str | None
    ) -> tuple[list[Any], bool]:
        mine = sorted(
            (r for (t, d, i), (r, _) in self.deliveries.items() if (t, d) == (tenant, destination_id)),
            key=lambda r: r.id,
            reverse=True,
        )
        if before is not None:
            mine = [r for r in mine if r.id < before]
        return [self._copy(r) for r in mine[:limit]], len(mine) > limit

    def oldest_open(self, tenant: str, destination_id: str) -> Any:
        from activitylog.models.text import parse_time

        mine = sorted(m[2] for m in self.markers if m[:2] == (tenant, destination_id))
        return parse_time(mine[0]) if mine else None

    # replays
    def put_replay(self, tenant: str, destination_id: str, replay: Any, *, now: Any) -> None:
        self.replays[(tenant, destination_id, replay.id)] = (self._copy(replay), None)

    def get_replay(self, tenant: str, destination_id: str, replay_id: str) -> Any:
        found = self.replays.get((tenant, destination_id, replay_id))
        return (self._copy(found[0]), found[1]) if found else None

    def save_replay(
        self, tenant: str, destination_id: str, replay: Any, position: dict[str, Any] | None
    ) -> None:
        key = (tenant, destination_id, replay.id)
        if key in self.replays:
            self.replays[key] = (
                self._copy(replay),
                position if position is not None else self.replays[key][1],
            )


def format_marker(value: Any) -> str:
    from activitylog.models.text import format_time

    return format_time(value)


class FakeQueue:
    """The deliveries queue: what was sent, and sends that fail on demand."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.refuse: int = 0  # the next n bodies are not taken
        self.delays: list[tuple[str, int]] = []  # (receipt handle, seconds) of messages handed back

    def send(self, bodies: Sequence[str], *, delay_seconds: int = 0) -> set[int]:
        failed = set()
        for n, body in enumerate(bodies):
            if self.refuse:
                self.refuse -= 1
                failed.add(n)
            else:
                self.sent.append(body)
        return failed

    def delay(self, receipt_handle: str, seconds: int) -> None:
        self.delays.append((receipt_handle, seconds))


class FakeAlertStore:
    """Alerts, states, firings and preview continuations in memory, with dal/alerts.py's conditions:
    a state is written only at the version it was read (`conflicts`: the next n commits lose, as if
    another evaluator had written first), its firings with it or not at all."""

    def __init__(self) -> None:
        from activitylog.models.alerts import Alert, Firing, GroupState

        self.alerts: dict[tuple[str, str], tuple[Alert, int]] = {}
        self.states: dict[tuple[str, str, str, str | None], tuple[GroupState, int, set[str]]] = {}
        self.firings: dict[tuple[str, str, str], Firing] = {}
        self.previews: dict[tuple[str, str], bytes] = {}
        self.commits = 0  # transactions (or updates) written
        self.conflicts = 0  # the next n commits fail their condition
        self.on_commit: Any = None  # called before a commit is checked (a racing writer)

    def put_alert(self, tenant: str, alert: Any) -> None:
        assert (tenant, alert.id) not in self.alerts
        self.alerts[(tenant, alert.id)] = (alert.model_copy(update={"last_fired_at": None}), 0)

    def get_alert(self, tenant: str, alert_id: str) -> Any:
        found = self.alerts.get((tenant, alert_id))
        return (found[0].model_copy(deep=True), found[1]) if found else None

    def list_alerts(self, tenant: str) -> list[Any]:
        return [a.model_copy(deep=True) for (t, _), (a, _v) in sorted(self.alerts.items()) if t == tenant]

    def save_alert(self, tenant: str, alert: Any, *, version: int) -> None:
        from activitylog.models.errors import ConflictError

        current = self.alerts.get((tenant, alert.id))
        if current is None or current[1] != version:
            raise ConflictError("changed meanwhile")
        kept = alert.model_copy(update={"last_fired_at": current[0].last_fired_at})
        self.alerts[(tenant, alert.id)] = (kept, version + 1)

    def delete_alert(self, tenant: str, alert_id: str) -> bool:
        return self.alerts.pop((tenant, alert_id), None) is not None

    def mark_fired(self, tenant: str, alert_id: str, at: Any) -> None:
        found = self.alerts.get((tenant, alert_id))
        if found and (found[0].last_fired_at is None or found[0].last_fired_at < at):
            self.alerts[(tenant, alert_id)] = (found[0].model_copy(update={"last_fired_at": at}), found[1])

    def get_state(self, tenant: str, alert_id: str, rule: str, group: str | None) -> Any:
        found = self.states.get((tenant, alert_id, rule, group))
        return (found[0], found[1], sorted(found[2])) if found else (None, 0, [])

    def commit(
        self,
        tenant: str,
        alert_id: str,
        group: str | None,
        state: Any,
        *,
        version: int,
        firings: Any,
        now: Any,
    ) -> bool:
        from activitylog.models.alerts import firing_key

        if self.on_commit is not None:
            self.on_commit(tenant, alert_id, group)
        if self.conflicts:
            self.conflicts -= 1
            return False
        key = (tenant, alert_id, state.rule, group)
        current = self.states.get(key)
        if (current[1] if current else 0) != version:
            return False
        pending = set(current[2]) if current else set()
        pending |= {firing_key(f) for f in firings}
        self.states[key] = (state, version + 1, pending)
        for firing in firings:
            self.firings[(tenant, alert_id, firing_key(firing))] = firing
        self.commits += 1
        return True

    def finish_pending(
        self, tenant: str, alert_id: str, rule: str, group: str | None, keys: list[str]
    ) -> None:
        found = self.states.get((tenant, alert_id, rule, group))
        if found:
            self.states[(tenant, alert_id, rule, group)] = (found[0], found[1], found[2] - set(keys))

    def get_firing(self, tenant: str, alert_id: str, sort_key: str) -> Any:
        return self.firings.get((tenant, alert_id, sort_key))

    def list_firings(self, tenant: str, alert_id: str, *, limit: int, before: str | None) -> Any:
        keys = sorted((k for (t, a, k) in self.firings if t == tenant and a == alert_id), reverse=True)
        if before is not None:
            keys = [k for k in keys if k < before]
        page = keys[:limit]
        found = [self.firings[(tenant, alert_id, k)] for k in page]
        return found, (page[-1] if len(keys) > limit else None)

    def save_preview(self, tenant: str, preview_id: str, blob: bytes, *, now: Any) -> None:
        self.previews[(tenant, preview_id)] = blob

    def get_preview(self, tenant: str, preview_id: str) -> bytes | None:
        return self.previews.get((tenant, preview_id))


class FakeRollupStore:
    """dal/rollups.py's semantics: an hour is written only over an older computation; a dimension's
    groups come back only when stored with the same computation (and not too big)."""

    def __init__(self, *, max_groups: int | None = None) -> None:
        self.hours: dict[tuple[str, str, datetime], HourRollup] = {}
        self.sealed: dict[str, datetime] = {}
        self.late: dict[tuple[str, datetime], int] = {}
        self.jobs: dict[tuple[str, str], int] = {}
        self.writes = 0
        self.max_groups = max_groups  # a dimension with more groups is "too big" to store

    def put_hour(self, tenant: str, fp: str, rollup: HourRollup, *, expires: int) -> bool:
        key = (tenant, fp, rollup.hour)
        old = self.hours.get(key)
        if old is not None and old.as_of >= rollup.as_of:
            return False
        big = frozenset(
            d
            for d, c in rollup.tally.dims.items()
            if self.max_groups is not None and len(c) > self.max_groups
        )
        tally = copy.deepcopy(rollup.tally)
        for dimension in big:
            del tally.dims[dimension]
        self.hours[key] = HourRollup(rollup.hour, rollup.as_of, tally, rollup.meta_keys, big)
        self.writes += 1
        return True

    def get_hours(
        self, tenant: str, fp: str, start: datetime, end: datetime, *, dimensions: Iterable[str]
    ) -> dict[datetime, HourRollup]:
        wanted = list(dimensions)
        out = {}
        for (t, f, hour), rollup in self.hours.items():
            if t == tenant and f == fp and start <= hour < end:
                tally = copy.deepcopy(rollup.tally)
                tally.dims = {d: c for d, c in tally.dims.items() if d in wanted}
                if tally.total == 0:
                    tally.dims = {d: {} for d in wanted}
                tally.labels = {d: v for d, v in tally.labels.items() if d in wanted}
                out[hour] = HourRollup(hour, rollup.as_of, tally, rollup.meta_keys, rollup.too_big)
        return out

    def mark_late(self, tenant: str, hours: Any) -> None:
        for hour, received in hours.items():
            key = (tenant, hour)
            self.late[key] = max(self.late.get(key, 0), received)

    def late_marks(self, tenant: str, start: datetime, end: datetime) -> dict[datetime, int]:
        return {h: r for (t, h), r in self.late.items() if t == tenant and start <= h < end}

    def sealed_through(self, tenant: str) -> datetime | None:
        return self.sealed.get(tenant)

    def set_sealed_through(self, tenant: str, hour: datetime) -> None:
        if tenant not in self.sealed or self.sealed[tenant] < hour:
            self.sealed[tenant] = hour

    def claim_job(self, tenant: str, key: str, *, seconds: int, now: datetime) -> bool:
        epoch = int(now.timestamp())
        if self.jobs.get((tenant, key), 0) > epoch:
            return False
        self.jobs[(tenant, key)] = epoch + seconds
        return True

    def release_job(self, tenant: str, key: str) -> None:
        self.jobs[(tenant, key)] = 0
