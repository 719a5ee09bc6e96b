"""moto_index: local mode's index Queries answer exactly what moto's own code answers, in page time.

Every query below runs twice on the embedded server: through the patch, then with
`moto_index.bypassed()` (moto 5.2.5's own `Table.query`, which reads the whole table), and the two
responses must be equal: items and their order, Count, ScannedCount, LastEvaluatedKey, or the same
error. The tests also assert that the fast path was taken (a query shape falling back to moto would
make the comparison vacuous). moto's backends are process-wide: every test uses its own tables.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import moto
import pytest
from activitylog.dal.events import INDEX
from activitylog_ops.local import moto_index
from botocore.exceptions import ClientError

from bench.query import create_events_table

Client = Callable[[str], Any]
# As infra/constructs/tables.py defines them: events on `pk` with four GSIs sorting on `ts` and
# projecting `exp` (INCLUDE); control on `pk`/`sk` with `by_owner` on `gpk`/`gsk` (ALL).
EVENTS_INDEXES = dict(INDEX.values())  # index name -> its partition-key attribute
PARTITIONS = ["a", "b", "a#1", "ab"]
TIMES = [f"2026-0{m}-{d:02d}T0{h}" for m in (1, 2) for d in (3, 14) for h in (0, 5)]
OPERATORS = [None, "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"]


@pytest.fixture
def ddb(boto_client: Client) -> Any:
    moto_index.stats.clear()
    return boto_client("dynamodb")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_control_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "gpk", "gsk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_owner",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "gsk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def put_all(ddb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        chunk = items[start : start + 25]
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}} for item in chunk]})


def random_time(rng: random.Random) -> str:
    choice = rng.random()
    if choice < 0.7:
        return rng.choice(TIMES)
    if choice < 0.9:
        return rng.choice(TIMES)[: rng.randint(1, 12)]  # prefixes: begins_with and bounds between items
    return rng.choice(["", "0", "2026-01-03T00~", "2026-03", "\u00e9"]) or "2"


def event_items(rng: random.Random, count: int) -> list[dict[str, Any]]:
    items = []
    for _ in range(count):
        item: dict[str, Any] = {
            "pk": {"S": uuid.UUID(int=rng.getrandbits(128)).hex},  # pk order is unrelated to ts order
            "exp": {"N": str(rng.randint(0, 2000))},
            "d": {"S": "x" * rng.choice([0, 10, 300, 4000])},
        }
        if rng.random() > 0.1:  # some events lack the index sort key: in no index
            item["ts"] = {"S": rng.choice(TIMES)}
        for attr in EVENTS_INDEXES.values():
            if rng.random() > 0.15:  # some lack one index's partition key: not in that index
                item[attr] = {"S": rng.choice(PARTITIONS)}
        items.append(item)
    return items


def random_query(
    rng: random.Random, table: str, index: str, attrs: tuple[str, str, list[str]], values: list[str]
) -> dict[str, Any]:
    """A Query on `index` (partition attr, sort attr, table key attrs): key, range, page, filter."""
    hash_attr, range_attr, table_keys = attrs
    names = {"#p": hash_attr}
    expression_values: dict[str, Any] = {":p": {"S": rng.choice([*values, "nobody"])}}
    condition = "#p = :p"
    operator = rng.choice(OPERATORS)
    if operator is not None:
        names["#s"] = range_attr
        first, second = random_time(rng), random_time(rng)
        expression_values[":v"] = {"S": first}
        if operator == "BETWEEN":
            low, high = sorted([first, second])
            expression_values.update({":v": {"S": low}, ":w": {"S": high}})
            condition += " AND #s BETWEEN :v AND :w"
        elif operator == "begins_with":
            condition += " AND begins_with(#s, :v)"
        else:
            condition += f" AND #s {operator} :v"
    request: dict[str, Any] = {"TableName": table, "IndexName": index, "KeyConditionExpression": condition}
    if rng.random() < 0.7:
        request["Limit"] = rng.choice([1, 2, 3, 5, 8, 20, 100])
    if rng.random() < 0.6:
        request["ScanIndexForward"] = rng.random() < 0.5
    if rng.random() < 0.3:
        names["#e"] = "exp"
        expression_values[":now"] = {"N": "1000"}
        request["FilterExpression"] = "#e > :now"
    if rng.random() < 0.15:
        request["Select"] = "COUNT"
    if rng.random() < 0.15:  # a start key that is no item's (as a client may send)
        start = {
            key: {"S": uuid.UUID(int=rng.getrandbits(128)).hex[: rng.randint(1, 32)]} for key in table_keys
        }
        start.update({hash_attr: expression_values[":p"], range_attr: {"S": random_time(rng)}})
        request["ExclusiveStartKey"] = start
    request["ExpressionAttributeNames"] = names
    request["ExpressionAttributeValues"] = expression_values
    return request


def answer(ddb: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        response = dict(ddb.query(**request))
    except ClientError as err:
        return {"error": err.response["Error"]}
    response.pop("ResponseMetadata", None)
    return response


def both(ddb: Any, request: dict[str, Any], *, fast: bool = True) -> dict[str, Any]:
    """The patched answer, asserted equal to moto's own (and, with `fast`, taken on the fast path)."""
    fast_key = f"fast {request['TableName']}"  # per table: other tests' runs may still be querying
    before = moto_index.stats[fast_key]
    patched = answer(ddb, request)
    if fast and "error" not in patched:
        assert moto_index.stats[fast_key] == before + 1, request
    with moto_index.bypassed():
        original = answer(ddb, request)
    assert patched == original, request
    return patched


