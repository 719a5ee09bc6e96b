"""DynamoEventStore against a scripted client: partial batch answers are retried with backoff, and an
event is reported failed exactly when its item was never written."""

from __future__ import annotations

from typing import Any

import pytest
from activitylog.dal.events import DynamoEventStore
from activitylog.dal.retry import Backoff
from activitylog.models.errors import StorageUnavailableError
from activitylog.models.query import EventRecord
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


class ScriptedClient:
    """Leaves the items named in `refuse` unprocessed `times` times; can throttle whole calls."""

    def __init__(self, refuse: set[str] = frozenset(), times: int = 1, throttle_calls: int = 0) -> None:
        self.refuse, self.times, self.throttle_calls = set(refuse), times, throttle_calls
        self.calls: list[int] = []
        self.written: list[str] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, requests),) = RequestItems.items()
        assert len(requests) <= 25
        self.calls.append(len(requests))
        if self.throttle_calls > 0:
            self.throttle_calls -= 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "BatchWriteItem")
        left = []
        for request in requests:
            pk = request["PutRequest"]["Item"]["pk"]["S"]
            if pk in self.refuse and self.times > 0:
                left.append(request)
            else:
                self.written.append(pk)
        if left:
            self.times -= 1
        return {"UnprocessedItems": {table: left} if left else {}}


def store(client: Any, attempts: int = 4) -> tuple[DynamoEventStore, list[float]]:
    slept: list[float] = []
    return DynamoEventStore("events", client, Backoff(attempts=attempts, sleep=slept.append)), slept


def test_unprocessed_items_are_retried_until_stored() -> None:
    client = ScriptedClient(refuse={"acme#e3"}, times=2)
    events, slept = store(client)
    assert events.put_events([record(i) for i in range(30)]) == set()
    assert sorted(client.written) == sorted(f"acme#e{i}" for i in range(30))
    assert len(slept) == 2  # one backoff per retry
    assert client.calls == [25, 1, 1, 5]


def test_items_never_processed_are_reported_failed_and_nothing_else() -> None:
    client = ScriptedClient(refuse={"acme#e1"}, times=99)
    events, slept = store(client, attempts=4)
    assert events.put_events([record(0), record(1), record(2)]) == {"e1"}
    assert "acme#e1" not in client.written and {"acme#e0", "acme#e2"} <= set(client.written)
    assert len(slept) == 3


def test_whole_call_throttling_backs_off_and_retries() -> None:
    client = ScriptedClient(throttle_calls=2)
    events, slept = store(client)
    assert events.put_events([record(0)]) == set()
    assert client.written == ["acme#e0"] and len(slept) == 2


def test_extra_target_items_go_first_and_a_failed_extra_fails_its_event() -> None:
    client = ScriptedClient(refuse={"acme#e0#1"}, times=99)
    events, _ = store(client)
    assert events.put_events([record(0, targets=2), record(1, targets=2)]) == {"e0"}
    assert "acme#e0" not in client.written  # the event item is never written without its index items
    assert client.written.index("acme#e1#1") < client.written.index("acme#e1")


def test_other_errors_are_not_swallowed() -> None:
    class Broken:
        def batch_write_item(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ValidationException"}}, "BatchWriteItem")

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
