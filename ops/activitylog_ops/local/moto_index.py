"""Queries on a DynamoDB index in time proportional to the page, with moto's own answers.

The ONE place that touches moto's DynamoDB internals (pinned: moto==5.2.5). moto's `Table.query` on
an index reads every item of the table, sorts the candidates and walks them from the first one to
skip past `ExclusiveStartKey` and to find the key range: every page costs O(table), so reading a
large partition page by page (an export) is quadratic.

This module keeps, per (table, index, partition value), moto's own sorted candidate list (the items
its query would collect, sorted by its `sorted_items`) until the table is next written. For a query
it bisects to where moto's walk starts to matter (past `ExclusiveStartKey` and the items before the
key range, which moto skips without effect) and hands moto's unchanged `Table.query` only the
contiguous window of candidates that walk can reach before it stops (`Limit` results and the one
candidate after them that makes it set `LastEvaluatedKey`, or the 1 MB size limit). `Table.all_items`
returns that window for the duration of the call, so moto itself still computes the page,
`Count`/`ScannedCount`, `LastEvaluatedKey`, the projection and the `FilterExpression`. Query shapes
it does not handle exactly (several key attributes, non-string keys, legacy `QueryFilter`, ...) go to
moto's code unchanged.

The cache is dropped on every write: `Table.put_item` / `delete_item` and the backend's `update_item`
(which edits items in place) forget their table; any other backend method that is not a read
forgets every table; a transaction that rolls back puts a copied table object in place, which has
no cache. That backup (moto deep-copies each table a `TransactWriteItems` touches) copies only the
items the transaction writes and shares the rest, stream records included: a deep copy of a whole
table per transaction made a long-lived local table ever slower to write.
tests/integration/local/test_moto_index.py compares answers with and without this module
and fails loudly when moto changes underneath.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import functools
import inspect
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_MOTO = "5.2.5"
RANGE_OPERATORS = frozenset({"=", "<", "<=", ">", ">=", "BETWEEN", "BEGINS_WITH"})
# moto methods whose behaviour this module relies on, with the parameters they had when it was written.
EXPECTED_SIGNATURES: dict[tuple[str, str], list[str]] = {
    ("Table", "query"): [
        "self",
        "hash_key",
        "range_comparison",
        "range_objs",
        "limit",
        "exclusive_start_key",
        "scan_index_forward",
        "projection_expressions",
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
        "filter_kwargs",
    ],
    ("Table", "all_items"): ["self"],
    ("Table", "sorted_items"): ["self", "hash_key_attrs", "range_key_attrs", "items"],
    ("Table", "_generate_attr_to_sort_by"): ["self", "hash_key_attrs", "range_key_attrs"],
    ("Table", "_item_comes_before_dct"): [
        "self",
        "item",
        "dct",
        "hash_key_attrs",
        "range_key_attrs",
        "scan_index_forward",
    ],
    ("Table", "put_item"): [
        "self",
        "item_attrs",
        "expected",
        "condition_expression",
        "expression_attribute_names",
        "expression_attribute_values",
        "overwrite",
        "return_values_on_condition_check_failure",
    ],
    ("Table", "delete_item"): ["self", "hash_key", "range_key"],
    ("DynamoDBBackend", "transact_write_items"): ["self", "transact_items"],
    ("StreamShard", "__init__"): ["self", "account_id", "table"],
    ("StreamShard", "add"): ["self", "old", "new"],
    ("DynamoDBBackend", "update_item"): [
        "self",
        "table_name",
        "key",
        "update_expression",
        "expression_attribute_names",
        "expression_attribute_values",
        "attribute_updates",
        "expected",
        "condition_expression",
        "return_values_on_condition_check_failure",
    ],
}
# Backend writes that forget only their own table (the others fall to the catch-all).
_TABLE_WRITES = frozenset({"put_item", "delete_item", "update_item", "transact_write_items"})
_READ_PREFIXES = ("describe_", "get_", "list_", "iter_")
_READS = frozenset({"query", "scan", "batch_get_item", "transact_get_items"})

# What the module did since `stats.clear()`: "fast" (window) and "fallback" (moto's code) queries and
# candidate lists "built"; each also per table ("fast <table>", ...), and "window <table>" is the size
# of the last window handed to moto for that table (tests and the export benchmark read these).
stats: Counter[str] = Counter()


def _count(kind: str, table: Any) -> None:
    stats[kind] += 1
    stats[f"{kind} {table.name}"] += 1


class MotoChangedError(RuntimeError):
    """moto is not the version whose internals this module was written against."""


@dataclass
class _Partition:
    items: list[Any]  # moto's sorted candidates, ascending
    keys: list[tuple[str, ...]]  # their sort attributes' values (what ExclusiveStartKey is compared on)
    ranges: list[str]  # their index sort key values (what the key condition is compared on)
    sizes: list[int]  # their `Item.size()` (what the 1 MB limit adds up)
    largest: int


@dataclass
class _Candidates:
    version: int
    population: int  # len(table.items) when built: a cheap check for a write that was not seen
    schema: list[dict[str, str]]
    by_partition: dict[Any, list[Any]]  # partition value -> candidates, in moto's all_items order
    sorted: dict[Any, _Partition | None] = field(default_factory=dict)  # None: not plain strings


@dataclass
class _TableState:
    version: int = 0
    indexes: dict[str, _Candidates] = field(default_factory=dict)


@dataclass(frozen=True)
class _Request:
    index_name: str
    hash_conditions: Sequence[tuple[str, Any]]
    range_conditions: Sequence[tuple[str, str, Sequence[Any]]]
    comparison: str | None
    values: Sequence[Any]
    limit: Any
    start_key: Any
    forward: bool


_lock = threading.RLock()
_local = threading.local()
_states: weakref.WeakKeyDictionary[Any, _TableState] = weakref.WeakKeyDictionary()
_originals: dict[tuple[type, str], Any] = {}
_moto: dict[str, Any] = {}  # moto's classes and limits, filled by `install` (no import of moto before)
_installs = 0
_bypass = 0


def check_moto() -> None:
    """Raise `MotoChangedError` unless moto is the version and shape this module was written for."""
    import moto
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models import table as table_module

    if moto.__version__ != SUPPORTED_MOTO:
        raise MotoChangedError(f"moto {moto.__version__} installed; local mode is pinned to {SUPPORTED_MOTO}")
    classes = {
        "Table": table_module.Table,
        "DynamoDBBackend": DynamoDBBackend,
        "StreamShard": table_module.StreamShard,
    }
    for (owner, name), expected in EXPECTED_SIGNATURES.items():
        method = getattr(classes[owner], name, None)
        found = list(inspect.signature(method).parameters) if callable(method) else None
        if found != expected:
            raise MotoChangedError(f"{owner}.{name}{found} changed; re-check moto_index.py")
    _moto.update(
        Table=table_module.Table,
        Item=table_module.Item,
        GlobalSecondaryIndex=table_module.GlobalSecondaryIndex,
        DynamoDBBackend=DynamoDBBackend,
        RESULT_SIZE_LIMIT=int(table_module.RESULT_SIZE_LIMIT),
    )


def catch_all_writes() -> list[str]:
    """The backend methods that forget every table's cache (anything that is not a known read)."""
    from moto.dynamodb.models import DynamoDBBackend

    return sorted(
        name
        for name, value in vars(DynamoDBBackend).items()
        if inspect.isfunction(value)
        and not name.startswith("_")
        and not name.startswith(_READ_PREFIXES)
        and name not in _READS
        and name not in _TABLE_WRITES
    )