def chain(ddb: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every page of a query, following LastEvaluatedKey to the end."""
    for _ in range(1000):
        page = both(ddb, request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}
    raise AssertionError(f"no end of pages for {request}")


def pks(page: dict[str, Any]) -> list[str]:
    return [item["pk"]["S"] for item in page["Items"]]


# --- moto pin ----------------------------------------------------------------------------------
def test_moto_is_the_pinned_version_and_shape(moto_server: Any) -> None:
    assert moto.__version__ == moto_index.SUPPORTED_MOTO
    moto_index.check_moto()  # MotoChangedError if a method this module relies on changed
    assert moto_index.installed()  # the embedded server installs it
    # Backend methods that forget every table's cache: a new moto method lands here (or must be
    # classified as a read or a single-table write in moto_index).
    assert moto_index.catch_all_writes() == [
        "batch_execute_statement",
        "batch_write_item",
        "create_backup",
        "create_table",
        "delete_backup",
        "delete_resource_policy",
        "delete_table",
        "execute_statement",
        "execute_transaction",
        "export_table",
        "import_table",
        "put_resource_policy",
        "restore_table_from_backup",
        "restore_table_to_point_in_time",
        "tag_resource",
        "untag_resource",
        "update_continuous_backups",
        "update_table",
        "update_table_global_indexes",
        "update_table_streams",
        "update_time_to_live",
    ]


def test_install_is_counted_and_uninstall_restores_moto() -> None:
    from moto.dynamodb.models.table import Table

    def ours() -> bool:
        return bool(Table.query.__module__ == moto_index.__name__)

    already = moto_index.installed()  # a session's local stack may be running in this process
    moto_index.install()
    moto_index.install()
    moto_index.uninstall()
    assert ours() and moto_index.installed()  # still one install left
    moto_index.uninstall()
    assert ours() == already == moto_index.installed()
    if not already:  # moto's own methods are back
        assert Table.query.__module__ == "moto.dynamodb.models.table"
        assert Table.put_item.__qualname__ == "Table.put_item" and not hasattr(Table.put_item, "__wrapped__")


# --- equivalence ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_random_queries_on_the_events_table_answer_as_moto(ddb: Any, seed: int) -> None:
    rng = random.Random(seed)
    table = _name("idx-events")
    create_events_table(ddb, table)
    put_all(ddb, table, event_items(rng, rng.randint(80, 160)))
    pages = items = chains = 0
    for _ in range(150):
        index, attr = rng.choice(list(EVENTS_INDEXES.items()))
        request = random_query(rng, table, index, (attr, "ts", ["pk"]), PARTITIONS)
        answers = list(chain(ddb, request))
        pages, chains = pages + len(answers), chains + (len(answers) > 1)
        items += sum(page.get("Count", 0) for page in answers)
    # Not vacuous: many pages, chains of pages and results were compared.
    assert pages > 250 and chains > 30 and items > 500, (pages, chains, items)
    assert moto_index.stats[f"builds {table}"] == 4  # no writes: one candidate list per index


@pytest.mark.parametrize("seed", range(2))
def test_random_queries_on_a_table_with_a_sort_key_answer_as_moto(ddb: Any, seed: int) -> None:
    rng = random.Random(100 + seed)
    table = _name("idx-control")
    create_control_table(ddb, table)
    items = []
    for n in range(120):
        item = {
            "pk": {"S": f"p{rng.randint(0, 30)}"},
            "sk": {"S": f"s{n}"},
            "x": {"S": "y" * rng.randint(0, 50)},
        }
        if rng.random() > 0.15:
            item["gpk"] = {"S": rng.choice(PARTITIONS)}
        if rng.random() > 0.1:
            item["gsk"] = {"S": rng.choice(TIMES)}
        items.append(item)
    put_all(ddb, table, items)
    pages = 0
    for _ in range(100):
        request = random_query(rng, table, "by_owner", ("gpk", "gsk", ["pk", "sk"]), PARTITIONS)
        request.pop("FilterExpression", None)  # no `exp` here
        request["ExpressionAttributeNames"].pop("#e", None)
        request["ExpressionAttributeValues"].pop(":now", None)
        pages += len(list(chain(ddb, request)))
    assert pages > 150


def test_pages_stop_at_one_megabyte_as_moto_does(ddb: Any) -> None:
    """Items of ~250 kB: a page without Limit stops at 1 MB, even after its key range ended."""
    table = _name("idx-big")
    create_events_table(ddb, table)
    put_all(
        ddb,
        table,
        [
            {"pk": {"S": f"e{n}"}, "tpk": {"S": "a"}, "ts": {"S": f"{n:02d}"}, "d": {"S": "x" * 250_000}}
            for n in range(1, 9)
        ]
        + [{"pk": {"S": f"s{n}"}, "tpk": {"S": "a"}, "ts": {"S": f"{n:02d}"}} for n in range(1, 9)],
    )
    base = {"TableName": table, "IndexName": "by_time", "ExpressionAttributeValues": {":p": {"S": "a"}}}
    first = both(ddb, {**base, "KeyConditionExpression": "tpk = :p"})
    assert first["Count"] < 16 and "LastEvaluatedKey" in first
    # Three big items and three small ones meet `ts <= 03`; the next big item would pass 1 MB, so
    # moto stops with a LastEvaluatedKey although nothing after it is in range.
    request = {**base, "KeyConditionExpression": "tpk = :p AND ts <= :v"}
    request["ExpressionAttributeValues"] = {":p": {"S": "a"}, ":v": {"S": "03"}}
    limited = both(ddb, request)
    assert limited["Count"] == 6 and "LastEvaluatedKey" in limited
    request = {**base, "KeyConditionExpression": "tpk = :p AND ts >= :v", "ScanIndexForward": False}
    request["ExpressionAttributeValues"] = {":p": {"S": "a"}, ":v": {"S": "06"}}
    backwards = both(ddb, request)  # the same, scanning down
    assert backwards["Count"] == 6 and "LastEvaluatedKey" in backwards
    for forward in (True, False):
        for limit in (None, 1, 2, 3, 5):
            request = {**base, "KeyConditionExpression": "tpk = :p", "ScanIndexForward": forward}
            if limit:
                request["Limit"] = limit
            assert sum(page["Count"] for page in chain(ddb, request)) == 16


def test_a_page_reads_a_window_not_the_table(ddb: Any) -> None:
    table = _name("idx-scale")
    create_events_table(ddb, table)
    put_all(
        ddb,
        table,
        [
            {"pk": {"S": f"e{n:05d}"}, "tpk": {"S": "a" if n % 4 else "b"}, "ts": {"S": f"{n % 700:04d}"}}
            for n in range(2000)
        ],
    )
    request = {
        "TableName": table,
        "IndexName": "by_time",
        "KeyConditionExpression": "tpk = :p AND ts BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"S": "0100"}, ":hi": {"S": "0600"}},
        "Limit": 40,
    }
    for forward in (True, False):
        seen = []
        for page in chain(ddb, {**request, "ScanIndexForward": forward}):
            seen += pks(page)
            assert moto_index.stats[f"window {table}"] <= 41  # Limit + the one setting LastEvaluatedKey
        assert len(seen) == len(set(seen)) == sum(1 for n in range(2000) if n % 4 and 100 <= n % 700 <= 600)
    assert moto_index.stats[f"builds {table}"] == 1  # no writes: one candidate list for every page


# --- writes between queries --------------------------------------------------------------------
def test_writes_between_queries_are_seen(ddb: Any) -> None:
    table = _name("idx-writes")
    create_events_table(ddb, table)

    def event(pk: str, ts: str, tpk: str = "a") -> dict[str, Any]:
        return {"pk": {"S": pk}, "tpk": {"S": tpk}, "ts": {"S": ts}}

    def ids(partition: str = "a") -> list[str]:
        request = {
            "TableName": table,
            "IndexName": "by_time",
            "KeyConditionExpression": "tpk = :p",
            "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        return pks(both(ddb, request))

    def update(pk: str, expression: str, values: dict[str, Any] | None = None) -> None:
        extra = {"ExpressionAttributeValues": values} if values else {}
        ddb.update_item(TableName=table, Key={"pk": {"S": pk}}, UpdateExpression=expression, **extra)

    for item in (event("e1", "2"), event("e2", "1"), event("e3", "3")):
        ddb.put_item(TableName=table, Item=item)
    assert ids() == ["e2", "e1", "e3"]
    ddb.put_item(TableName=table, Item=event("e4", "0"))
    assert ids() == ["e4", "e2", "e1", "e3"]
    ddb.delete_item(TableName=table, Key={"pk": {"S": "e2"}})
    assert ids() == ["e4", "e1", "e3"]
    update("e4", "SET ts = :t", {":t": {"S": "9"}})  # the index sort key moves
    assert ids() == ["e1", "e3", "e4"]
    update("e1", "REMOVE tpk")  # leaves the index
    assert ids() == ["e3", "e4"]
    update("e3", "SET tpk = :p", {":p": {"S": "b"}})  # moves to another partition
    assert ids() == ["e4"] and ids("b") == ["e3"]
    ddb.batch_write_item(
        RequestItems={
            table: [
                {"PutRequest": {"Item": event("e5", "5")}},
                {"DeleteRequest": {"Key": {"pk": {"S": "e4"}}}},
            ]
        }
    )
    assert ids() == ["e5"]
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": event("e6", "4")}},
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "e5"}},
                    "UpdateExpression": "SET ts = :t",
                    "ExpressionAttributeValues": {":t": {"S": "1"}},
                }
            },
        ]
    )
    assert ids() == ["e5", "e6"]
    with pytest.raises(ClientError, match="TransactionCanceled"):  # rolled back: nothing changes
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": event("e7", "0")}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert ids() == ["e5", "e6"]
    ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET ts='0' WHERE pk='e6'")  # noqa: S608 - PartiQL, our name
    assert ids() == ["e6", "e5"]
    ddb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}
    )
    assert ids() == ["e6", "e5"]
    ddb.delete_table(TableName=table)
    create_events_table(ddb, table)
    ddb.put_item(TableName=table, Item=event("e8", "1"))
    assert ids() == ["e8"]
    assert moto_index.stats[f"builds {table}"] >= 12  # each write above forgot the candidates


# --- shapes left to moto -------------------------------------------------------------------------
def test_shapes_not_handled_exactly_fall_through_to_moto(ddb: Any) -> None:
    table = _name("idx-fallback")
    create_events_table(ddb, table)
    put_all(ddb, table, event_items(random.Random(7), 40))
    numbers = _name("idx-numbers")  # a GSI with a numeric sort key
    ddb.create_table(
        TableName=numbers,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_n",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "n", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    put_all(
        ddb, numbers, [{"pk": {"S": f"p{i}"}, "g": {"S": "a"}, "n": {"N": str(i % 7)}} for i in range(30)]
    )
    requests: list[dict[str, Any]] = [
        {  # legacy KeyConditions with a QueryFilter
            "TableName": table,
            "IndexName": "by_time",
            "KeyConditions": {"tpk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
            "QueryFilter": {"exp": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1000"}]}},
        },
        {  # a consistent read on a GSI is an error, moto's own
            "TableName": table,
            "IndexName": "by_time",
            "KeyConditionExpression": "tpk = :p",
            "ExpressionAttributeValues": {":p": {"S": "a"}},
            "ConsistentRead": True,
        },
        {
            "TableName": numbers,
            "IndexName": "by_n",
            "KeyConditionExpression": "g = :g AND n BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":g": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "5"}},
            "Limit": 4,
        },
        {  # a query on the table itself (not an index) is left to moto
            "TableName": table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "x"}},
        },
    ]
    for request in requests:
        fallbacks = moto_index.stats[f"fallback {request['TableName']}"]
        with_patch = both(ddb, request, fast=False)
        assert moto_index.stats[f"fallback {request['TableName']}"] > fallbacks or "error" in with_patch
    assert moto_index.stats[f"fast {table}"] == moto_index.stats[f"fast {numbers}"] == 0


# --- streams: a transaction's backup copies no stream record ----------------------------------------
def test_a_transaction_copies_no_stream_record_and_a_rollback_restores_the_stream(ddb: Any) -> None:
    """moto deep-copies every table a TransactWriteItems touches (its rollback backup), stream
    records included: with the patch the backup shares the records (each transaction used to cost
    O(every write of the table's life)), and a failed transaction still leaves the stream as it was."""
    import copy

    from moto.dynamodb.models import dynamodb_backends

    table = _name("stream")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    for i in range(3):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}})
    backend = next(b for r in dynamodb_backends.values() for b in r.values() if table in b.tables)
    shard = backend.tables[table].stream_shard
    backup = copy.deepcopy(backend.tables[table])
    assert backup.stream_shard is not shard and backup.stream_shard.table is backup
    assert backup.stream_shard.items == shard.items and backup.stream_shard.items is not shard.items
    assert all(a is b for a, b in zip(backup.stream_shard.items, shard.items, strict=True))  # shared

    def records() -> list[str]:
        found = backend.tables[table].stream_shard.items  # the table object a rollback put back
        return [r.record["dynamodb"]["Keys"]["pk"]["S"] for r in found]

    assert records() == ["k0", "k1", "k2"]
    with pytest.raises(ClientError):  # the second put's condition fails: the whole transaction rolls back
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "k3"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "k0"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    assert records() == ["k0", "k1", "k2"]
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": {"pk": {"S": "k4"}}}}])
    assert records() == ["k0", "k1", "k2", "k4"]


