"""The events table (docs/data-model.md).

Event item          pk=<tenant>#<id>   ts=<occurred>#<id>   exp=<expiry, epoch s>   d=<StoredEvent JSON>
                    tpk=<tenant>#<shard>                       -> index by_time
                    apk=<tenant>#<shard>#<h(actor id)>         -> index by_actor
                    xpk=<tenant>#<shard>#<action>              -> index by_action
                    gpk=<tenant>#<shard>#<h(type, id)>         -> index by_target (first target)
Extra target item   pk=<tenant>#<id>#<n>  gpk ts exp           (targets 2..10; only in by_target)
Late-arrival item   pk=<tenant>#<id>#r  tpk=<tenant>#<shard>#r  ts=<received>#<id>  exp
                    (an event received more than an hour after it occurred; only in by_time)

Every index shares the sort key `ts` and projects only `exp`, so one cursor position (a `ts`)
works for every index and a read costs one small index entry plus one BatchGetItem of the event.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.clients import ClientOf
from activitylog.dal.retry import Backoff
from activitylog.models.query import (
    Dimension,
    EventRecord,
    IndexEntry,
    IndexPage,
    IndexRead,
    Stream,
    TimeWindow,
    WriteOutcome,
    target_value,
)
from activitylog.models.text import format_time

# Concurrent conditional writes of one batch (a batch is at most 100 events): DynamoDB's latency,
# not the function's CPU, bounds a write, so threads overlap the round trips.
WRITE_THREADS = 16
BATCH_GET = 100
INDEX: dict[Dimension, tuple[str, str]] = {
    "time": ("by_time", "tpk"),
    "actor": ("by_actor", "apk"),
    "action": ("by_action", "xpk"),
    "target": ("by_target", "gpk"),
    "received": ("by_time", "tpk"),  # the late events' partitions: `<tenant>#<shard>#r`
}
TS_MIN = "0"  # below every "<year>-..." sort key
TS_MAX = "~"  # above every "<year>-..." sort key
_ABOVE_TS_CHARS = "~"  # above every character of a stored `ts` (digits, "-:.TZ#", id characters)


# Reading strictly beyond a position. A Query's sort-key condition is one `BETWEEN lo AND hi`
# (inclusive at both ends; DynamoDB has no two-sided condition with an exclusive end), so a read
# that goes on from a position -- the cursor's, or where DynamoDB stopped a page -- gets an
# exclusive bound derived from that position instead of re-reading the entry there and skipping it.
# Why not `ExclusiveStartKey`: on an index it must hold the index keys and the table key `pk` of an
# item, DynamoDB documents only a previous `LastEvaluatedKey` as a valid value, and it refuses a
# start key outside the key condition; a merged read goes on from the cursor's position in every
# stream, and only one stream (at most) holds that entry. Bounds need no item, only the format.


def after(ts: str) -> str:
    """The smallest string above `ts`: `BETWEEN after(p) AND hi` means `p < ts <= hi`, exactly.

    DynamoDB compares `S` sort keys by their UTF-8 bytes, and U+0000 is the byte 0x00, below every
    other one, so no string lies strictly between `p` and `p + "\\x00"` (true for any `p`).
    """
    return ts + "\x00"


def before(ts: str) -> str:
    """A bound for which `BETWEEN lo AND before(p)` means `lo <= ts < p` for every stored `ts`.

    Below a string there is in general no greatest string (below "b" lie "a", "az", "azz", ...),
    so this relies on the sort key's format, `<24-char time>#<event id>` with ids of
    `[A-Za-z0-9._:-]`: no character of a stored `ts` is above "z". The bound is `p` with its last
    character lowered by one and "~" appended. It is below `p`, and a stored `ts` below `p` is
    below it too: such a `ts` is a prefix of `p`, or first differs from `p` at an earlier
    character (lower there), or at the last one (lower there, and if lower by exactly one, its
    next character is an id character, below "~"). No stored `ts` contains "~", so none equals it.
    `p` is always a stored `ts`: one DynamoDB returned, or a cursor's position, which
    `cursor.position_ts` only accepts in this format.
    """
    return ts[:-1] + chr(ord(ts[-1]) - 1) + _ABOVE_TS_CHARS


def key_range(window: TimeWindow, position: str | None, *, descending: bool) -> tuple[str, str] | None:
    """The `BETWEEN lo AND hi` of a read of `window` strictly beyond `position` in the read
    direction; None when nothing can be in range (DynamoDB refuses BETWEEN with lo > hi)."""
    lo = format_time(window.start) if window.start else TS_MIN
    hi = format_time(window.end) if window.end else TS_MAX  # `end` is a prefix of its ts: excluded
    if position is not None:
        lo, hi = (lo, min(hi, before(position))) if descending else (max(lo, after(position)), hi)
    return (lo, hi) if lo <= hi else None


def digest(value: str) -> str:
    """A short, fixed-size stand-in for free-form ids inside keys (96 bits; reads re-check the value)."""
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode("utf-8")).digest()[:12]).decode()


def event_pk(tenant: str, event_id: str) -> str:
    return f"{tenant}#{event_id}"


def index_pk(tenant: str, stream: Stream) -> str:
    base = f"{tenant}#{stream.shard}"
    if stream.dimension == "time":
        return base
    if stream.dimension == "received":
        return f"{base}#r"
    if stream.dimension == "action":
        return f"{base}#{stream.value}"
    return f"{base}#{digest(stream.value)}"


def main_pk(item_pk: str) -> str:
    """Extra target items point at their event: drop the `#<n>` suffix (ids never contain '#')."""
    tenant, event_id, *_ = item_pk.split("#")
    return f"{tenant}#{event_id}"


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
    if record.received_ts is not None:  # a late event: found by received time too (replays)
        items.append(
            {
                "pk": {"S": f"{pk}#r"},
                "ts": {"S": record.received_ts},
                "exp": common["exp"],
                "tpk": {"S": index_pk(tenant, Stream("received", "", shard))},
            }
        )
    return items


class DynamoEventStore:
    def __init__(self, table_name: str, dynamodb: Any = None, backoff: Backoff | None = None) -> None:
        self._table = table_name
        self._client = dynamodb
        self._backoff = backoff or Backoff()

    _ddb = ClientOf("dynamodb")

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

    def put_events(self, records: Sequence[EventRecord]) -> WriteOutcome:
        """Store new events; the first write of an id wins, atomically, whatever the concurrency.

        An event without extra target items is one conditional PutItem (`attribute_not_exists(pk)`,
        1 write unit, as in a batch write); one with extra target items is one TransactWriteItems of
        its main item (with that condition) and its extra items, so a copy that loses writes none
        of them: no index item of a losing copy is ever left (2 write units per item, for events
        with 2 or more targets, or late, only). Writes run concurrently (WRITE_THREADS), each retried with
        backoff when DynamoDB is busy.
        """
        built = [(r.event_id, to_items(r)) for r in records]  # once: each item hashes 2-3 keys
        if not built:
            return WriteOutcome()
        if len(built) == 1:  # batch 1, the hot path of single-event producers: no thread to start
            outcomes = [(built[0][0], self._put_first(built[0][1]))]
        else:
            with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(built))) as pool:
                outcomes = list(pool.map(lambda b: (b[0], self._put_first(b[1])), built))
        return WriteOutcome(
            failed=frozenset(i for i, o in outcomes if o == "failed"),
            taken=frozenset(i for i, o in outcomes if o == "taken"),
        )

    def _put_first(self, items: list[dict[str, Any]]) -> str:
        """`stored`, `taken` (the id exists: another write won) or `failed` (busy after every retry)."""
        main, extras = items[0], items[1:]
        first = {"ConditionExpression": "attribute_not_exists(pk)"}
        delays = self._backoff.delays()
        while True:
            try:
                if extras:
                    puts = [{"Put": {"TableName": self._table, "Item": main, **first}}]
                    puts += [{"Put": {"TableName": self._table, "Item": item}} for item in extras]
                    self._ddb.transact_write_items(TransactItems=puts)
                else:
                    self._ddb.put_item(TableName=self._table, Item=main, **first)
                return "stored"
            except ClientError as err:
                reasons = [r.get("Code") for r in err.response.get("CancellationReasons", [])]
                if (
                    errors.code(err) == "ConditionalCheckFailedException"
                    or "ConditionalCheckFailed" in reasons
                ):
                    return "taken"
                busy = errors.is_busy(err) or errors.code(err) == "TransactionConflictException"
                busy = busy or bool({"TransactionConflict", "ThrottlingError"} & set(reasons))
                if not busy:
                    raise
            delay = next(delays, None)
            if delay is None:
                return "failed"
            self._backoff.sleep(delay)

    # --- reads -------------------------------------------------------------------------------
    def query_index(self, tenant: str, stream: Stream, read: IndexRead) -> IndexPage:
        bounds = key_range(read.window, read.after, descending=read.descending)
        if bounds is None:
            return IndexPage(entries=[], last_ts=None, scanned=0)
        lo, hi = bounds
        return self.query_between(
            tenant, stream, lo=lo, hi=hi, descending=read.descending, limit=read.limit, now_s=read.now_s
        )

    def query_between(
        self, tenant: str, stream: Stream, *, lo: str, hi: str, descending: bool, limit: int, now_s: int
    ) -> IndexPage:
        """One Query of `lo <= ts <= hi` (the sort-key condition as DynamoDB takes it)."""
        answer = self._query(tenant, stream, lo, hi, now_s, ScanIndexForward=not descending, Limit=limit)
        entries = [IndexEntry(ts=i["ts"]["S"], event_pk=main_pk(i["pk"]["S"])) for i in answer["Items"]]
        last = answer.get("LastEvaluatedKey")
        return IndexPage(
            entries=entries,
            last_ts=last["ts"]["S"] if last else None,
            scanned=answer.get("ScannedCount", 0),
        )

    def count_index(self, tenant: str, stream: Stream, read: IndexRead) -> tuple[int, str | None]:
        """Count one page (up to 1 MB read) of a stream in ascending order; return the last ts read."""
        bounds = key_range(read.window, read.after, descending=False)
        if bounds is None:
            return 0, None
        answer = self._query(tenant, stream, bounds[0], bounds[1], read.now_s, Select="COUNT")
        last = answer.get("LastEvaluatedKey")
        return answer["Count"], (last["ts"]["S"] if last else None)

    def _query(self, tenant: str, stream: Stream, lo: str, hi: str, now_s: int, **extra: Any) -> Any:
        index, attr = INDEX[stream.dimension]
        try:
            return self._ddb.query(
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
                **extra,
            )
        except ClientError as err:
            raise errors.unavailable(err) from err

    def event_key(self, tenant: str, event_id: str) -> str:
        return event_pk(tenant, event_id)

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
                raise errors.unavailable(err) from err
            items.extend(answer.get("Responses", {}).get(self._table, []))
            request = answer.get("UnprocessedKeys") or {}
            if request:
                delay = next(delays, None)
                if delay is None:
                    raise errors.busy("the data store")
                self._backoff.sleep(delay)
        return items
