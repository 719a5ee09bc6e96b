"""Hourly rollups in the control table (docs/reports.md).

  totals   pk=TENANT#<t>#RU#<fp>#n       sk=<hour>  n  q=<4 quarter totals>  mn mx  as  mk  big  d  exp
           (d: every dimension's groups, zlib JSON, when that is at most 700 bytes: a quiet hour is one item)
  groups   pk=TENANT#<t>#RU#<fp>#<dim>   sk=<hour>  c=<zlib JSON counts>  l=<zlib JSON labels>  as  exp
  late     pk=TENANT#<t>#RULATE            sk=<hour>  r=<latest received ms of its late events>  exp
  sealed   pk=TENANT#<t>                 sk=RUSEALED  h=<the last hour a seal computed>
  job      pk=TENANT#<t>                 sk=RUJOB#<key>  exp   (a report's background work, asked once)

`fp` is "-" for the tenant's own rollups, a filter's digest for a report's background work. One
partition per (tenant, filter, dimension): a report reads only the dimensions it needs, each with
one Query per segment of its range (in parallel). An hour's items are one computation (`as`, its
`as_of`): the groups are written before the totals, each only over an older computation, and a
reader takes a dimension's groups only when they carry the totals' `as`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from activitylog.dal import errors
from activitylog.dal.control_base import ABSENT, ControlBase, tenant_pk
from activitylog.models.reports import HourRollup, Tally
from activitylog.models.text import format_time, parse_time

NEWER = "attribute_not_exists(pk) OR #as < :as"
INLINE_BYTES = 700  # an hour's groups this small are kept in its totals item (a 1 KB write)
MAX_GROUP_BYTES = 300_000  # a dimension's compressed groups above this are not stored (items <= 400 KB)
SEGMENTS = 8  # parallel Queries of one dimension's range
SEALED_SK = "RUSEALED"
LATE_MARK_SECONDS = 3661 * 86_400  # a late mark outlives any rollup it may concern (retention <= 3650 days)


def _pk(tenant: str, fp: str, part: str) -> str:
    return f"{tenant_pk(tenant)}#RU#{fp or '-'}#{part}"


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), 6)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


def _late_pk(tenant: str) -> str:
    return f"{tenant_pk(tenant)}#RULATE"


def _sk(hour: datetime) -> str:
    return format_time(hour)


class RollupTable(ControlBase):
    def put_hour(self, tenant: str, fp: str, rollup: HourRollup, *, expires: int) -> bool:
        tally, stamp = rollup.tally, {"N": str(rollup.as_of)}
        common = {"sk": {"S": _sk(rollup.hour)}, "as": stamp, "exp": {"N": str(expires)}}
        totals: dict[str, Any] = {
            "pk": {"S": _pk(tenant, fp, "n")},
            **common,
            "n": {"N": str(tally.total)},
            "q": {"S": ",".join(str(q) for q in tally.quarters)},
        }
        if tally.min_expiry is not None and tally.max_expiry is not None:
            totals |= {"mn": {"N": str(tally.min_expiry)}, "mx": {"N": str(tally.max_expiry)}}
        if rollup.meta_keys:
            totals["mk"] = {"S": json.dumps(sorted(rollup.meta_keys))}
        groups = {
            d: [c, {k: list(v) for k, v in tally.labels.get(d, {}).items()}] for d, c in tally.dims.items()
        }
        inline = _pack(groups)
        if len(inline) <= INLINE_BYTES:
            # A quiet hour: every dimension in the totals item (one item, one write unit, one read).
            totals["d"] = {"B": inline}
            return self._put_newer(totals, stamp)
        too_big: list[str] = []
        for dimension, (counts, labels) in groups.items():
            item: dict[str, Any] = {"pk": {"S": _pk(tenant, fp, dimension)}, **common}
            blob = _pack(counts)
            label_blob = _pack(labels) if labels else b""  # key -> [at, label]
            if len(blob) + len(label_blob) > MAX_GROUP_BYTES:
                too_big.append(dimension)
                item["big"] = {"BOOL": True}
            else:
                item["c"] = {"B": blob}
                if label_blob:
                    item["l"] = {"B": label_blob}
            self._put_newer(item, stamp)
        if too_big:
            totals["big"] = {"S": json.dumps(sorted(too_big))}
        return self._put_newer(totals, stamp)

    def _put_newer(self, item: dict[str, Any], stamp: dict[str, str]) -> bool:
        answer = self._conditional(
            self._ddb.put_item,
            Item=item,
            ConditionExpression=NEWER,
            ExpressionAttributeNames={"#as": "as"},
            ExpressionAttributeValues={":as": stamp},
        )
        return answer is not None

    def get_hours(
        self, tenant: str, fp: str, start: datetime, end: datetime, *, dimensions: Iterable[str]
    ) -> dict[datetime, HourRollup]:
        wanted = list(dict.fromkeys(dimensions))
        parts = ["n", *wanted]
        with ThreadPoolExecutor(max_workers=min(16, SEGMENTS * len(parts))) as pool:
            jobs = {
                (part, lo): pool.submit(self._query, _pk(tenant, fp, part), lo, hi)
                for part in parts
                for lo, hi in _segments(start, end)
            }
            items: dict[str, dict[str, dict[str, Any]]] = {part: {} for part in parts}
            for (part, _), job in jobs.items():
                for found_item in job.result():
                    items[part][found_item["sk"]["S"]] = found_item
        found: dict[datetime, HourRollup] = {}
        for sk, totals in items["n"].items():
            as_of = int(totals["as"]["N"])
            tally = Tally(
                total=int(totals["n"]["N"]),
                quarters=[int(q) for q in totals["q"]["S"].split(",")],
                min_expiry=int(totals["mn"]["N"]) if "mn" in totals else None,
                max_expiry=int(totals["mx"]["N"]) if "mx" in totals else None,
            )
            big = frozenset(json.loads(totals["big"]["S"])) if "big" in totals else frozenset()
            inline = _unpack(totals["d"]["B"]) if "d" in totals else None
            for dimension in wanted:
                stored = items[dimension].get(sk)
                if inline is not None:
                    if dimension in inline or tally.total == 0:
                        counts, labels = inline.get(dimension, ({}, {}))
                        tally.dims[dimension] = counts
                        if labels:
                            tally.labels[dimension] = {k: (v[0], v[1]) for k, v in labels.items()}
                elif tally.total == 0:
                    tally.dims[dimension] = {}  # an hour without events has no groups of any kind
                elif stored is not None and int(stored["as"]["N"]) == as_of and "c" in stored:
                    tally.dims[dimension] = _unpack(stored["c"]["B"])
                    if "l" in stored:
                        tally.labels[dimension] = {
                            k: (v[0], v[1]) for k, v in _unpack(stored["l"]["B"]).items()
                        }
            meta = frozenset(json.loads(totals["mk"]["S"])) if "mk" in totals else frozenset()
            hour = parse_time(sk)
            found[hour] = HourRollup(hour=hour, as_of=as_of, tally=tally, meta_keys=meta, too_big=big)
        return found

    def _query(self, pk: str, lo: str, hi: str) -> list[dict[str, Any]]:
        paginator = self._ddb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":pk": {"S": pk}, ":lo": {"S": lo}, ":hi": {"S": hi}},
        )
        out: list[dict[str, Any]] = []
        try:
            for page in pages:
                out.extend(page.get("Items", []))
        except ClientError as err:
            raise errors.unavailable(err) from err
        return out

    def mark_late(self, tenant: str, hours: Mapping[datetime, int]) -> None:
        def one(item: tuple[datetime, int]) -> None:
            hour, received_ms = item
            self._conditional(
                self._ddb.update_item,
                Key={"pk": {"S": _late_pk(tenant)}, "sk": {"S": _sk(hour)}},
                UpdateExpression="SET r = :r, #exp = :exp",
                ConditionExpression="attribute_not_exists(r) OR r < :r",
                ExpressionAttributeNames={"#exp": "exp"},
                ExpressionAttributeValues={
                    ":r": {"N": str(received_ms)},
                    ":exp": {"N": str(received_ms // 1000 + LATE_MARK_SECONDS)},
                },
            )

        with ThreadPoolExecutor(max_workers=min(16, max(1, len(hours)))) as pool:
            list(pool.map(one, hours.items()))

    def late_marks(self, tenant: str, start: datetime, end: datetime) -> dict[datetime, int]:
        items = self._query(_late_pk(tenant), _sk(start), _sk(end - timedelta(milliseconds=1)))
        return {parse_time(i["sk"]["S"]): int(i["r"]["N"]) for i in items}

    def sealed_through(self, tenant: str) -> datetime | None:
        item = self._get(tenant_pk(tenant), SEALED_SK, consistent=True)
        return parse_time(item["h"]["S"]) if item else None

    def set_sealed_through(self, tenant: str, hour: datetime) -> None:
        self._conditional(
            self._ddb.update_item,
            Key={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": SEALED_SK}},
            UpdateExpression="SET h = :h",
            ConditionExpression="attribute_not_exists(h) OR h < :h",
            ExpressionAttributeValues={":h": {"S": _sk(hour)}},
        )

    def claim_job(self, tenant: str, key: str, *, seconds: int, now: datetime) -> bool:
        epoch = int(now.timestamp())
        answer = self._conditional(
            self._ddb.put_item,
            Item={
                "pk": {"S": tenant_pk(tenant)},
                "sk": {"S": f"RUJOB#{key}"},
                "until": {"N": str(epoch + seconds)},
                "exp": {"N": str(epoch + seconds + 3600)},
            },
            ConditionExpression=f"{ABSENT} OR #u < :now",
            ExpressionAttributeNames={"#u": "until"},
            ExpressionAttributeValues={":now": {"N": str(epoch)}},
        )
        return answer is not None

    def release_job(self, tenant: str, key: str) -> None:
        self._call(  # a put, not a delete: the Reports function may put control items only
            self._ddb.put_item,
            Item={"pk": {"S": tenant_pk(tenant)}, "sk": {"S": f"RUJOB#{key}"}, "until": {"N": "0"}},
        )


def _segments(start: datetime, end: datetime) -> list[tuple[str, str]]:
    """`[start, end)` in up to SEGMENTS sort-key ranges (inclusive bounds, disjoint)."""
    hours = max(1, int((end - start) / timedelta(hours=1)))
    step = max(1, -(-hours // SEGMENTS))
    bounds: list[tuple[str, str]] = []
    at = start
    while at < end:
        nxt = min(end, at + timedelta(hours=step))
        bounds.append((_sk(at), _sk(nxt - timedelta(milliseconds=1))))
        at = nxt
    return bounds