def test_a_transaction_backs_up_only_the_items_it_writes_and_a_rollback_restores_them(ddb: Any) -> None:
    """The backup of a TransactWriteItems deep-copies only the items it writes (moto copied the
    whole table, so each transaction cost O(table)); a rollback still restores an item an Update
    of the same failed transaction changed in place, and a put it made."""
    from moto.dynamodb.models import dynamodb_backends

    table = _name("backup")
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    for i in range(4):
        ddb.put_item(TableName=table, Item={"pk": {"S": "p"}, "sk": {"S": f"s{i}"}, "n": {"N": "0"}})
    backend = next(b for r in dynamodb_backends.values() for b in r.values() if table in b.tables)
    originals = dict(backend.tables[table].items[next(iter(backend.tables[table].items))])
    update = {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": "p"}, "sk": {"S": "s1"}},
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": "7"}},
        }
    }
    failing = {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": "p"}, "sk": {"S": "s2"}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    new = {"Put": {"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"S": "s9"}}}}
    with pytest.raises(ClientError):  # the update runs before the failing condition: rolled back
        ddb.transact_write_items(TransactItems=[update, new, failing])
    backup = backend.tables[table]  # the rollback put the backup in the table's place
    by_range = next(iter(backup.items.values()))
    shared = sorted(k.value for k, item in by_range.items() if item is originals[k])
    assert shared == ["s0", "s3"]  # not written: shared, not copied; s1 and s2 were deep-copied
    got = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "p"}},
        ConsistentRead=True,
    )["Items"]
    assert [(i["sk"]["S"], i.get("n", {}).get("N")) for i in got] == [
        ("s0", "0"),
        ("s1", "0"),
        ("s2", "0"),
        ("s3", "0"),
    ]
    ddb.transact_write_items(TransactItems=[update])
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "p"}, "sk": {"S": "s1"}}, ConsistentRead=True)
    assert got["Item"]["n"]["N"] == "7"
