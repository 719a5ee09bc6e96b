"""Streaming, with fakes: the router, the deliverer's schedule and states, signing, replays by
received time, and the destination rules (docs/streaming.md, API.md "Streaming destinations")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import deliveries as deliverer
from activitylog.logic import destinations as api
from activitylog.logic.deliveries import DelivererPorts, DisabledNotice
from activitylog.logic.destination_send import SendPorts
from activitylog.logic.ingest import prepare
from activitylog.logic.query import Budget, QueryPorts, iter_received
from activitylog.logic.stream_router import RouterPorts, StreamedEvent, cut, route
from activitylog.models.destinations import (
    DeliveryMessage,
    DestinationCreate,
    DestinationFilters,
    DestinationUpdate,
    ReplayMessage,
    ReplayRequest,
)
from activitylog.models.errors import ConflictError, DestinationNotAllowedError, InvalidInputError
from activitylog.models.filters import EventFilter
from activitylog.models.settings import TenantSettings
from pydantic import ValidationError
from standardwebhooks import Webhook

from tests.fakes import FakeAlertStore, FakeDestinationStore, FakeEventStore, FakeQueue, FakeRollupStore

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class Answer:
    delivered: bool
    http_status: int | None = None
    error: str | None = None
    duration_ms: int = 3


@dataclass
class FakeWebhooks:
    """Answers from a script (default 2xx); keeps every request."""

    script: list[Answer] = field(default_factory=list)
    requests: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    refuse: bool = False

    def check(self, url: str) -> object:
        if self.refuse or "internal" in url:
            raise DestinationNotAllowedError("the host resolves to a private address")
        return url

    def post(self, url: str, body: bytes, headers: Any) -> Answer:
        self.requests.append((url, body, dict(headers)))
        return self.script.pop(0) if self.script else Answer(True, 204)


@dataclass
class FakeTargets:
    objects: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def put_object(self, **kwargs: Any) -> Answer:
        self.objects.append(kwargs)
        return Answer(True)

    def put_events(self, **kwargs: Any) -> Answer:
        self.events.append(kwargs)
        return Answer(True)


@dataclass
class World:
    store: FakeDestinationStore = field(default_factory=FakeDestinationStore)
    queue: FakeQueue = field(default_factory=FakeQueue)
    events: FakeEventStore = field(default_factory=FakeEventStore)
    webhooks: FakeWebhooks = field(default_factory=FakeWebhooks)
    targets: FakeTargets = field(default_factory=FakeTargets)
    notices: list[DisabledNotice] = field(default_factory=list)

    def api(self) -> api.DestinationPorts:
        return api.DestinationPorts(self.store, self.queue, SendPorts(self.webhooks, self.targets))

    def router(self) -> RouterPorts:
        return RouterPorts(self.store, self.queue)

    def deliverer(self) -> DelivererPorts:
        return DelivererPorts(
            store=self.store,
            queue=self.queue,
            events=self.events,
            send=SendPorts(self.webhooks, self.targets),
            query=lambda tenant: QueryPorts(events=self.events, known_actions=set, shard_count=1),
            disabled=self.notices.append,
        )

    def accept(self, tenant: str, raws: list[dict[str, Any]], *, now: datetime) -> list[StreamedEvent]:
        """Ingest `raws` as ingestion does; the stream records of their event items."""
        records = []
        for i, raw in enumerate(raws):
            rejection, record = prepare(i, raw, tenant=tenant, now=now, settings=TenantSettings(), seen=set())
            assert rejection is None and record is not None, rejection
            records.append(record)
        self.events.put_events(records)
        return [
            StreamedEvent(str(1000 + n), tenant, r.document, json.loads(r.document))
            for n, r in enumerate(records)
        ]

    def create(self, tenant: str, now: datetime = T0, **fields: Any) -> tuple[str, str]:
        body = {"name": "SIEM", "type": "webhook", "url": "https://siem.example.com/hook", **fields}
        destination, secret = api.create(
            tenant, DestinationCreate.model_validate(body), now=now, ports=self.api()
        )
        return destination.id, secret

    def run_queue(self, now: datetime) -> list[int | None]:
        """Handle every message sent so far, once; the delays they asked for."""
        sent, self.queue.sent = self.queue.sent, []
        out = []
        for body in sent:
            kind = json.loads(body)["kind"]
            message = (DeliveryMessage if kind == "delivery" else ReplayMessage).model_validate_json(body)
            out.append(deliverer.handle(message, now=now, ports=self.deliverer()))
        return out


def verify(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Standard Webhooks verification at the delivery's own time (the library checks the timestamp
    against the real clock, and these deliveries happen at T0): one of the signatures is `secret`'s."""
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, body.decode())
    assert expected in headers["webhook-signature"].split(" ")
    payload: dict[str, Any] = json.loads(body)
    return payload


