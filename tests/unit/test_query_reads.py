"""How the query engine reads the indexes: strictly after a position, about `limit` entries a page.

The counting fake (`FakeEventStore.reads`) records the sort keys every Query read. The walks
here would read each page's boundary entry again, and `limit / k + 1` entries per stream, with
inclusive `BETWEEN` continuation; they must read each entry once, and only what the merge needs.
"""

from __future__ import annotations

import base64
import json
import re
import string
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from activitylog.dal.events import after, before
from activitylog.logic.query import Budget, count_events, list_events
from activitylog.models.errors import BadRequestError
from activitylog.models.filters import EventFilter, Order
from activitylog.models.patterns import EVENT_ID_PATTERN
from activitylog.models.text import format_time
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.fakes import FakeControl, FakeEventStore
from tests.unit.test_query_engine import NOW, READER, all_pages, make, ports_for, seed

ASSET = ["asset.downloaded", "asset.viewed", "asset.edited", "asset.shared"]


def pages(
    store: FakeEventStore, filters: EventFilter, ports: Any, limit: int, order: Order = "desc"
) -> list[tuple[int, int]]:
    """Walk every page; per page (events returned, index entries read)."""
    out, cursor = [], None
    while True:
        before_read = store.scanned
        page = list_events(READER, filters, order=order, limit=limit, cursor=cursor, now=NOW, ports=ports)
        out.append((len(page.events), store.scanned - before_read))
        cursor = page.next_cursor
        if cursor is None:
            return out


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_single_stream_reads_each_entry_once_across_pages(order: Order) -> None:
    store, control = FakeEventStore(), FakeControl()
    seed(store, control, make(30))
    walk = pages(store, EventFilter(), ports_for(store, control), limit=7, order=order)
    assert sum(n for n, _ in walk) == 30
    assert all(read == returned for returned, read in walk)  # no boundary entry read again
    read = Counter(ts for _, keys in store.reads for ts in keys)
    assert len(read) == 30 and set(read.values()) == {1}


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_stream_cut_by_dynamodb_goes_on_after_the_cut(order: Order) -> None:
    # DynamoDB ends a page at 1 MB whatever the Limit: the next read starts strictly after it.
    store, control = FakeEventStore(page_items=3), FakeControl()
    seed(store, control, make(40))
    ids = all_pages(READER, EventFilter(), ports_for(store, control), limit=10, order=order)
    assert len(ids) == 40 and len(set(ids)) == 40
    assert store.scanned == 40
    assert store.queries > 40 // 3


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_merged_streams_read_about_limit_entries_a_page(order: Order) -> None:
    # 4 action streams, evenly interleaved: a page of 8 needs its 8 entries plus the next entry
    # of each other stream (to know it comes later): at most 8 + 3.
    store, control = FakeEventStore(), FakeControl()
    events = make(80)
    for i, e in enumerate(events):
        e["action"] = ASSET[i % 4]
    seed(store, control, events)
    walk = pages(store, EventFilter(actions=["asset.*"]), ports_for(store, control), limit=8, order=order)
    assert sum(n for n, _ in walk) == 80
    assert all(read <= returned + 3 for returned, read in walk), walk
    assert store.scanned <= 80 * 1.4  # inclusive reads of limit/k + 1 per stream: 1.5


def test_no_entry_is_read_twice_within_a_request() -> None:
    store, control = FakeEventStore(page_items=2), FakeControl()
    events = make(60)
    for i, e in enumerate(events):
        e["action"] = ASSET[(i * 7) % 3]
    seed(store, control, events, shards=3)
    ports = ports_for(store, control, shards=3)
    cursor = None
    while True:
        store.reads.clear()
        page = list_events(
            READER, EventFilter(actions=("asset.*",)), limit=9, cursor=cursor, now=NOW, ports=ports
        )
        read = Counter((stream, ts) for stream, keys in store.reads for ts in keys)
        assert set(read.values()) <= {1}
        cursor = page.next_cursor
        if cursor is None:
            break


def test_a_residual_walk_and_a_count_read_each_entry_once() -> None:
    store, control = FakeEventStore(), FakeControl()
    seed(store, control, make(45))
    ports = ports_for(store, control)
    assert all_pages(READER, EventFilter(q="nothing"), ports, limit=10) == []
    assert store.scanned == 45
    store.scanned = 0
    answer = count_events(READER, EventFilter(q="u1"), cursor=None, now=NOW, ports=ports)
    assert answer.count == 45 and store.scanned == 45


def test_counts_go_on_strictly_after_their_position() -> None:
    store, control = FakeEventStore(), FakeControl()
    seed(store, control, make(10))
    ports = ports_for(store, control)
    ticks = iter(range(10_000))
    budget = Budget(clock=lambda: float(next(ticks)) * 100)  # a new cursor after every DynamoDB page
    total, cursor, rounds = 0, None, 0
    while True:
        answer = count_events(READER, EventFilter(), cursor=cursor, now=NOW, ports=ports, budget=budget)
        total, rounds, cursor = total + answer.count, rounds + 1, answer.next_cursor
        if answer.complete:
            break
    assert total == 10 and rounds == 4  # pages of 3, 3, 3, 1 (the fake's count pages)


