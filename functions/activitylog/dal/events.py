"""The events table (docs/data-model.md).

Event item          pk=<tenant>#<id>   ts=<occurred>#<id>   exp=<expiry, epoch s>   d=<StoredEvent JSON>
                    tpk=<tenant>#<shard>                       -> index by_time
                    apk=<tenant>#<shard>#<h(actor id)>         -> index by_actor
                    xpk=<tenant>#<shard>#<action>              -> index by_action
                    gpk=<tenant>#<shard>#<h(type, id)>         -> index by_target (first target)
Extra target item   pk=<tenant>#<id>#<n>  gpk ts exp           (targets 2..10; only in by_target)

Every index shares the sort key `ts` and projects only `exp`, so one cursor position (a `ts`)
works for every index and a read costs one small index entry plus one BatchGetItem of the event.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from activitylog.dal.clients import client
from activitylog.dal.control_base import unavailable
from activitylog.dal.retry import Backoff
from activitylog.models.query import Dimension, IndexEntry, Stream

BATCH_WRITE = 25
BATCH_GET = 100
INDEX: dict[Dimension, tuple[str, str]] = {
    "time": ("by_time", "tpk"),
    "actor": ("by_actor", "apk"),
    "action": ("by_action", "xpk"),
    "target": ("by_target", "gpk"),
}
TS_MIN = "0"  # below every "<year>-..." sort key
TS_MAX = "~"  # above every "<year>-..." sort key


def digest(value: str) -> str:
    """A short, fixed-size stand-in for free-form ids inside keys (96 bits; reads re-check the value)."""
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8")).digest()[:12]).decode()


def target_value(target_type: str, target_id: str) -> str:
    return f"{target_type}\x1f{target_id}"


def shard_of(event_id: str, shard_count: int) -> int:
    return 0 if shard_count == 1 else hashlib.sha256(event_id.encode()).digest()[0] % shard_count


def event_pk(tenant: str, event_id: str) -> str:
    return f"{tenant}#{event_id}"


def index_pk(tenant: str, stream: Stream) -> str:
    base = f"{tenant}#{stream.shard}"
    if stream.dimension == "time":
        return base
    if stream.dimension == "action":
        return f"{base}#{stream.value}"
    return f"{base}#{digest(stream.value)}"


def main_pk(item_pk: str) -> str:
    """Extra target items point at their event: drop the `#<n>` suffix (ids never contain '#')."""
    tenant, event_id, *_ = item_pk.split("#")
    return f"{tenant}#{event_id}"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """What ingestion hands to the store for one event."""

    tenant: str
    event_id: str
    ts: str
    expires_epoch: int
    shard: int
    actor_id: str
    action: str
    targets: Sequence[tuple[str, str]]  # distinct (type, id) pairs
    document: str  # the StoredEvent as JSON


@dataclass(frozen=True, slots=True)
class IndexPage:
    entries: list[IndexEntry]
    last_ts: str | None  # where reading stopped when the stream has more (the filter may hide it)
    scanned: int


class EventStore(Protocol):
    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]: ...
    def put_events(self, records: Sequence[EventRecord]) -> set[str]: ...
    def query_index(
        self, tenant: str, stream: Stream, *, lo: str, hi: str, descending: bool, limit: int, now_s: int
    ) -> IndexPage: ...
    def count_index(
        self, tenant: str, stream: Stream, *, lo: str, hi: str, now_s: int
    ) -> tuple[int, str | None]: ...
    def get_documents(self, event_pks: Sequence[str]) -> dict[str, str]: ...


def to_items(record: EventRecord) -> list[dict[str, Any]]:
    tenant, shard = record.tenant, record.shard
    common = {"ts": {"S": record.ts}, "exp": {"N": str(record.expires_epoch)}}
    pk = event_pk(tenant, record.event_id)
    main: dict[str, Any] = {
        "pk": {"S": pk},
        **common,
        "tpk": {"S": index_pk(tenant, Stream("time", "", shard))},
        "apk": {"S": index_pk(tenant, Stream("actor", record.actor_id, shard))},
        "xpk": {"S": index_pk(tenant, Stream("action", record.action, shard))},
        "d": {"S": record.document},
    }
    items = [main]
    written: set[str] = set()
    for n, (t_type, t_id) in enumerate(record.targets):
        gpk = index_pk(tenant, Stream("target", target_value(t_type, t_id), shard))
        if gpk in written:  # two targets with one key (`\x1f` inside a type or id): one entry, or
            continue  # the event would be listed and counted twice under it
        written.add(gpk)
        if n == 0:
            main["gpk"] = {"S": gpk}
        else:
            items.append({"pk": {"S": f"{pk}#{n}"}, **common, "gpk": {"S": gpk}})
    return items


class DynamoEventStore:
    def __init__(self, table_name: str, dynamodb: Any = None, backoff: Backoff | None = None) -> None:
        self._table = table_name
        self._client = dynamodb
        self._backoff = backoff or Backoff()

    @property
    def _ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    # --- writes ------------------------------------------------------------------------------
    def existing_ids(self, tenant: str, event_ids: Iterable[str]) -> set[str]:
        """Which ids are already stored (strongly consistent; reads only the key attribute)."""
        keys = [{"pk": {"S": event_pk(tenant, i)}} for i in dict.fromkeys(event_ids)]
        found: set[str] = set()
        for start in range(0, len(keys), BATCH_GET):
            request = {
                self._table: {
                    "Keys": keys[start : start + BATCH_GET],
                    "ConsistentRead": True,
                    "ProjectionExpression": "pk",
                }
            }
            for item in self._batch_get(request):
                found.add(item["pk"]["S"].split("#", 1)[1])
        return found

    def put_events(self, records: Sequence[EventRecord]) -> set[str]:
        """Store events; return the ids of those that could not be stored after every retry.

        Extra target items of an event are written before its main item: an event is only ever
        reported stored when its main item is, and an index entry without its event is skipped
        by reads (and rewritten by the client's retry).
        """
        failed: set[str] = set()
        built = [(r.event_id, to_items(r)) for r in records]  # once: each item hashes 2-3 keys
        failed |= self._write([(event_id, item) for event_id, items in built for item in items[1:]])
        failed |= self._write([(event_id, items[0]) for event_id, items in built if event_id not in failed])
        return failed

    def _write(self, pending: list[tuple[str, dict[str, Any]]]) -> set[str]:
        failed: set[str] = set()
        for start in range(0, len(pending), BATCH_WRITE):
            chunk = pending[start : start + BATCH_WRITE]
            owner = {item["pk"]["S"]: event_id for event_id, item in chunk}
            left = [{"PutRequest": {"Item": item}} for _, item in chunk]
            delays = self._backoff.delays()
            while left:
                try:
                    answer = self._ddb.batch_write_item(RequestItems={self._table: left})
                    left = answer.get("UnprocessedItems", {}).get(self._table, [])
                except ClientError as err:
                    if unavailable(err) is err:
                        raise
                    # Throttled as a whole (after the SDK's retries): back off, then retry all of it.
                delay = next(delays, None) if left else None
                if left and delay is None:
                    failed |= {owner[req["PutRequest"]["Item"]["pk"]["S"]] for req in left}
                    break
                if delay is not None:
                    self._backoff.sleep(delay)
        return failed

    # --- reads -------------------------------------------------------------------------------
    def query_index(
        self, tenant: str, stream: Stream, *, lo: str, hi: str, descending: bool, limit: int, now_s: int
    ) -> IndexPage:
        index, attr = INDEX[stream.dimension]
        try:
            answer = self._ddb.query(
                TableName=self._table,
                IndexName=index,
                KeyConditionExpression="#p = :p AND ts BETWEEN :lo AND :hi",
                FilterExpression="#e > :now",
                ExpressionAttributeNames={"#p": attr, "#e": "exp"},
                ExpressionAttributeValues={
                    ":p": {"S": index_pk(tenant, stream)},
                    ":lo": {"S": lo},
                    ":hi": {"S": hi},
                    ":now": {"N": str(now_s)},
                },
                ScanIndexForward=not descending,
                Limit=limit,
            )
        except ClientError as err:
            raise unavailable(err) from err
        entries = [IndexEntry(ts=i["ts"]["S"], event_pk=main_pk(i["pk"]["S"])) for i in answer["Items"]]
        last = answer.get("LastEvaluatedKey")
        return IndexPage(
            entries=entries,
            last_ts=last["ts"]["S"] if last else None,
            scanned=answer.get("ScannedCount", 0),
        )

    def count_index(
        self, tenant: str, stream: Stream, *, lo: str, hi: str, now_s: int
    ) -> tuple[int, str | None]:
        """Count one page (up to 1 MB read) of a stream in ascending order; return the last ts read."""
        index, attr = INDEX[stream.dimension]
        try:
            answer = self._ddb.query(
                TableName=self._table,
                IndexName=index,
                Select="COUNT",
                KeyConditionExpression="#p = :p AND ts BETWEEN :lo AND :hi",
                FilterExpression="#e > :now",
                ExpressionAttributeNames={"#p": attr, "#e": "exp"},
                ExpressionAttributeValues={
                    ":p": {"S": index_pk(tenant, stream)},
                    ":lo": {"S": lo},
                    ":hi": {"S": hi},
                    ":now": {"N": str(now_s)},
                },
            )
        except ClientError as err:
            raise unavailable(err) from err
        last = answer.get("LastEvaluatedKey")
        return answer["Count"], (last["ts"]["S"] if last else None)

    def get_documents(self, event_pks: Sequence[str]) -> dict[str, str]:
        keys = [{"pk": {"S": pk}} for pk in dict.fromkeys(p for p in event_pks if p)]
        found: dict[str, str] = {}
        for start in range(0, len(keys), BATCH_GET):
            request = {
                self._table: {"Keys": keys[start : start + BATCH_GET], "ProjectionExpression": "pk, d"}
            }
            for item in self._batch_get(request):
                found[item["pk"]["S"]] = item["d"]["S"]
        return found

    def _batch_get(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        delays = self._backoff.delays()
        while request:
            try:
                answer = self._ddb.batch_get_item(RequestItems=request)
            except ClientError as err:
                raise unavailable(err) from err
            items.extend(answer.get("Responses", {}).get(self._table, []))
            request = answer.get("UnprocessedKeys") or {}
            if request:
                delay = next(delays, None)
                if delay is None:
                    raise unavailable(ClientError({"Error": {"Code": "ThrottlingException"}}, "BatchGetItem"))
                self._backoff.sleep(delay)
        return items