def event(n: int, action: str = "user.login", **extra: Any) -> dict[str, Any]:
    return {"id": f"evt-{n:05d}", "action": action, "actor": {"id": f"user-{n % 3}"}, **extra}


# --- the router -----------------------------------------------------------------------------------


def test_each_event_goes_to_every_destination_whose_filters_select_it_and_nothing_else() -> None:
    world = World()
    logins, _ = world.create("acme", filters={"actions": ["user.login"]})
    everything, _ = world.create("acme")
    world.create("other")  # another tenant's destination gets none of acme's events
    streamed = world.accept("acme", [event(1), event(2, "asset.download")], now=T0 + timedelta(seconds=1))

    assert route(streamed, now=T0, ports=world.router()) == set()

    by_destination: dict[str, list[str]] = {}
    for (tenant, destination, _id), (record, ids) in world.store.deliveries.items():
        assert tenant == "acme" and record.status == "pending"
        by_destination.setdefault(destination, []).extend(ids)
    assert by_destination == {logins: ["evt-00001"], everything: ["evt-00001", "evt-00002"]}
    assert len(world.queue.sent) == 2


def test_events_received_before_a_destination_existed_are_not_routed_to_it() -> None:
    world = World()
    world.create("acme", now=T0)
    early = world.accept("acme", [event(1)], now=T0 - timedelta(milliseconds=1))
    late = world.accept("acme", [event(2)], now=T0)
    route(early + late, now=T0, ports=world.router())
    [(_, ids)] = world.store.deliveries.values()
    assert ids == ["evt-00002"]


def test_paused_and_disabled_destinations_get_nothing() -> None:
    world = World()
    world.create("acme", enabled=False)  # paused
    disabled, _ = world.create("acme")
    world.store.destinations[("acme", disabled)].state = "disabled"
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    assert world.store.deliveries == {} and world.queue.sent == []


def test_deliveries_hold_at_most_100_events_and_256_kib() -> None:
    big = "x" * 20_000
    small = [StreamedEvent(str(i), "t", '{"id":"e"}', {}) for i in range(250)]
    assert [len(c) for c in cut(small)] == [100, 100, 50]
    large = [StreamedEvent(str(i), "t", json.dumps({"d": big}), {}) for i in range(30)]
    chunks = cut(large)
    assert all(sum(len(e.text) + 1 for e in c) <= 256 * 1024 for c in chunks)
    assert sum(len(c) for c in chunks) == 30 and len(chunks) == 3


def test_a_delivery_that_cannot_be_enqueued_fails_its_earliest_record_and_leaves_no_ledger_item() -> None:
    world = World()
    world.create("acme")
    streamed = world.accept("acme", [event(n) for n in range(150)], now=T0)
    world.queue.refuse = 1  # the first delivery (events 0..99) is not taken

    failed = route(streamed, now=T0, ports=world.router())

    assert failed == {streamed[0].ref}  # the stream retries from the first event of that delivery
    [(record, ids)] = world.store.deliveries.values()  # the orphan was removed, the second is kept
    assert ids == [f"evt-{n:05d}" for n in range(100, 150)] and record.event_count == 50
    assert {m[3] for m in world.store.markers} == {record.id}


def test_a_ledger_write_that_fails_fails_that_delivery_only() -> None:
    world = World()
    world.create("acme")
    streamed = world.accept("acme", [event(n) for n in range(120)], now=T0)
    world.store.fail_puts = 1
    assert route(streamed, now=T0, ports=world.router()) == {streamed[0].ref}
    assert len(world.queue.sent) == 1


