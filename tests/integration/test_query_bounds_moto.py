"""The DynamoDB adapter's index reads with the query engine's exclusive bounds, on moto.

The engine goes on strictly after a position with `BETWEEN after(p) AND hi` (ascending) and
`BETWEEN lo AND before(p)` (descending); these run the real `DynamoEventStore` Queries (key
condition, `exp` filter, Limit, LastEvaluatedKey) on moto's DynamoDB with the table's key schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from activitylog.dal.events import TS_MAX, TS_MIN, DynamoEventStore, after, before
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.logic.query import QueryPorts, count_events, list_events
from activitylog.models.auth import Principal
from activitylog.models.filters import EventFilter, Order
from activitylog.models.query import IndexRead, Stream, TimeWindow
from activitylog.models.settings import TenantLimits, TenantSettings

from bench.query import CountingDynamoDB, create_events_table
from tests.fakes import FakeControl

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AT = "2026-11-23T09:00:00.000Z"
READER = Principal(tenant="acme", key_id="k1", scopes=frozenset({"events:read"}))
# Ids that sort right next to each other: prefixes of one another and neighbouring characters.
IDS = ["a", "a-", "a-z", "a.", "a0", "a9", "a:", "aZ", "a_", "az", "a_0", "b", "Z", "0", "-"]


@pytest.fixture
def table() -> str:
    return f"bounds-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dynamodb(local_stack: Any, table: str) -> Iterator[CountingDynamoDB]:
    """A table of its own on the session's shared emulation (an in-process `mock_aws` would reset
    moto's process-wide state, and with it the local stack every later test uses)."""
    raw = boto3.client("dynamodb", endpoint_url=local_stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    name = table
    create_events_table(raw, name)
    try:
        yield CountingDynamoDB(raw)
    finally:
        raw.delete_table(TableName=name)


def seed(
    store: DynamoEventStore,
    control: FakeControl,
    events: list[dict[str, Any]],
    shards: int = 1,
    tenant: str = "acme",
) -> None:
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
    settings = TenantSettings(limits=TenantLimits(shard_count=shards))
    for start in range(0, len(events), 100):
        answer = ingest(events[start : start + 100], tenant=tenant, now=NOW, settings=settings, ports=ports)
        assert answer.accepted == len(events[start : start + 100]), answer


def test_reads_go_on_strictly_after_a_position_in_both_orders(dynamodb: CountingDynamoDB, table: str) -> None:
    store, control = DynamoEventStore(table, dynamodb), FakeControl()
    seed(
        store,
        control,
        [{"id": i, "action": "user.login", "actor": {"id": "u1"}, "occurred_at": AT} for i in IDS],
    )
    keys = sorted(f"{AT}#{i}" for i in IDS)
    stream, now_s = Stream("time", ""), int(NOW.timestamp())

    def read(lo: str, hi: str, descending: bool) -> list[str]:
        page = store.query_between(
            "acme", stream, lo=lo, hi=hi, descending=descending, limit=100, now_s=now_s
        )
        assert page.last_ts is None
        return [e.ts for e in page.entries]

    for p in [*keys, f"{AT}#a1", f"{AT}#a-0", f"{AT}#zz"]:  # stored positions and positions between
        assert read(after(p), TS_MAX, False) == [k for k in keys if k > p]
        assert read(TS_MIN, before(p), True) == [k for k in reversed(keys) if k < p]
        count, last = store.count_index("acme", stream, IndexRead(TimeWindow(), p, now_s))
        assert (count, last) == (len([k for k in keys if k > p]), None)


def test_walks_on_moto_return_every_event_once_reading_each_entry_once(
    dynamodb: CountingDynamoDB, table: str
) -> None:
    store, control = DynamoEventStore(table, dynamodb), FakeControl()
    events: list[dict[str, Any]] = [
        {
            "id": f"e{i:03d}",
            "action": ["asset.viewed", "asset.edited", "user.login"][i % 3],
            "actor": {"id": "u1"},
            "occurred_at": (NOW - timedelta(minutes=90 - i // 2)).isoformat(),  # pairs share a time
        }
        for i in range(90)
    ]
    seed(store, control, events, shards=2)
    seed(store, control, events, tenant="solo")
    newest_first = [e["id"] for e in sorted(events, key=lambda e: (e["occurred_at"], e["id"]), reverse=True)]
    prefix = [i for i in newest_first if int(i[1:]) % 3 != 2]

    def walk(tenant: str, filters: EventFilter, order: Order, limit: int, shards: int = 1) -> list[str]:
        ports = QueryPorts(
            events=store, known_actions=lambda: control.known_actions(tenant), shard_count=shards
        )
        principal = replace(READER, tenant=tenant)
        ids: list[str] = []
        cursor = None
        while True:
            page = list_events(
                principal, filters, order=order, limit=limit, cursor=cursor, now=NOW, ports=ports
            )
            ids += [e.id for e in page.events]
            cursor = page.next_cursor
            if cursor is None:
                return ids

    for limit in (1, 7):
        orders: list[tuple[Order, list[str]]] = [("desc", newest_first), ("asc", newest_first[::-1])]
        for order, expected in orders:
            dynamodb.reset()
            assert walk("solo", EventFilter(), order, limit) == expected
            assert dynamodb.scanned == 90  # one stream: no entry read twice, none beyond a page
            assert walk("acme", EventFilter(), order, limit, shards=2) == expected
            selected = prefix if order == "desc" else list(reversed(prefix))
            assert walk("acme", EventFilter(actions=["asset.*"]), order, limit, shards=2) == selected
    ports = QueryPorts(events=store, known_actions=lambda: control.known_actions("acme"), shard_count=2)
    count = count_events(READER, EventFilter(actions=("asset.*",)), cursor=None, now=NOW, ports=ports)
    assert count.count == 60 and count.complete