def _recode(cursor: str, position: object) -> str:
    data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    data["p"] = position
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_cursor_position_must_be_a_sort_key() -> None:
    store, control = FakeEventStore(), FakeControl()
    seed(store, control, make(10))
    ports = ports_for(store, control)

    def page_at(position: object) -> list[str]:
        cursor = _recode(first.next_cursor or "", position)
        return [
            e.id
            for e in list_events(READER, EventFilter(), limit=3, cursor=cursor, now=NOW, ports=ports).events
        ]

    first = list_events(READER, EventFilter(), limit=3, cursor=None, now=NOW, ports=ports)
    assert [e.id for e in first.events] == ["e009", "e008", "e007"]
    # Strictly after a position, whether or not an entry is stored there (e007 is at 09:57).
    assert page_at("2026-11-23T09:57:00.000Z#e007") == ["e006", "e005", "e004"]
    assert page_at("2026-11-23T09:57:00.000Z#e00") == ["e006", "e005", "e004"]
    assert page_at("2026-11-23T09:57:00.000Z#e0070") == ["e007", "e006", "e005"]
    forged = [
        "zzz",
        "~",
        "2026-11-23T09:55:00.000Z",
        "2026-11-23T09:55:00.000Z#a b",
        "٢٠٢٦-11-23T09:55:00.000Z#a",
    ]
    for position in [*forged, 7, None]:
        with pytest.raises(BadRequestError):
            page_at(position)


# --- the exclusive bounds -------------------------------------------------------------------------


def test_every_id_character_is_below_the_bound_suffix() -> None:
    # `before` relies on it: if the id pattern ever admits a character at or above "~", it breaks.
    id_chars = [chr(c) for c in range(0x110000) if re.fullmatch(EVENT_ID_PATTERN, chr(c))]
    assert id_chars and max(id_chars) < "~"
    assert "~" not in id_chars and "\x00" not in id_chars


_ids = st.text(alphabet=string.ascii_letters + string.digits + "._:-", min_size=1, max_size=6)
_times = st.sampled_from(["2026-11-23T10:00:00.000Z", "2026-11-23T10:00:00.001Z", "2026-11-24T00:00:00.000Z"])
_ts = st.builds(lambda t, i: f"{t}#{i}", _times, _ids)


@given(p=_ts, others=st.lists(_ts, max_size=30))
def test_after_and_before_split_stored_keys_exactly_at_a_position(p: str, others: list[str]) -> None:
    for t in [*others, p, p + "a", p[:-1], p[:-1] + "-"]:
        if not re.fullmatch(r".{24}#[A-Za-z0-9._:-]+", t):
            continue
        assert (t > p) == (after(p) <= t)
        assert (t < p) == (t <= before(p))
    assert p < after(p) and before(p) < p


# --- walking any filter page by page returns exactly the events a brute force finds ------------

ACTIONS = ["asset.downloaded", "asset.viewed", "asset.edited", "user.login", "user.logout", "search"]

_event = st.fixed_dictionaries(
    {
        "action": st.sampled_from(ACTIONS),
        "actor": st.sampled_from(["u1", "u2", "u3"]),
        "target": st.sampled_from([None, "7", "8"]),
        "outcome": st.sampled_from(["success", "failure"]),
        "minute": st.integers(0, 40),  # several events often share an occurred time
        "age_days": st.sampled_from([0, 0, 0, 91]),  # some already expired at NOW
    }
)
_filters = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["none", "actor", "action", "prefix", "repeated", "target"]),
        "outcome": st.sampled_from([None, None, "failure"]),
        "from_minute": st.sampled_from([None, 5, 20]),
        "to_minute": st.sampled_from([None, 21, 35]),
        "order": st.sampled_from(["desc", "asc"]),
    }
)