# --- delivering -----------------------------------------------------------------------------------


def test_a_delivery_is_signed_as_standard_webhooks_says_and_carries_the_api_shape_of_each_event() -> None:
    world = World()
    _, secret = world.create("acme")
    route(world.accept("acme", [event(1, description="hi")], now=T0), now=T0, ports=world.router())
    assert world.run_queue(T0) == [None]

    [(url, body, headers)] = world.webhooks.requests
    assert url == "https://siem.example.com/hook"
    payload = verify(secret, body, headers)
    assert payload["type"] == "activitylog.events"
    [delivered] = payload["data"]["events"]
    assert delivered["id"] == "evt-00001" and delivered["description"] == "hi"
    assert delivered["outcome"] == "success" and "targets" in delivered  # defaults filled in
    [(record, _)] = world.store.deliveries.values()
    assert headers["webhook-id"] == record.id
    assert record.status == "delivered" and record.attempts == 1 and not world.store.markers
    assert world.store.list_destinations("acme")[0].last_delivered_at == T0


def test_failed_attempts_follow_the_contract_schedule_then_the_delivery_is_failed() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    [body] = world.queue.sent
    message = DeliveryMessage.model_validate_json(body)
    world.webhooks.script = [Answer(False, 500, "HTTP 500")] * 8
    now, delays = T0, []
    for _ in range(8):
        delay = deliverer.handle(message, now=now, ports=world.deliverer())
        delays.append(delay)
        now += timedelta(seconds=delay or 0)
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000, None]
    [(record, _)] = world.store.deliveries.values()
    assert record.status == "failed" and record.attempts == 8 and record.last_http_status == 500
    assert not world.store.markers  # a failed delivery no longer counts in the lag
    assert world.store.get_destination("acme", destination_id).state == "failing"
    # a duplicate message of a finished delivery sends nothing
    assert deliverer.handle(message, now=now, ports=world.deliverer()) is None
    assert len(world.webhooks.requests) == 8


def test_a_message_back_before_its_attempt_is_due_waits_for_the_rest_of_the_delay() -> None:
    world = World()
    world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    message = DeliveryMessage.model_validate_json(world.queue.sent[0])
    world.webhooks.script = [Answer(False, None, "timed out after 15 s")]
    assert deliverer.handle(message, now=T0, ports=world.deliverer()) == 5
    assert deliverer.handle(message, now=T0 + timedelta(seconds=2), ports=world.deliverer()) == 3
    assert len(world.webhooks.requests) == 1


def test_nothing_is_delivered_to_a_destination_deleted_while_its_deliveries_were_queued() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    api.delete("acme", destination_id, ports=world.api())
    assert world.run_queue(T0) == [None]
    assert world.webhooks.requests == []


def test_a_paused_destination_fails_its_queued_deliveries_without_sending() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    api.update("acme", destination_id, DestinationUpdate(enabled=False), now=T0, ports=world.api())
    world.run_queue(T0)
    [(record, _)] = world.store.deliveries.values()
    assert record.status == "failed" and record.last_error == "the destination is paused"
    assert world.webhooks.requests == []


def test_expired_events_are_left_out_of_a_delivery() -> None:
    world = World()
    world.create("acme")
    streamed = world.accept("acme", [event(1), event(2)], now=T0)
    route(streamed, now=T0, ports=world.router())
    del world.events.items["acme#evt-00001"]  # TTL removed it meanwhile
    world.run_queue(T0)
    payload = json.loads(world.webhooks.requests[0][1])
    assert [e["id"] for e in payload["data"]["events"]] == ["evt-00002"]


