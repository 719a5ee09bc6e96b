"""An in-memory DynamoDB behind a real boto3 client, billed as DynamoDB bills, with a stated latency.

The client is boto3's own: the production DAL's requests are serialised, signed and their answers
parsed by botocore as on AWS; only the HTTP exchange is replaced (botocore's `before-send` hook,
as moto does), by this table. It answers the operations the events store and the rollup table use
(Query on the table or a GSI with `BETWEEN`, a `>` filter, Limit, ExclusiveStartKey and DynamoDB's
1 MB page; GetItem; BatchGetItem with a projection; PutItem and UpdateItem with the conditions
`attribute_not_exists(x)`, `a < :v`, joined by OR), and bills each request:

- writes: 1 unit per started KB of the larger of the item before and after (an update is billed on
  the whole item), a conditional write whose condition fails too;
- reads: 0.5 unit per started 4 KB (1 when consistent): a Query on the summed size of the items it
  read (before its filter; for a GSI, the entries' projected attributes), at least one; a GetItem
  and each item of a BatchGetItem on its own size (the whole item, whatever the projection).

Sizes are names + values (a number: one byte per two digits + 1; binary: its bytes).

`Latency` is the time each request is answered after: `base_ms` + `per_mb_ms` per MB of the
answer (a sleep, so parallel requests overlap as they do on AWS). It is a stated assumption, not a
measurement of DynamoDB.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

PAGE_BYTES = 1024 * 1024  # a Query page ends after 1 MB read
MB = 1024 * 1024


@dataclass(frozen=True)
class Latency:
    base_ms: float = 0.0
    per_mb_ms: float = 0.0

    def seconds(self, answer_bytes: int) -> float:
        return (self.base_ms + self.per_mb_ms * answer_bytes / MB) / 1000


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    (kind, raw), *_ = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(base64.b64decode(raw))
    if kind in ("BOOL", "NULL"):
        return 1
    raise ValueError(f"unsized DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items()) if item else 0


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


class _Raw(BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


@dataclass
class _Index:
    hash_attr: str
    range_attr: str | None
    projected: tuple[str, ...] = ()  # besides the keys (INCLUDE); empty and `all`: every attribute
    all: bool = False
    parts: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class Table:
    hash_attr: str
    range_attr: str | None
    indexes: dict[str, _Index] = field(default_factory=dict)
    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    base: _Index = field(init=False)

    def __post_init__(self) -> None:
        self.base = _Index(self.hash_attr, self.range_attr, all=True)

    def key_of(self, item: dict[str, Any]) -> tuple[str, str]:
        return item[self.hash_attr]["S"], item[self.range_attr]["S"] if self.range_attr else ""

    def put(self, item: dict[str, Any]) -> dict[str, Any] | None:
        key = self.key_of(item)
        before = self.items.get(key)
        if before is not None:
            self._unindex(before, key)
        self.items[key] = item
        for index in (self.base, *self.indexes.values()):
            if index.hash_attr in item and (index.range_attr is None or index.range_attr in item):
                sort = item[index.range_attr]["S"] if index.range_attr else ""
                bisect.insort(index.parts[item[index.hash_attr]["S"]], (sort, "\x00".join(key)))
        return before

    def _unindex(self, item: dict[str, Any], key: tuple[str, str]) -> None:
        for index in (self.base, *self.indexes.values()):
            if index.hash_attr in item:
                sort = item[index.range_attr]["S"] if index.range_attr else ""
                rows = index.parts[item[index.hash_attr]["S"]]
                rows.pop(bisect.bisect_left(rows, (sort, "\x00".join(key))))

    def entry(self, index: _Index, item: dict[str, Any]) -> dict[str, Any]:
        if index.all:
            return item
        keep = {self.hash_attr, index.hash_attr, *index.projected}
        keep |= {a for a in (self.range_attr, index.range_attr) if a}
        return {k: v for k, v in item.items() if k in keep}


_BETWEEN = re.compile(r"^(\S+) = (:\w+) AND (\S+) BETWEEN (:\w+) AND (:\w+)$")
_COMPARE = re.compile(r"^(\S+) (<|>) (:\w+)$")
_NOT_EXISTS = re.compile(r"^attribute_not_exists\((\S+)\)$")
_SET = re.compile(r"^SET (.+)$")


def _value(v: dict[str, Any]) -> Any:
    return int(v["N"]) if "N" in v else v.get("S")


def _holds(
    condition: str, item: dict[str, Any] | None, names: dict[str, str], values: dict[str, Any]
) -> bool:
    """`term OR term ...`, each `attribute_not_exists(a)` or `a < :v` / `a > :v`."""
    for term in condition.split(" OR "):
        term = term.strip()
        if m := _NOT_EXISTS.match(term):
            if item is None or names.get(m[1], m[1]) not in item:
                return True
        elif m := _COMPARE.match(term):
            attr = names.get(m[1], m[1])
            if item is not None and attr in item:
                a, b = _value(item[attr]), _value(values[m[3]])
                if (a < b) if m[2] == "<" else (a > b):
                    return True
        else:
            raise ValueError(f"condition not understood by the stub: {term}")
    return False


class WireDynamo:
    """Tables in memory, a boto3 client that reaches them, and the bill of what it was asked."""

    def __init__(self, latency: Latency | None = None) -> None:
        import boto3

        self.latency = latency or Latency()
        self.tables: dict[str, Table] = {}
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.read_units: defaultdict[str, float] = defaultdict(float)
        self.write_units: defaultdict[str, float] = defaultdict(float)
        self.put_sizes: list[tuple[str, int, bool]] = []  # (kind, item size, written)
        self.answer_bytes = 0
        self.keys_read = 0  # BatchGetItem keys
        self.client = boto3.session.Session().client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106
        )
        self.client.meta.events.register("before-send.dynamodb", self._send)

    def clear(self) -> None:
        self.requests.clear()
        self.read_units.clear()
        self.write_units.clear()
        self.put_sizes.clear()
        self.answer_bytes = 0
        self.keys_read = 0

    def create(self, name: str, hash_attr: str, range_attr: str | None = None, **indexes: _Index) -> Table:
        self.tables[name] = Table(hash_attr, range_attr, dict(indexes))
        return self.tables[name]

    @staticmethod
    def index(hash_attr: str, range_attr: str, projected: tuple[str, ...] = ()) -> _Index:
        return _Index(hash_attr, range_attr, projected)

    # --- the wire ---------------------------------------------------------------------------------
    def _send(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = request.headers["X-Amz-Target"].decode().split(".", 1)[1]
        body = json.loads(request.body)
        with self._lock:
            self.requests[operation] += 1
            status, answer = getattr(self, "_" + operation)(body)
        raw = json.dumps(answer).encode()
        self.answer_bytes += len(raw)
        pause = self.latency.seconds(len(raw))
        if pause > 0:
            time.sleep(pause)
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "bench"}
        return AWSResponse(request.url, status, headers, _Raw(raw))

    @staticmethod
    def _error(code: str) -> tuple[int, dict[str, Any]]:
        return 400, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code}

    # --- operations -------------------------------------------------------------------------------
    def _Query(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = self.tables[body["TableName"]]
        index = table.indexes[body["IndexName"]] if "IndexName" in body else table.base
        names, values = body.get("ExpressionAttributeNames", {}), body["ExpressionAttributeValues"]
        m = _BETWEEN.match(body["KeyConditionExpression"])
        if m is None:
            raise ValueError(f"key condition not understood by the stub: {body['KeyConditionExpression']}")
        part, lo, hi = values[m[2]]["S"], values[m[4]]["S"], values[m[5]]["S"]
        rows = index.parts.get(part, [])
        forward = body.get("ScanIndexForward", True)
        start = body.get("ExclusiveStartKey")
        if forward:
            first = bisect.bisect_left(rows, (lo, ""))
            if start is not None:
                first = bisect.bisect_right(
                    rows, (start[index.range_attr]["S"], "\x00".join(table.key_of(start)))
                )
            picked = (rows[i] for i in range(first, len(rows)) if rows[i][0] <= hi)
        else:
            last = bisect.bisect_right(rows, (hi, "\uffff"))
            if start is not None:
                last = bisect.bisect_left(
                    rows, (start[index.range_attr]["S"], "\x00".join(table.key_of(start)))
                )
            picked = (rows[i] for i in range(last - 1, -1, -1) if rows[i][0] >= lo)
        limit = body.get("Limit")
        read: list[dict[str, Any]] = []
        size = 0
        more = False
        for _sort, key in picked:
            if (limit is not None and len(read) >= limit) or size >= PAGE_BYTES:
                more = True
                break
            entry = table.entry(index, table.items[tuple(key.split("\x00"))])  # type: ignore[index]
            read.append(entry)
            size += item_size(entry)
        if not more and limit is not None and len(read) == limit:
            more = True  # DynamoDB answers LastEvaluatedKey whenever a page stopped at Limit
        kept = read
        if "FilterExpression" in body:
            kept = [i for i in read if _holds(body["FilterExpression"], i, names, values)]
        self.read_units["Query"] += read_units(size, bool(body.get("ConsistentRead")))
        answer: dict[str, Any] = {"Count": len(kept), "ScannedCount": len(read)}
        if body.get("Select") != "COUNT":
            answer["Items"] = kept
        if more and read:
            keys = {table.hash_attr, index.hash_attr, *(a for a in (table.range_attr, index.range_attr) if a)}
            answer["LastEvaluatedKey"] = {k: v for k, v in read[-1].items() if k in keys}
        return 200, answer

    def _GetItem(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = self.tables[body["TableName"]]
        item = table.items.get(table.key_of(body["Key"]))
        self.read_units["GetItem"] += read_units(item_size(item), bool(body.get("ConsistentRead")))
        return 200, ({"Item": item} if item else {})

    def _BatchGetItem(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        responses: dict[str, list[dict[str, Any]]] = {}
        for name, request in body["RequestItems"].items():
            table = self.tables[name]
            wanted = (
                {a.strip() for a in request["ProjectionExpression"].split(",")}
                if "ProjectionExpression" in request
                else None
            )
            out = responses.setdefault(name, [])
            for key in request["Keys"]:
                self.keys_read += 1
                item = table.items.get(table.key_of(key))
                self.read_units["BatchGetItem"] += read_units(
                    item_size(item), bool(request.get("ConsistentRead"))
                )
                if item is not None:
                    out.append({k: v for k, v in item.items() if wanted is None or k in wanted})
        return 200, {"Responses": responses, "UnprocessedKeys": {}}

    def _write(
        self, table: Table, before: dict[str, Any] | None, after: dict[str, Any], ok: bool, op: str
    ) -> None:
        pk = after[table.hash_attr]["S"]
        if not table.range_attr:
            kind = "event"
        else:  # a rollup item: its dimension (`n`: the totals); else the sort key's kind
            kind = pk.rsplit("#", 1)[-1] if "#RU#" in pk else after[table.range_attr]["S"].split("#", 1)[0]
        self.write_units[op] += write_units(max(item_size(before), item_size(after)))
        self.put_sizes.append((kind, item_size(after), ok))

    def _PutItem(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = self.tables[body["TableName"]]
        item = body["Item"]
        before = table.items.get(table.key_of(item))
        names, values = body.get("ExpressionAttributeNames", {}), body.get("ExpressionAttributeValues", {})
        ok = "ConditionExpression" not in body or _holds(body["ConditionExpression"], before, names, values)
        self._write(table, before, item, ok, "PutItem")
        if not ok:
            return self._error("ConditionalCheckFailedException")
        table.put(item)
        return 200, {}

    def _UpdateItem(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        table = self.tables[body["TableName"]]
        key = body["Key"]
        before = table.items.get(table.key_of(key))
        names, values = body.get("ExpressionAttributeNames", {}), body.get("ExpressionAttributeValues", {})
        m = _SET.match(body["UpdateExpression"])
        if m is None:
            raise ValueError(f"update not understood by the stub: {body['UpdateExpression']}")
        after = dict(before or key)
        for clause in m[1].split(","):
            name, value = (s.strip() for s in clause.split("="))
            after[names.get(name, name)] = values[value]
        ok = "ConditionExpression" not in body or _holds(body["ConditionExpression"], before, names, values)
        self._write(table, before, after, ok, "UpdateItem")
        if not ok:
            return self._error("ConditionalCheckFailedException")
        table.put(after)
        return 200, {}
