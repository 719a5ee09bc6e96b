"""Fault injection on the real ingest path (gateway -> authorizer -> handler -> DynamoDB on moto):
throttled and refused writes never lose an event or report one twice, and replays after a
(simulated) timeout store each event once."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from activitylog.dal.events import DynamoEventStore
from activitylog.dal.retry import Backoff
from activitylog.handlers import wiring
from activitylog_ops.local.service import LocalService
from botocore.exceptions import ClientError

from tests.integration.conftest import Keys

THROTTLES = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")


class FlakyDynamo:
    """The real client, except that event writes (conditional PutItem, TransactWriteItems) are
    throttled (`throttle`: the call is refused) or refused as over capacity (`drop`), on a seeded
    schedule; a refused write is really not written. Thread-safe: the store writes concurrently."""

    def __init__(self, real: Any, seed: int, throttle: float, drop: float, get_throttle: float = 0.0) -> None:
        self.real, self.rng, self.lock = real, random.Random(seed), threading.Lock()
        self.throttle, self.drop, self.get_throttle = throttle, drop, get_throttle
        self.injected = {"throttled_calls": 0, "dropped_items": 0}

    def _refusal(self, operation: str, items: int) -> ClientError | None:
        with self.lock:
            if self.rng.random() < self.throttle:
                self.injected["throttled_calls"] += 1
                code = self.rng.choice(THROTTLES)
            elif self.rng.random() < self.drop:
                self.injected["dropped_items"] += items
                code = "ProvisionedThroughputExceededException"
            else:
                return None
        if operation == "TransactWriteItems":
            reasons = [{"Code": "ThrottlingError"}] + [{"Code": "None"}] * (items - 1)
            return ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                    "CancellationReasons": reasons,
                },  # type: ignore[typeddict-unknown-key]
                operation,
            )
        return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    def put_item(self, **kwargs: Any) -> Any:
        if (refused := self._refusal("PutItem", 1)) is not None:
            raise refused
        return self.real.put_item(**kwargs)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if (refused := self._refusal("TransactWriteItems", len(kwargs["TransactItems"]))) is not None:
            raise refused
        return self.real.transact_write_items(**kwargs)

    def batch_get_item(self, **kwargs: Any) -> Any:
        with self.lock:
            refused = self.rng.random() < self.get_throttle
        if refused:
            raise ClientError({"Error": {"Code": THROTTLES[0], "Message": "injected"}}, "BatchGetItem")
        return self.real.batch_get_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def real_client(stack: LocalService) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name="us-east-1")


@pytest.fixture
def inject(local_stack: LocalService) -> Iterator[Any]:
    """inject(**faults) makes the functions' event store use a FlakyDynamo until the test ends: a
    container of its own, put in for the handlers of this process (local mode runs them in-process)."""
    before = wiring.container()

    def start(
        seed: int = 1, throttle: float = 0.0, drop: float = 0.0, get_throttle: float = 0.0
    ) -> FlakyDynamo:
        flaky = FlakyDynamo(real_client(local_stack), seed, throttle, drop, get_throttle)
        store = DynamoEventStore(
            local_stack.env["ACTIVITYLOG_EVENTS_TABLE"], flaky, Backoff(attempts=3, sleep=lambda _: None)
        )
        wiring.use(wiring.Container(environ=before.environ).override(events=store))
        return flaky

    yield start
    wiring.use(before)


def stored_ids(stack: LocalService, tenant: str, ids: list[str]) -> set[str]:
    """What is really in the events table (consistent reads of the main items, not through the API)."""
    ddb, table = real_client(stack), stack.env["ACTIVITYLOG_EVENTS_TABLE"]
    found = set()
    for event_id in ids:
        item = ddb.get_item(TableName=table, Key={"pk": {"S": f"{tenant}#{event_id}"}}, ConsistentRead=True)
        if "Item" in item:
            found.add(event_id)
    return found


def batch(prefix: str, n: int = 100) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}-{i}",
            "action": "asset.edited",
            "actor": {"id": f"u{i % 7}"},
            # two targets: an extra item per event, written with the main item in one transaction
            "targets": [{"type": "asset", "id": str(i)}, {"type": "folder", "id": str(i % 3)}],
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("seed", "throttle", "drop"), [(1, 0.3, 0.0), (2, 0.0, 0.3), (3, 0.25, 0.25), (4, 0.6, 0.5)]
)
def test_every_event_is_accepted_and_stored_or_failed_and_absent(
    keys: Keys, inject: Any, local_stack: LocalService, seed: int, throttle: float, drop: float
) -> None:
    # Given a store whose writes are throttled and refused
    api = keys.api()
    flaky = inject(seed=seed, throttle=throttle, drop=drop)
    sent = batch(f"s{seed}", 100)
    ids = [e["id"] for e in sent]

    # When a batch of 100 events is ingested over HTTP
    answer = api.post_events(sent)

    # Then each event is either accepted and stored, or failed and absent: never both, never neither
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["index"] for r in body["results"]] == list(range(100))
    accepted = {r["id"] for r in body["results"] if r["status"] == "accepted"}
    failed = {r["id"] for r in body["results"] if r["status"] == "failed"}
    assert accepted | failed == set(ids) and not accepted & failed
    assert stored_ids(local_stack, api.tenant, ids) == accepted
    assert body["accepted"] == len(accepted) and body.get("failed", 0) == len(failed)
    assert sum(flaky.injected.values()) > 0, "the schedule injected nothing: the test proved nothing"
    # And the quota counts exactly what is stored
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == len(accepted)
    # And the API lists exactly the stored events (index entries of failed events are never shown)
    assert set(api.all_ids()) == accepted

    # When the client retries the failed ones with their ids, faults gone / Then all are stored once
    inject(seed=seed, throttle=0.0, drop=0.0)
    retry = api.post_events([e for e in sent if e["id"] in failed]) if failed else None
    if retry is not None:
        assert retry.json()["accepted"] == len(failed)
    assert sorted(api.all_ids()) == sorted(ids)
    assert api.request("GET", "/v1/events/count").json()["count"] == 100
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == 100


def test_a_throttled_idempotency_check_stores_nothing_and_says_retry(
    keys: Keys, inject: Any, local_stack: LocalService
) -> None:
    api = keys.api()
    inject(get_throttle=1.0)
    sent = batch("g", 10)
    answer = api.post_events(sent)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "unavailable"
    assert stored_ids(local_stack, api.tenant, [e["id"] for e in sent]) == set()
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == 0


def test_replaying_a_batch_with_ids_after_a_timeout_stores_each_event_once(keys: Keys) -> None:
    # Given a batch that was stored but whose answer the client never saw (timeout)
    api = keys.api()
    sent = batch("r", 100)
    first = api.post_events(sent)
    assert first.json()["accepted"] == 100, [r for r in first.json()["results"] if r["status"] != "accepted"][
        :3
    ]
    before = {e["id"]: e for e in (api.request("GET", f"/v1/events/{i}").json() for i in ("r-0", "r-99"))}
    # When the whole batch is sent again, twice, with a changed description on the second replay
    for replay in (sent, [{**e, "description": "replayed"} for e in sent]):
        again = api.post_events(replay)
        assert again.status_code == 200 and again.json()["accepted"] == 100
    # Then each event is stored once, unchanged, and counted once
    assert api.request("GET", "/v1/events/count").json()["count"] == 100
    assert sorted(api.all_ids()) == sorted(e["id"] for e in sent)
    assert api.request("GET", "/v1/usage").json()["events_accepted"] == 100
    for event_id, event in before.items():
        assert api.request("GET", f"/v1/events/{event_id}").json() == event


def test_replaying_a_batch_without_ids_under_the_same_idempotency_key_stores_it_once(keys: Keys) -> None:
    api = keys.api()
    sent = [{"action": "user.login", "actor": {"id": f"u{i}"}} for i in range(50)]
    headers = {"Idempotency-Key": "batch-0001"}
    first = api.post_events(sent, headers=headers)
    assert first.status_code == 200 and first.json()["accepted"] == 50
    replay = api.post_events(sent, headers=headers)
    assert replay.json() == first.json()  # the first answer, with the same generated ids
    assert api.request("GET", "/v1/events/count").json()["count"] == 50
    changed = api.post_events([*sent, {"action": "user.logout", "actor": {"id": "u"}}], headers=headers)
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "conflict"
    assert api.request("GET", "/v1/events/count").json()["count"] == 50


def test_replaying_a_partly_failed_batch_without_ids_under_the_same_key_stores_each_once(
    keys: Keys, inject: Any
) -> None:
    api = keys.api()
    sent = [{"action": "user.login", "actor": {"id": f"u{i}"}} for i in range(50)]
    headers = {"Idempotency-Key": "batch-0002"}
    inject(seed=7, drop=0.5)
    first = api.post_events(sent, headers=headers).json()
    assert 0 < first["accepted"] < 50 and first["failed"] > 0
    inject(seed=7)  # the faults are gone; the client replays the whole batch with the same key
    api.post_events(sent, headers=headers)
    assert api.request("GET", "/v1/events/count").json()["count"] == 50