def test_five_days_of_failures_disable_the_destination_once_with_one_notice() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    world.webhooks.script = [Answer(False, 503, "HTTP 503")] * 100
    day = timedelta(days=1)
    for n, at in enumerate([T0, T0 + 2 * day, T0 + 5 * day, T0 + 5 * day + timedelta(seconds=1)]):
        route(world.accept("acme", [event(n)], now=at), now=at, ports=world.router())
        world.run_queue(at)
    stored = world.store.get_destination("acme", destination_id)
    assert stored.state == "disabled" and stored.failing_since == T0
    assert [n.failing_since for n in world.notices] == [T0]  # one notice, at the first disabling failure
    subject, text, html = deliverer.disabled_notice(world.notices[0])
    assert "disabled" in subject and destination_id in text and "&#x27;" in html
    # re-enabling clears the state
    api.update("acme", destination_id, DestinationUpdate(enabled=True), now=T0 + 6 * day, ports=world.api())
    again = world.store.get_destination("acme", destination_id)
    assert again.state == "active" and again.failing_since is None


def test_a_success_clears_the_failing_state() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    world.webhooks.script = [Answer(False, 500, "HTTP 500"), Answer(True, 200)]
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    message = DeliveryMessage.model_validate_json(world.queue.sent[0])
    deliverer.handle(message, now=T0, ports=world.deliverer())
    assert world.store.get_destination("acme", destination_id).state == "failing"
    deliverer.handle(message, now=T0 + timedelta(seconds=5), ports=world.deliverer())
    stored = world.store.get_destination("acme", destination_id)
    assert stored.state == "active" and stored.failing_since is None


def test_a_manual_retry_makes_one_attempt_of_a_failed_delivery_only() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    [(record, _)] = world.store.deliveries.values()
    with pytest.raises(ConflictError):
        api.retry("acme", destination_id, record.id, now=T0, ports=world.api())  # pending: not failed
    world.store.deliveries[("acme", destination_id, record.id)][0].status = "failed"
    world.queue.sent.clear()
    api.retry("acme", destination_id, record.id, now=T0, ports=world.api())
    world.webhooks.script = [Answer(False, 500, "HTTP 500")]
    assert world.run_queue(T0) == [None]  # no schedule after a manual retry: failed again
    [(after, _)] = world.store.deliveries.values()
    assert after.status == "failed" and after.attempts == 1 and not after.manual


