"""DynamoEventStore against a scripted client: busy writes are retried with backoff, an event is
reported failed exactly when its item was never written, and the first write of an id wins."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from activitylog.dal.events import DynamoEventStore
from activitylog.dal.retry import Backoff
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.query import EventRecord, WriteOutcome
from botocore.exceptions import ClientError


def record(i: int, targets: int = 0) -> EventRecord:
    return EventRecord(
        tenant="acme",
        event_id=f"e{i}",
        ts=f"2026-11-23T10:00:00.000Z#e{i}",
        expires_epoch=1_900_000_000,
        shard=0,
        actor_id="u1",
        action="user.login",
        targets=[("asset", str(t)) for t in range(targets)],
        document="{}",
    )


def _error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "Write")  # type: ignore[arg-type]


class ScriptedClient:
    """A table of items: conditional puts and transactions as DynamoDB does them, and scripted
    refusals (busy `times` times for the items named in `busy`)."""

    def __init__(self, busy: set[str] = frozenset(), times: int = 1, conflicts: int = 0) -> None:
        self.busy, self.times, self.conflicts = set(busy), times, conflicts
        self.table: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    def _refuse(self, pk: str) -> bool:
        if pk in self.busy and self.times > 0:
            self.times -= 1
            return True
        return False

    def put_item(self, TableName: str, Item: dict[str, Any], ConditionExpression: str) -> dict[str, Any]:
        assert ConditionExpression == "attribute_not_exists(pk)"
        pk = Item["pk"]["S"]
        self.calls.append(f"put {pk}")
        if self._refuse(pk):
            raise _error("ProvisionedThroughputExceededException")
        if pk in self.table:
            raise _error("ConditionalCheckFailedException")
        self.table[pk] = Item
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        items = [t["Put"] for t in TransactItems]
        main = items[0]["Item"]["pk"]["S"]
        self.calls.append(f"transact {main} +{len(items) - 1}")
        assert items[0]["ConditionExpression"] == "attribute_not_exists(pk)"
        assert all("ConditionExpression" not in t for t in items[1:])
        if self.conflicts > 0:
            self.conflicts -= 1
            raise _error(
                "TransactionCanceledException", ["TransactionConflict"] + ["None"] * (len(items) - 1)
            )
        if self._refuse(main):
            raise _error("TransactionCanceledException", ["ThrottlingError"] + ["None"] * (len(items) - 1))
        if main in self.table:
            raise _error(
                "TransactionCanceledException", ["ConditionalCheckFailed"] + ["None"] * (len(items) - 1)
            )
        for t in items:
            self.table[t["Item"]["pk"]["S"]] = t["Item"]
        return {}


def store(client: Any, attempts: int = 4) -> tuple[DynamoEventStore, list[float]]:
    slept: list[float] = []
    return DynamoEventStore("events", client, Backoff(attempts=attempts, sleep=slept.append)), slept


def test_busy_writes_are_retried_until_stored() -> None:
    client = ScriptedClient(busy={"acme#e3"}, times=2)
    events, slept = store(client)
    assert events.put_events([record(i) for i in range(30)]) == WriteOutcome()
    assert sorted(client.table) == sorted(f"acme#e{i}" for i in range(30))
    assert len(slept) == 2  # one backoff per retry


def test_writes_still_busy_after_every_retry_are_reported_failed_and_nothing_else() -> None:
    client = ScriptedClient(busy={"acme#e1"}, times=99)
    events, slept = store(client, attempts=4)
    assert events.put_events([record(0), record(1), record(2)]) == WriteOutcome(failed=frozenset({"e1"}))
    assert set(client.table) == {"acme#e0", "acme#e2"}
    assert len(slept) == 3


def test_the_first_write_of_an_id_wins_and_a_later_one_is_taken_not_stored() -> None:
    client = ScriptedClient()
    events, _ = store(client)
    first = record(0)
    assert events.put_events([first]) == WriteOutcome()
    other = dataclasses.replace(first, actor_id="someone-else", document='{"other": 1}')
    assert events.put_events([other]) == WriteOutcome(taken=frozenset({"e0"}))
    assert client.table["acme#e0"]["d"] == {"S": "{}"}  # the first copy stands


def test_an_event_with_extra_targets_is_one_transaction_all_or_nothing() -> None:
    client = ScriptedClient()
    events, _ = store(client)
    assert events.put_events([record(0, targets=3)]) == WriteOutcome()
    assert client.calls == ["transact acme#e0 +2"]
    assert set(client.table) == {"acme#e0", "acme#e0#1", "acme#e0#2"}
    # a second copy with other targets loses whole: none of its index items is written
    rival = record(0, targets=5)
    assert events.put_events([rival]) == WriteOutcome(taken=frozenset({"e0"}))
    assert set(client.table) == {"acme#e0", "acme#e0#1", "acme#e0#2"}


def test_a_transaction_conflict_is_retried() -> None:
    client = ScriptedClient(conflicts=2)
    events, slept = store(client)
    assert events.put_events([record(0, targets=2)]) == WriteOutcome()
    assert len(slept) == 2 and "acme#e0#1" in client.table


def test_other_errors_are_not_swallowed() -> None:
    class Broken:
        def put_item(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ValidationException"}}, "PutItem")

    events, _ = store(Broken())
    with pytest.raises(ClientError):
        events.put_events([record(0)])


def test_batch_get_retries_unprocessed_keys_then_gives_up_loudly() -> None:
    class Slow:
        def __init__(self, stubborn: bool) -> None:
            self.stubborn, self.calls = stubborn, 0

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
            self.calls += 1
            keys = RequestItems["events"]["Keys"]
            if self.stubborn or self.calls == 1:
                return {"Responses": {"events": []}, "UnprocessedKeys": RequestItems}
            return {"Responses": {"events": [{"pk": k["pk"]} for k in keys]}, "UnprocessedKeys": {}}

    events, _ = store(Slow(stubborn=False))
    assert events.existing_ids("acme", ["a", "b"]) == {"a", "b"}
    events, _ = store(Slow(stubborn=True))
    with pytest.raises(StorageUnavailableError):
        events.existing_ids("acme", ["a"])