def install() -> None:
    """Patch moto (idempotent, counted: the patch stays until every `install` is undone)."""
    global _installs
    with _lock:
        if _installs == 0:
            check_moto()
            _patch()
        _installs += 1


def uninstall() -> None:
    """Undo one `install`; moto's own methods come back (and the caches go) with the last one."""
    global _installs
    with _lock:
        if _installs == 0:
            return
        _installs -= 1
        if _installs == 0:
            for (owner, name), original in _originals.items():
                if original is _ABSENT:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            _originals.clear()
            _states.clear()


def installed() -> bool:
    return _installs > 0


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Queries run moto's own code meanwhile (writes are still tracked): for comparisons."""
    global _bypass
    with _lock:
        _bypass += 1
    try:
        yield
    finally:
        with _lock:
            _bypass -= 1


def _patch() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard, Table

    def replace(owner: type, name: str, new: Callable[..., Any]) -> None:
        _originals[(owner, name)] = vars(owner).get(name, _ABSENT)
        setattr(owner, name, new)

    replace(StreamShard, "__deepcopy__", _shard_copy)
    replace(Table, "__deepcopy__", _table_copy)
    transact = vars(DynamoDBBackend)["transact_write_items"]
    replace(DynamoDBBackend, "transact_write_items", _noting_keys(transact))

    replace(Table, "query", _query)
    replace(Table, "all_items", _all_items)
    for name in ("put_item", "delete_item"):
        replace(Table, name, _forgets_own_table(vars(Table)[name]))
    replace(DynamoDBBackend, "update_item", _forgets_named_table(vars(DynamoDBBackend)["update_item"]))
    for name in catch_all_writes():
        replace(DynamoDBBackend, name, _forgets_every_table(vars(DynamoDBBackend)[name]))