def test_rotation_signs_with_both_secrets_for_24_hours_then_only_the_new_one() -> None:
    world = World()
    destination_id, old = world.create("acme")
    new = api.rotate_secret("acme", destination_id, now=T0, ports=world.api())
    api.test("acme", destination_id, now=T0 + timedelta(hours=23), ports=world.api())
    api.test("acme", destination_id, now=T0 + timedelta(hours=24), ports=world.api())
    (_, first, h1), (_, second, h2) = world.webhooks.requests
    assert len(h1["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        verify(secret, first, h1)
    assert len(h2["webhook-signature"].split(" ")) == 1
    verify(new, second, h2)
    with pytest.raises(AssertionError):
        verify(old, second, h2)
    assert json.loads(first)["type"] == "activitylog.test"


def test_s3_and_eventbridge_deliveries_assume_the_role_with_the_tenant_external_id() -> None:
    world = World()
    role = "arn:aws:iam::123456789012:role/activitylog-writer"
    world.create(
        "acme",
        type="s3",
        url=None,
        bucket="acme-logs",
        prefix="audit/",
        role_arn=role,
        external_id="activitylog:acme",
    )
    bus = "arn:aws:events:eu-west-1:123456789012:event-bus/audit"
    world.create("acme", type="eventbridge", url=None, event_bus_arn=bus, role_arn=role)
    route(world.accept("acme", [event(1), event(2)], now=T0), now=T0, ports=world.router())
    world.run_queue(T0)
    [obj] = world.targets.objects
    assert obj["external_id"] == "activitylog:acme" and obj["bucket"] == "acme-logs"
    assert obj["key"].startswith("audit/2026/12/01/12/") and obj["key"].endswith(".jsonl.gz")
    assert [json.loads(line)["id"] for line in obj["lines"]] == ["evt-00001", "evt-00002"]
    [put] = world.targets.events
    assert put["external_id"] == "activitylog:acme" and put["event_bus_arn"] == bus
    assert len(put["details"]) == 2


# --- the rules of a destination -------------------------------------------------------------------


def test_an_external_id_must_be_the_tenant_s_own() -> None:
    world = World()
    role = "arn:aws:iam::123456789012:role/w"
    fields: dict[str, Any] = {"type": "s3", "url": None, "bucket": "acme-logs", "role_arn": role}
    world.create("acme", external_id="activitylog:acme:prod", **fields)
    for foreign in ("activitylog:other", "activitylog:acmecorp", "activitylog:acme-x"):
        with pytest.raises(InvalidInputError):
            world.create("acme", external_id=foreign, **fields)
    with pytest.raises(ValidationError):
        world.create("acme", external_id="someone-else", **fields)


def test_type_fields_are_required_and_foreign_ones_refused() -> None:
    with pytest.raises(ValidationError, match="needs url"):
        DestinationCreate.model_validate({"name": "x", "type": "webhook"})
    with pytest.raises(ValidationError, match="has no bucket"):
        DestinationCreate.model_validate(
            {"name": "x", "type": "webhook", "url": "https://a.example", "bucket": "b1b"}
        )
    with pytest.raises(ValidationError, match="needs external_id"):
        DestinationCreate.model_validate(
            {"name": "x", "type": "s3", "bucket": "abc", "role_arn": "arn:aws:iam::123456789012:role/r"}
        )
    for prefix in ("../up", "a//b", "a/./b", "sp ace"):
        with pytest.raises(ValidationError):
            DestinationCreate.model_validate(
                {"name": "x", "type": "s3", "bucket": "abc", "prefix": prefix, "external_id": "activitylog:t",
                 "role_arn": "arn:aws:iam::123456789012:role/r"}
            )  # fmt: skip


def test_a_destination_filter_has_no_time_range() -> None:
    with pytest.raises(ValidationError, match="no `from`"):
        DestinationFilters.model_validate({"from": "2026-01-01T00:00:00Z"})
    DestinationFilters.model_validate({"actions": ["user.*"], "actor_id": None, "outcome": None})


def test_webhook_urls_are_checked_at_creation_and_at_change() -> None:
    world = World()
    with pytest.raises(DestinationNotAllowedError):
        world.create("acme", url="https://internal.example/hook")
    destination_id, _ = world.create("acme")
    with pytest.raises(DestinationNotAllowedError):
        api.update(
            "acme",
            destination_id,
            DestinationUpdate(url="https://internal.example/x"),
            now=T0,
            ports=world.api(),
        )


def test_a_partial_update_keeps_other_fields_and_cannot_null_them() -> None:
    world = World()
    destination_id, _ = world.create("acme", filters={"actions": ["user.*"]})
    updated, changed = api.update(
        "acme", destination_id, DestinationUpdate(name="SIEM 2"), now=T0, ports=world.api()
    )
    assert changed == ["name"] and updated.filters.actions == ["user.*"] and updated.url
    with pytest.raises(InvalidInputError):
        api.update(
            "acme", destination_id, DestinationUpdate.model_validate({"url": None}), now=T0, ports=world.api()
        )
    with pytest.raises(ValidationError):
        DestinationUpdate.model_validate({"type": "s3"})


def test_a_tenant_has_at_most_20_destinations() -> None:
    world = World()
    for _ in range(20):
        world.create("acme")
    with pytest.raises(ConflictError):
        world.create("acme")
    world.create("other")


def test_lag_is_the_age_of_the_oldest_event_not_yet_delivered() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    assert (
        api.get("acme", destination_id, now=T0 + timedelta(seconds=42), ports=world.api()).lag_seconds == 42
    )
    world.run_queue(T0)
    assert api.get("acme", destination_id, now=T0 + timedelta(seconds=43), ports=world.api()).lag_seconds == 0


def test_another_tenant_sees_none_of_it() -> None:
    world = World()
    destination_id, _ = world.create("acme")
    route(world.accept("acme", [event(1)], now=T0), now=T0, ports=world.router())
    [(record, _)] = world.store.deliveries.values()
    ports = world.api()
    for call in (
        lambda: api.get("other", destination_id, now=T0, ports=ports),
        lambda: api.deliveries("other", destination_id, limit=10, cursor=None, ports=ports),
        lambda: api.retry("other", destination_id, record.id, now=T0, ports=ports),
        lambda: api.start_replay("other", destination_id, ReplayRequest.model_validate(
            {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}), now=T0, ports=ports),
        lambda: api.delete("other", destination_id, ports=ports),
    ):  # fmt: skip
        with pytest.raises(Exception, match="no such destination"):
            call()
    assert api.list_all("other", now=T0, ports=ports) == []


# --- replays by received time ---------------------------------------------------------------------


def test_replays_read_by_received_time_late_events_included_each_once() -> None:
    world = World()
    received = T0
    on_time = [event(n, occurred_at="2026-12-01T11:59:00.000Z") for n in range(5)]
    backfill = [event(n, occurred_at="2026-11-20T08:00:00.000Z") for n in range(5, 8)]
    early = [event(n, occurred_at="2026-12-01T10:30:00.000Z") for n in range(8, 10)]  # received earlier
    world.accept("acme", on_time + backfill, now=received)
    world.accept("acme", early, now=T0 - timedelta(hours=1))
    ports = QueryPorts(events=world.events, known_actions=set, shard_count=1)
    found = [
        doc.data["id"]
        for _, doc in iter_received(
            "acme",
            DestinationFilters(),
            T0 - timedelta(minutes=1),
            T0 + timedelta(minutes=1),
            position=None,
            now=T0,
            ports=ports,
            budget=Budget(),
        )
        if doc is not None
    ]
    assert sorted(found) == [f"evt-{n:05d}" for n in range(8)]
    # an event that is late has one more item, under its own partition of by_time
    assert "acme#evt-00005#r" in world.events.items and "acme#evt-00001#r" not in world.events.items


def test_a_replay_runs_in_steps_and_re_sends_what_its_filters_select() -> None:
    world = World()
    destination_id, _ = world.create("acme", filters={"actions": ["user.login"]})
    world.accept(
        "acme", [event(n) for n in range(30)] + [event(99, "asset.download")], now=T0 - timedelta(days=2)
    )
    replay = api.start_replay(
        "acme",
        destination_id,
        ReplayRequest.model_validate({"from": "2026-11-29T00:00:00Z", "to": "2026-11-30T00:00:00Z"}),
        now=T0,
        ports=world.api(),
    )
    previous = deliverer.REPLAY_STEP_EVENTS
    deliverer.REPLAY_STEP_EVENTS = 12  # steps of 12 events at most: three steps and a last one
    try:
        for _ in range(10):
            if not world.queue.sent:
                break
            world.run_queue(T0)
    finally:
        deliverer.REPLAY_STEP_EVENTS = previous
    done = api.get_replay("acme", destination_id, replay.id, ports=world.api())
    assert done.status == "succeeded" and done.event_count == 30
    sent = [json.loads(b) for _, b, _ in world.webhooks.requests]
    ids = [e["id"] for p in sent for e in p["data"]["events"]]
    assert sorted(ids) == [f"evt-{n:05d}" for n in range(30)]
    replayed = [r for r, _ in world.store.deliveries.values()]
    assert all(r.replay_id == replay.id for r in replayed)


def test_a_replay_needs_an_ordered_range() -> None:
    with pytest.raises(ValidationError):
        ReplayRequest.model_validate({"from": "2026-11-30T00:00:00Z", "to": "2026-11-30T00:00:00Z"})
    with pytest.raises(ValidationError):
        ReplayRequest.model_validate({"to": "2026-11-30T00:00:00Z"})


def test_the_router_and_the_query_path_apply_the_same_filter() -> None:
    """A destination's filters are the event filter: what GET /v1/events selects, the router routes."""
    world = World()
    filters = {"actions": ["user.*"], "outcome": "failure", "q": "VPN"}
    world.create("acme", filters=filters)
    raws = [
        event(1, "user.login", outcome="failure", description="vpn login"),
        event(2, "user.login", outcome="success", description="vpn login"),
        event(3, "asset.download", outcome="failure", description="vpn"),
        event(4, "user.logout", outcome="failure", description="office"),
    ]
    streamed = world.accept("acme", raws, now=T0)
    route(streamed, now=T0, ports=world.router())
    routed = [i for _, ids in world.store.deliveries.values() for i in ids]
    from activitylog.logic.query_plan import matches_document

    expected = [e.data["id"] for e in streamed if matches_document(e.data, EventFilter(**filters), 0)]
    assert routed == expected == ["evt-00001"]


# --- the two handlers, with Powertools' batch utility ---------------------------------------------

ENV = {
    "CONTROL_TABLE": "control",
    "EVENTS_TABLE": "events",
    "DELIVERY_QUEUE_URL": "https://sqs.example/q",
    "ALERT_QUEUE_URL": "https://sqs.example/alerts",
    "ROLLUP_QUEUE_URL": "https://sqs.example/rollups",
    "SENDER_EMAIL": "noreply@example.com",
    "POWERTOOLS_METRICS_NAMESPACE": "ActivityLog",
}


class Context:
    function_name = "f"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    aws_request_id = "r"


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Any:
    from activitylog.handlers import wiring

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    world = World()
    container = wiring.Container(environ=ENV).override(
        destinations=world.store,
        delivery_queue=world.queue,
        events=world.events,
        webhooks=world.webhooks,
        role_targets=world.targets,
        alerts=FakeAlertStore(),
        alert_queue=FakeQueue(),
        rollup_queue=FakeQueue(),
        rollups=FakeRollupStore(),
    )
    before = wiring.use(container)
    yield world
    wiring.use(before)


def _stream_record(streamed: StreamedEvent) -> dict[str, Any]:
    return {
        "eventID": streamed.ref,
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": streamed.ref,
            "NewImage": {"pk": {"S": f"{streamed.tenant}#{streamed.data['id']}"}, "d": {"S": streamed.text}},
            "StreamViewType": "NEW_IMAGE",
        },
    }


def test_the_router_handler_reports_an_unparseable_record_and_routes_the_rest(wired: World) -> None:
    from activitylog.handlers import stream_router

    wired.create("acme")
    streamed = wired.accept("acme", [event(1), event(2)], now=T0 + timedelta(seconds=1))
    broken = _stream_record(streamed[0])
    broken["dynamodb"]["NewImage"]["d"] = {"S": "{not json"}
    broken["dynamodb"]["SequenceNumber"] = "999"
    answer = stream_router.handler(
        {"Records": [broken, _stream_record(streamed[0]), _stream_record(streamed[1])]}, Context()
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "999"}]}
    [(_, ids)] = wired.store.deliveries.values()
    assert ids == ["evt-00001", "evt-00002"]