def _wanted(f: dict[str, Any]) -> tuple[EventFilter, Any]:
    key = f["key"]
    filters = EventFilter(
        actor_id="u2" if key == "actor" else None,
        actions={
            "action": ("asset.viewed",),
            "prefix": ("asset.*",),
            "repeated": ("user.login", "search"),
        }.get(key, ()),
        target_type="asset" if key == "target" else None,
        target_id="7" if key == "target" else None,
        outcome=f["outcome"],
        from_=NOW - timedelta(minutes=60 - f["from_minute"]) if f["from_minute"] is not None else None,
        to=NOW - timedelta(minutes=60 - f["to_minute"]) if f["to_minute"] is not None else None,
    )

    def keep(e: dict[str, Any], raw: dict[str, Any]) -> bool:
        if raw["age_days"] or (f["outcome"] and raw["outcome"] != f["outcome"]):
            return False
        if f["from_minute"] is not None and raw["minute"] < f["from_minute"]:
            return False
        if f["to_minute"] is not None and raw["minute"] >= f["to_minute"]:
            return False
        return {
            "none": True,
            "actor": raw["actor"] == "u2",
            "action": raw["action"] == "asset.viewed",
            "prefix": raw["action"].startswith("asset."),
            "repeated": raw["action"] in ("user.login", "search"),
            "target": raw["target"] == "7",
        }[key]

    return filters, keep


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    raw=st.lists(_event, min_size=10, max_size=60),
    f=_filters,
    shards=st.integers(1, 4),
    limit=st.integers(1, 6),
    page_items=st.sampled_from([None, None, 1, 2, 5]),
    lookahead=st.booleans(),
)
def test_any_filter_walked_page_by_page_is_exactly_the_brute_force(
    raw: list[dict[str, Any]],
    f: dict[str, Any],
    shards: int,
    limit: int,
    page_items: int | None,
    lookahead: bool,
) -> None:
    store, control = FakeEventStore(page_items=page_items, lookahead=lookahead), FakeControl()
    events = []
    for i, r in enumerate(raw):
        occurred = NOW - timedelta(minutes=60 - r["minute"], days=r["age_days"])
        events.append(
            {
                "id": f"e{i:02d}" if i % 3 else f"e{i:02d}-x",  # ids of several lengths
                "action": r["action"],
                "actor": {"id": r["actor"]},
                "outcome": r["outcome"],
                "occurred_at": occurred.isoformat(),
                **({"targets": [{"type": "asset", "id": r["target"]}]} if r["target"] else {}),
            }
        )
    for old in (True, False):  # expired events were accepted 91 days ago
        batch = [e for e, r in zip(events, raw, strict=True) if bool(r["age_days"]) == old]
        if batch:
            seed(store, control, batch, shards=shards, now=NOW - timedelta(days=91) if old else NOW)
    filters, keep = _wanted(f)
    kept = [
        f"{format_time(datetime.fromisoformat(e['occurred_at']))}#{e['id']}"
        for e, r in zip(events, raw, strict=True)
        if keep(e, r)
    ]
    expected = [ts.split("#")[1] for ts in sorted(kept, reverse=f["order"] == "desc")]
    ports = ports_for(store, control, shards=shards)
    ids = all_pages(READER, filters, ports, limit=limit, order=f["order"])
    event(f"pages: {'1' if len(expected) <= limit else 'several'}")
    assert ids == expected
    count = count_events(READER, filters, cursor=None, now=NOW, ports=ports)
    assert count.count == len(expected) and count.complete


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_run_of_expired_entries_costs_few_queries(order: Order) -> None:
    # Given one stream: 600 events past their retention that TTL has not deleted yet (they still
    # count against a Query's Limit, and the `exp` filter drops them), then 99 live ones
    store, control = FakeEventStore(), FakeControl()
    old = NOW - timedelta(days=91)
    expired = [
        {
            "id": f"x{i:04d}",
            "action": "a.b",
            "actor": {"id": "u"},
            "occurred_at": (old - timedelta(seconds=600 - i)).isoformat(),
        }
        for i in range(600)
    ]
    for start in range(0, 600, 100):
        seed(store, control, expired[start : start + 100], now=old)
    seed(
        store,
        control,
        [
            {
                "id": f"l{i:04d}",
                "action": "a.b",
                "actor": {"id": "u"},
                "occurred_at": (NOW - timedelta(seconds=99 - i)).isoformat(),
            }
            for i in range(99)
        ],
    )
    # When the whole list is walked 50 at a time
    ports = ports_for(store, control)
    cursor, seen, queries = None, 0, []
    while True:
        before_queries = store.queries
        page = list_events(READER, EventFilter(), order=order, limit=50, cursor=cursor, now=NOW, ports=ports)
        seen += len(page.events)
        queries.append(store.queries - before_queries)
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every live event comes back, and the expired run is read in growing Queries (a page
    # that reads it costs about log2(600) Queries, not one Query per expired entry)
    assert seen == 99
    assert max(queries) <= 12, queries


def test_two_targets_that_share_an_index_key_list_and_count_their_event_once() -> None:
    # Given an event whose targets differ but make the same index key ("a\x1fb"/"c", "a"/"b\x1fc")
    store, control = FakeEventStore(), FakeControl()
    targets = [{"type": "a\x1fb", "id": "c"}, {"type": "a", "id": "b\x1fc"}]
    seed(store, control, [{"id": "e1", "action": "a.b", "actor": {"id": "u"}, "targets": targets}])
    ports = ports_for(store, control)
    for target_type, target_id in (("a", "b\x1fc"), ("a\x1fb", "c")):
        filters = EventFilter(target_type=target_type, target_id=target_id)
        # Then either target finds it once, and counts it once
        assert all_pages(READER, filters, ports) == ["e1"]
        assert count_events(READER, filters, cursor=None, now=NOW, ports=ports).count == 1