_ABSENT = object()  # an attribute the class did not define before the patch (removed by `uninstall`)


def _shard_copy(self: Any, memo: dict[int, Any]) -> Any:
    """A table's stream shard as a transaction's backup copies it (moto deep-copies every table a
    `TransactWriteItems` touches, to restore it if the transaction fails): the same records (moto
    never changes one once written) in a list of the copy's own. moto's own deep copy copied every
    record too, so each transaction on a table with a stream cost O(every write of its life): a
    test session's events table made ingestion seconds slow. A rollback still restores the
    stream as it was (the copy's list), and the copy's `table` is the copied table."""
    cls = type(self)
    copied = object.__new__(cls)
    memo[id(self)] = copied
    copied.__dict__.update(self.__dict__)
    copied.items = list(self.items)
    copied.table = copy.deepcopy(self.table, memo)
    return copied


_transaction = threading.local()  # .keys: {table name: keys} a running TransactWriteItems writes


def _noting_keys(method: Callable[..., Any]) -> Callable[..., Any]:
    """moto's `transact_write_items`, noting (per thread) the keys it is about to write, so that the
    backup it takes (`copy.deepcopy` of each table it touches) deep-copies only those items."""

    @functools.wraps(method)
    def wrapper(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        from moto.dynamodb.models.dynamo_type import DynamoType

        keys: dict[str, set[tuple[Any, Any]] | None] = {}
        for entry in transact_items:
            for op in entry.values():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                if table is None:
                    continue
                attrs = op.get("Key") or op.get("Item") or {}
                try:
                    hash_value = DynamoType(attrs[table.hash_key_attr])
                    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
                    noted = keys.setdefault(table.name, set())
                    if noted is not None:
                        noted.add((hash_value, range_value))
                except (KeyError, TypeError, AttributeError):  # moto will refuse it; back up all of it
                    keys[table.name] = None
        before = getattr(_transaction, "keys", None)
        _transaction.keys = keys
        try:
            return method(self, transact_items)
        finally:
            _transaction.keys = before

    return wrapper


def _table_copy(self: Any, memo: dict[int, Any]) -> Any:
    """A table as a transaction's backup copies it: its item maps copied, the items the transaction
    writes deep-copied (moto's `update_item` edits an item in place) and every other item shared
    (nothing writes it before the backup is dropped or put back). moto deep-copied every item of
    the table on every `TransactWriteItems` (twice for two items on one table): a test session's
    events table made each late event's transaction seconds slow. Any other deep copy (or a key
    the wrapper could not read) is moto's own full copy."""
    cls = type(self)
    copied = object.__new__(cls)
    memo[id(self)] = copied
    noted = getattr(_transaction, "keys", None)
    keys = noted.get(self.name) if noted is not None else None
    if keys is None:
        copied.__dict__.update({k: copy.deepcopy(v, memo) for k, v in self.__dict__.items()})
        return copied
    copied.__dict__.update(self.__dict__)
    items: Any = type(self.items)(dict) if isinstance(self.items, defaultdict) else type(self.items)()
    if self.range_key_attr is None:
        items.update(self.items)
    else:
        items.update((h, dict(by_range)) for h, by_range in self.items.items())
    for hash_value, range_value in keys:
        if self.range_key_attr is None and hash_value in items:
            items[hash_value] = copy.deepcopy(items[hash_value], memo)
        elif hash_value in items and range_value in items[hash_value]:
            items[hash_value][range_value] = copy.deepcopy(items[hash_value][range_value], memo)
    copied.items = items
    if self.stream_shard is not None:
        copied.stream_shard = copy.deepcopy(self.stream_shard, memo)
    return copied


# --- invalidation ---------------------------------------------------------------------------------
def _written(table: Any) -> None:
    with _lock:
        state = _states.get(table) if table is not None else None
        if state is not None:
            state.version += 1


def _forgets_own_table(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            _written(self)

    return wrapper


def _forgets_named_table(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, table_name, *args, **kwargs)
        finally:
            _written(self.tables.get(table_name))

    return wrapper


def _forgets_every_table(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        finally:
            with _lock:
                for state in list(_states.values()):
                    state.version += 1

    return wrapper


# --- the patched methods --------------------------------------------------------------------------
def _all_items(self: Any) -> list[Any]:
    window = getattr(_local, "window", None)
    if window is not None and window[0] is self:
        return list(window[1])
    result: list[Any] = _originals[(_moto["Table"], "all_items")](self)
    return result


def _query(
    self: Any,
    hash_key: Any,
    range_comparison: str | None,
    range_objs: list[Any],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, Any]] | None = None,
    range_key_conditions: list[tuple[str, str, list[Any]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Any], int, dict[str, Any] | None]:
    original = _originals[(_moto["Table"], "query")]

    def moto_query() -> tuple[list[Any], int, dict[str, Any] | None]:
        result: tuple[list[Any], int, dict[str, Any] | None] = original(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )
        return result

    window = None
    plain = not filter_kwargs and not consistent_read and type(scan_index_forward) is bool
    if index_name and plain and not _bypass:
        request = _Request(
            index_name,
            hash_key_conditions or [],
            range_key_conditions or [],
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
        )
        with _lock:
            window = _window(self, request)
    if window is None:
        _count("fallback", self)
        return moto_query()
    _count("fast", self)
    stats[f"window {self.name}"] = len(window)
    _local.window = (self, window)
    try:
        return moto_query()
    finally:
        _local.window = None


# --- the window ----------------------------------------------------------------------------------
def _window(table: Any, request: _Request) -> list[Any] | None:
    """The candidates moto's walk can reach, ascending; None for a shape not handled exactly."""
    limit = request.limit
    if limit is not None and (type(limit) is not int or limit < 1):
        return None
    index = next((i for i in table.global_indexes if i.name == request.index_name), None)
    if not isinstance(index, _moto["GlobalSecondaryIndex"]):
        return None
    hash_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    range_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    if len(hash_attrs) != 1 or len(range_attrs) != 1:
        return None
    hash_attr, range_attr = hash_attrs[0], range_attrs[0]
    if len(request.hash_conditions) != 1 or request.hash_conditions[0][0] != hash_attr:
        return None
    partition_value = request.hash_conditions[0][1]
    if getattr(partition_value, "type", None) != "S":
        return None
    bounds: list[str] = []
    if request.range_conditions:
        condition = request.range_conditions
        if len(condition) != 1 or condition[0][0] != range_attr or request.comparison not in RANGE_OPERATORS:
            return None
        plain = _plain_strings(request.values)
        if plain is None or len(plain) != (2 if request.comparison == "BETWEEN" else 1):
            return None
        bounds = plain
    elif request.comparison is not None:
        return None
    sort_attrs: list[str] = table._generate_attr_to_sort_by(
        [hash_attr, table.hash_key_attr], [range_attr, table.range_key_attr]
    )
    if sort_attrs[:2] != [hash_attr, range_attr]:
        return None
    start_key = None
    if request.start_key is not None:
        start_key = _start_key(request.start_key, sort_attrs)
        if start_key is None:
            return None
    partition = _partition(table, index, hash_attr, range_attr, sort_attrs, partition_value)
    if partition is None or partition.largest > _moto["RESULT_SIZE_LIMIT"]:
        return None  # not plain strings; or an item so large that moto stops before its first result
    lo, hi = _key_range(partition.ranges, request.comparison, bounds)
    return _reach(partition, lo, hi, start_key, request.forward, limit)


def _plain_strings(values: Sequence[Any]) -> list[str] | None:
    plain = [v.value for v in values if getattr(v, "type", None) == "S" and isinstance(v.value, str)]
    return plain if len(plain) == len(values) else None


def _start_key(start_key: Any, sort_attrs: list[str]) -> tuple[str, ...] | None:
    if not isinstance(start_key, dict):
        return None
    values = []
    for attr in sort_attrs:
        value = start_key.get(attr)
        if not isinstance(value, dict) or list(value) != ["S"] or not isinstance(value["S"], str):
            return None
        values.append(value["S"])
    return tuple(values)


def _partition(
    table: Any, index: Any, hash_attr: str, range_attr: str, sort_attrs: list[str], partition_value: Any
) -> _Partition | None:
    """moto's sorted candidates for one partition (None: their keys are not all plain strings)."""
    state = _states.setdefault(table, _TableState())
    candidates = state.indexes.get(index.name)
    if (
        candidates is None
        or candidates.version != state.version
        or candidates.population != len(table.items)
        or candidates.schema != index.schema
    ):
        version, population = state.version, len(table.items)
        by_partition: dict[Any, list[Any]] = {}
        for item in _all_items(table):
            if not isinstance(item, _moto["Item"]):
                continue
            value = item.attrs.get(hash_attr)
            if value is None or item.attrs.get(range_attr) is None:
                continue  # moto's query skips items without the index's keys (as DynamoDB does)
            by_partition.setdefault(value, []).append(item)
        candidates = _Candidates(version, population, [dict(k) for k in index.schema], by_partition)
        state.indexes[index.name] = candidates
        _count("builds", table)
    if partition_value in candidates.sorted:
        return candidates.sorted[partition_value]
    found = candidates.by_partition.get(partition_value)
    if found is None:
        return _Partition([], [], [], [], 0)  # no candidates: moto's answer is empty
    partition = _sort(table, hash_attr, range_attr, sort_attrs, found)
    candidates.sorted[partition_value] = partition
    return partition


def _sort(
    table: Any, hash_attr: str, range_attr: str, sort_attrs: list[str], found: list[Any]
) -> _Partition | None:
    for item in found:
        for attr in sort_attrs:
            value = item.attrs.get(attr)
            if value is None or value.type != "S" or not isinstance(value.value, str):
                return None  # mixed or non-string keys: moto's own code decides (or raises)
    items = table.sorted_items(
        [hash_attr, table.hash_key_attr], [range_attr, table.range_key_attr], list(found)
    )
    keys = [tuple(item.attrs[attr].value for attr in sort_attrs) for item in items]
    sizes = [item.size() for item in items]
    return _Partition(items, keys, [key[1] for key in keys], sizes, max(sizes, default=0))


def _key_range(ranges: list[str], comparison: str | None, bounds: list[str]) -> tuple[int, int]:
    """[lo, hi): the candidates (ascending) whose index sort key meets the key condition."""
    n = len(ranges)
    if comparison is None:
        return 0, n
    value = bounds[0]
    if comparison == "=":
        return bisect.bisect_left(ranges, value), bisect.bisect_right(ranges, value)
    if comparison == "<":
        return 0, bisect.bisect_left(ranges, value)
    if comparison == "<=":
        return 0, bisect.bisect_right(ranges, value)
    if comparison == ">":
        return bisect.bisect_right(ranges, value), n
    if comparison == ">=":
        return bisect.bisect_left(ranges, value), n
    lo = bisect.bisect_left(ranges, value)
    if comparison == "BETWEEN":
        return lo, max(lo, bisect.bisect_right(ranges, bounds[1]))
    # BEGINS_WITH: the strings with a prefix follow each other from the prefix itself on.
    return lo, bisect.bisect_left(ranges, True, lo=lo, key=lambda v: not v.startswith(value))


def _reach(
    p: _Partition, lo: int, hi: int, start_key: tuple[str, ...] | None, forward: bool, limit: int | None
) -> list[Any]:
    """The ascending slice of candidates moto's walk visits, from its first result to where it stops.

    moto walks the candidates in scan order: it skips those up to `ExclusiveStartKey` without looking
    at them, then checks each one against `Limit` and the 1 MB limit before adding it if it meets
    the key condition. Before the key range nothing is added and (with `largest` <= 1 MB) nothing
    stops it; after the range only the size limit can stop it, which `largest` bounds.
    """
    n, limit_bytes = len(p.items), _moto["RESULT_SIZE_LIMIT"]
    count = size = 0
    if forward:
        first = lo if start_key is None else max(lo, bisect.bisect_right(p.keys, start_key))
        pos = first
        while pos < max(first, hi):
            if count == limit or size + p.sizes[pos] > limit_bytes:
                return p.items[first : pos + 1]
            count, size, pos = count + 1, size + p.sizes[pos], pos + 1
        if pos == n or count == limit:
            return p.items[first : pos + 1]
        return p.items[first:] if size + p.largest > limit_bytes else p.items[first:pos]
    last = hi if start_key is None else min(hi, bisect.bisect_left(p.keys, start_key))
    pos = last - 1
    while pos >= min(lo, last):
        if count == limit or size + p.sizes[pos] > limit_bytes:
            return p.items[pos:last]
        count, size, pos = count + 1, size + p.sizes[pos], pos - 1
    if pos < 0 or count == limit:
        return p.items[max(pos, 0) : last]
    return p.items[:last] if size + p.largest > limit_bytes else p.items[pos + 1 : last]