def test_the_router_handler_reports_the_earliest_unrouted_record(wired: World) -> None:
    from activitylog.handlers import stream_router

    wired.create("acme")
    streamed = wired.accept("acme", [event(1)], now=T0 + timedelta(seconds=1))
    wired.queue.refuse = 1
    answer = stream_router.handler({"Records": [_stream_record(streamed[0])]}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": streamed[0].ref}]}


def test_the_deliverer_hands_a_failed_attempt_back_at_its_next_time(wired: World) -> None:
    from activitylog.handlers import deliverer as handler_module

    wired.create("acme")
    route(wired.accept("acme", [event(1)], now=T0), now=T0, ports=wired.router())
    ok_body = wired.queue.sent.pop()
    route(wired.accept("acme", [event(2)], now=T0), now=T0, ports=wired.router())
    failing_body = wired.queue.sent.pop()
    wired.webhooks.script = [Answer(True, 200), Answer(False, 502, "HTTP 502")]
    records = [
        {
            "messageId": "m1",
            "receiptHandle": "h1",
            "body": ok_body,
            "attributes": {},
            "eventSource": "aws:sqs",
        },
        {
            "messageId": "m2",
            "receiptHandle": "h2",
            "body": failing_body,
            "attributes": {},
            "eventSource": "aws:sqs",
        },
        {"messageId": "m3", "receiptHandle": "h3", "body": "{}", "attributes": {}, "eventSource": "aws:sqs"},
    ]
    answer = handler_module.handler({"Records": records}, Context())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert wired.queue.delays == [("h2", 5)]  # the malformed one is left to the queue's redrive
