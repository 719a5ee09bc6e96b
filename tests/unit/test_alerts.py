"""Alerts with fakes: the router's selection, the evaluator's writes (conditional, idempotent,
firings with their state), the follow-ups (event, email, deliveries), the API's rules and preview
against the live path (docs/alerts.md, API.md "Alerts")."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import alert_eval, alert_live
from activitylog.logic import alerts as api
from activitylog.logic import deliveries as deliverer
from activitylog.logic.alert_live import EvaluatorPorts, SelectPorts
from activitylog.logic.deliveries import DelivererPorts
from activitylog.logic.destination_send import SendPorts
from activitylog.logic.ingest import prepare
from activitylog.logic.query import QueryPorts
from activitylog.logic.stream_router import RouterPorts, StreamedEvent, route
from activitylog.models.alerts import (
    FIRED_ACTION,
    AlertCreate,
    AlertUpdate,
    AlertWork,
    Firing,
    PreviewRequest,
)
from activitylog.models.destinations import DeliveryMessage, DestinationCreate
from activitylog.models.errors import (
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    StorageUnavailableError,
)
from activitylog.models.settings import TenantSettings
from pydantic import ValidationError

from tests.fakes import FakeAlertStore, FakeDestinationStore, FakeEventStore, FakeQueue
from tests.unit.test_streaming import FakeTargets, FakeWebhooks

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CONSOLE = "https://console.example.com/console/"
RULE = {
    "name": "Repeated failed logins",
    "filters": {"actions": ["user.login"], "outcome": "failure"},
    "threshold": {"count": 3, "window": "PT10M"},
    "group_by": "actor",
    "cooldown": "PT1H",
    "recipients": ["security@example.com"],
}


@dataclass
class World:
    alerts: FakeAlertStore = field(default_factory=FakeAlertStore)
    destinations: FakeDestinationStore = field(default_factory=FakeDestinationStore)
    events: FakeEventStore = field(default_factory=FakeEventStore)
    work: FakeQueue = field(default_factory=FakeQueue)
    deliveries: FakeQueue = field(default_factory=FakeQueue)
    webhooks: FakeWebhooks = field(default_factory=FakeWebhooks)
    mails: list[tuple[str, list[str], str, str, str]] = field(default_factory=list)
    recorded: list[tuple[str, str, Firing]] = field(default_factory=list)
    mail_fails: int = 0
    sequence: int = 1000

    def api(self) -> api.AlertPorts:
        return api.AlertPorts(
            store=self.alerts,
            destinations=self.destinations,
            query=lambda tenant: QueryPorts(events=self.events, known_actions=set, shard_count=1),
        )

    def router(self) -> RouterPorts:
        select = SelectPorts(alerts=self.alerts, queue=self.work)
        return RouterPorts(
            store=self.destinations,
            queue=self.deliveries,
            consumers=(lambda tenant, events, now: alert_live.select(tenant, events, now=now, ports=select),),
        )

    def evaluator(self) -> EvaluatorPorts:
        def mail(tenant: str, to: list[str], subject: str, text: str, html: str) -> bool:
            if self.mail_fails:
                self.mail_fails -= 1
                raise RuntimeError("SES refused")
            self.mails.append((tenant, to, subject, text, html))
            return True

        return EvaluatorPorts(
            alerts=self.alerts,
            events=self.events,
            destinations=self.destinations,
            deliveries=self.deliveries,
            mail=mail,
            record=lambda tenant, alert, firing: self.recorded.append((tenant, alert.id, firing)),
            console_url=CONSOLE,
        )

    def create(self, tenant: str = "acme", now: datetime = T0, **fields: Any) -> str:
        body = AlertCreate.model_validate({**RULE, **fields})
        return api.create(tenant, body, now=now, ports=self.api()).id

    def accept(self, tenant: str, raws: list[dict[str, Any]], *, now: datetime) -> list[StreamedEvent]:
        records = []
        for i, raw in enumerate(raws):
            internal = raw["action"].startswith("activitylog.")
            rejection, record = prepare(
                i, raw, tenant=tenant, now=now, settings=TenantSettings(), seen=set(), internal=internal
            )
            assert rejection is None and record is not None, rejection
            records.append(record)
        self.events.put_events(records)
        out = []
        for r in records:
            self.sequence += 1
            out.append(StreamedEvent(str(self.sequence), tenant, r.document, json.loads(r.document)))
        return out

    def stream(self, tenant: str, raws: list[dict[str, Any]], *, now: datetime) -> list[Firing]:
        """Accept, route and evaluate everything queued: the firings recorded."""
        assert route(self.accept(tenant, raws, now=now), now=now, ports=self.router()) == set()
        return self.evaluate(now)

    def evaluate(self, now: datetime) -> list[Firing]:
        sent, self.work.sent = self.work.sent, []
        fired: list[Firing] = []
        for body in sent:
            fired += alert_live.evaluate_work(
                AlertWork.model_validate_json(body), now=now, ports=self.evaluator()
            )
        return fired


def login(
    n: int, user: str = "u1", at: datetime = T0, outcome: str = "failure", **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"evt-{n:04d}",
        "action": "user.login",
        "actor": {"id": user},
        "outcome": outcome,
        "occurred_at": at.isoformat(),
        **extra,
    }


# --- the router's selection -------------------------------------------------------------------------


def test_three_failed_logins_of_one_user_in_ten_minutes_fire_once_with_their_events() -> None:
    world = World()
    alert_id = world.create()
    now = T0 + timedelta(minutes=5)
    raws = [
        login(1, at=T0),
        login(2, at=T0 + timedelta(minutes=4)),
        login(3, "u2"),
        login(4, outcome="success"),
    ]
    assert world.stream("acme", raws, now=now) == []
    [firing] = world.stream("acme", [login(5, at=T0 + timedelta(minutes=10))], now=now)
    assert firing.alert_id == alert_id and firing.group == "u1" and firing.count == 3
    assert firing.event_ids == ["evt-0001", "evt-0002", "evt-0005"]
    assert firing.window_start == T0 and firing.window_end == T0 + timedelta(minutes=10)
    assert firing.fired_at == now
    # stored with its state, listed, and the alert's last firing noted
    page = api.firings("acme", alert_id, limit=10, cursor=None, ports=world.api())
    assert page.firings == [firing] and page.next_cursor is None
    assert api.get("acme", alert_id, ports=world.api()).last_fired_at == now


def test_the_router_hands_each_enabled_alert_only_the_events_it_evaluates() -> None:
    world = World()
    world.create()
    world.create(name="everything", filters={})
    world.create(name="paused", enabled=False)
    world.create(tenant="other")
    early = world.accept("acme", [login(1)], now=T0 - timedelta(milliseconds=1))  # before the alerts
    raws = [login(2), login(3, outcome="success"), login(4, action=FIRED_ACTION)]
    assert route(early + world.accept("acme", raws, now=T0), now=T0, ports=world.router()) == set()
    works = [AlertWork.model_validate_json(body) for body in world.work.sent]
    assert {w.tenant for w in works} == {"acme"}
    got = {w.alert.name: [(e.group, e.id) for e in w.events] for w in works}
    # a firing's own event is evaluated by no alert; nothing accepted before an alert existed
    assert got == {RULE["name"]: [("u1", "evt-0002")], "everything": [("u1", "evt-0002"), ("u1", "evt-0003")]}


def test_alert_work_is_cut_to_fit_sqs_whatever_the_size_of_ids_and_groups() -> None:
    world = World()
    world.create(filters={}, group_by="actor")
    user = "用" * 256  # 768 bytes of UTF-8, 1,536 escaped
    raws = [login(n, user=user) | {"id": f"{n:04d}" + "x" * 124} for n in range(300)]
    assert route(world.accept("acme", raws, now=T0), now=T0, ports=world.router()) == set()
    sizes = [len(body.encode()) for body in world.work.sent]
    assert len(sizes) > 1 and max(sizes) <= alert_live.MAX_WORK_BYTES
    ids = [e.id for body in world.work.sent for e in AlertWork.model_validate_json(body).events]
    assert ids == [r["id"] for r in raws]  # every event once, in stream order


def test_alert_work_that_cannot_be_enqueued_fails_the_earliest_record_of_that_message() -> None:
    world = World()
    world.create()
    streamed = world.accept("acme", [login(1), login(2)], now=T0)
    world.work.refuse = 1
    assert route(streamed, now=T0, ports=world.router()) == {streamed[0].ref}


def test_unreadable_alerts_fail_the_tenants_first_record() -> None:
    world = World()
    streamed = world.accept("acme", [login(1), login(2)], now=T0)

    def busy(tenant: str) -> list[Any]:
        raise StorageUnavailableError("busy")

    world.alerts.list_alerts = busy  # type: ignore[method-assign]
    assert route(streamed, now=T0, ports=world.router()) == {streamed[0].ref}


# --- the evaluator's writes ----------------------------------------------------------------------------


def test_a_redelivered_message_writes_nothing_and_fires_nothing_again() -> None:
    world = World()
    world.create()
    streamed = world.accept("acme", [login(n, at=T0 + timedelta(seconds=n)) for n in range(3)], now=T0)
    route(streamed, now=T0, ports=world.router())
    [body] = world.work.sent
    work = AlertWork.model_validate_json(body)
    assert len(alert_live.evaluate_work(work, now=T0, ports=world.evaluator())) == 1
    commits, mails = world.alerts.commits, len(world.mails)
    assert alert_live.evaluate_work(work, now=T0 + timedelta(seconds=9), ports=world.evaluator()) == []
    assert world.alerts.commits == commits and len(world.mails) == mails and len(world.alerts.firings) == 1


def test_a_lost_race_reads_again_and_counts_every_event_exactly_once() -> None:
    world = World()
    alert_id = world.create(threshold={"count": 4, "window": "PT10M"})
    route(world.accept("acme", [login(1), login(2)], now=T0), now=T0, ports=world.router())
    route(world.accept("acme", [login(3), login(4)], now=T0), now=T0, ports=world.router())
    first, second = (AlertWork.model_validate_json(b) for b in world.work.sent)
    world.work.sent = []
    ports = world.evaluator()
    raced = False

    def other_writer(tenant: str, alert: str, group: str | None) -> None:
        # The first message's commit finds the second message written meanwhile (another shard).
        nonlocal raced
        if not raced:
            raced = True
            world.alerts.on_commit = None
            alert_live.evaluate_work(second, now=T0, ports=ports)

    world.alerts.on_commit = other_writer
    fired = alert_live.evaluate_work(first, now=T0, ports=ports)
    assert raced and len(fired) == 1 and fired[0].count == 4
    [(state, version, pending)] = world.alerts.states.values()
    assert [e[1] for e in state.events] == ["evt-0001", "evt-0002", "evt-0003", "evt-0004"]
    assert version == 2 and pending == set()
    assert [f.id for f in world.alerts.firings.values()] == [fired[0].id]
    assert alert_id


def test_too_many_lost_races_raise_so_that_the_message_is_retried() -> None:
    world = World()
    world.create()
    route(world.accept("acme", [login(1)], now=T0), now=T0, ports=world.router())
    world.alerts.conflicts = alert_live.MAX_RACES
    with pytest.raises(StorageUnavailableError):
        world.evaluate(T0)
    assert world.alerts.states == {}


def test_more_firings_than_one_transaction_holds_are_written_in_several() -> None:
    world = World()
    world.create(threshold={"count": 1, "window": "PT1M"}, cooldown="PT0S")
    raws = [login(n, at=T0 + timedelta(milliseconds=n)) for n in range(250)]
    fired = world.stream("acme", raws, now=T0)
    assert len(fired) == 250 and len({f.id for f in fired}) == 250
    assert world.alerts.commits == 3  # 99 + 99 + 52
    assert len(world.recorded) == 250 and len(world.mails) == 250


def test_groups_of_one_message_are_evaluated_apart() -> None:
    world = World()
    world.create(threshold={"count": 2, "window": "PT10M"})
    raws = [login(n, user=f"user-{n % 20}", at=T0 + timedelta(seconds=n)) for n in range(40)]
    fired = world.stream("acme", raws, now=T0)
    assert sorted(f.group or "" for f in fired) == sorted(f"user-{n}" for n in range(20))
    assert all(f.count == 2 for f in fired)


def test_a_late_event_completing_a_past_window_fires_then() -> None:
    world = World()
    world.create()
    old = T0 - timedelta(days=2)
    assert world.stream("acme", [login(1, at=old), login(2, at=old + timedelta(minutes=9))], now=T0) == []
    [firing] = world.stream("acme", [login(3, at=old + timedelta(minutes=5))], now=T0 + timedelta(seconds=1))
    assert firing.window_start == old and firing.window_end == old + timedelta(minutes=9)
    assert firing.fired_at == T0 + timedelta(seconds=1)


def test_a_rule_change_applies_to_events_accepted_after_it_with_a_state_of_its_own() -> None:
    world = World()
    alert_id = world.create()
    world.stream("acme", [login(1), login(2)], now=T0)
    changed = api.update(
        "acme",
        alert_id,
        AlertUpdate.model_validate({"threshold": {"count": 2, "window": "PT10M"}}),
        now=T0 + timedelta(seconds=1),
        ports=world.api(),
    )
    assert changed.rule_since == T0 + timedelta(seconds=1)
    # accepted before the change, routed after it: not evaluated by the new settings
    assert world.stream("acme", [], now=T0) == []
    late = world.accept("acme", [login(3)], now=T0)
    route(late, now=T0 + timedelta(seconds=2), ports=world.router())
    assert world.work.sent == []
    [firing] = world.stream("acme", [login(4), login(5)], now=T0 + timedelta(seconds=3))
    assert firing.event_ids == ["evt-0004", "evt-0005"]
    renamed = api.update(
        "acme", alert_id, AlertUpdate(name="renamed"), now=T0 + timedelta(seconds=4), ports=world.api()
    )
    assert renamed.rule_since == changed.rule_since  # the name does not decide


# --- follow-ups ---------------------------------------------------------------------------------------


def test_a_firing_is_recorded_as_an_event_and_emailed_with_its_events_and_a_console_link() -> None:
    world = World()
    alert_id = world.create(name="Failed <logins>")
    raws = [login(n, at=T0 + timedelta(minutes=n)) for n in range(3)]
    [firing] = world.stream("acme", raws, now=T0 + timedelta(minutes=3))
    assert world.recorded == [("acme", alert_id, firing)]
    [(tenant, to, subject, text, html)] = world.mails
    assert tenant == "acme" and to == ["security@example.com"] and subject == "Alert fired: Failed <logins>"
    link = (
        f"{CONSOLE}?actor_id=u1&action=user.login&outcome=failure"
        "&from=2026-12-01T12%3A00%3A00.000Z&to=2026-12-01T12%3A02%3A00.001Z"
    )
    assert link in text and link.replace("&", "&amp;") in html
    for n in range(3):
        assert f"evt-{n:04d}" in text and f"evt-{n:04d}" in html
    assert "2026-12-01T12:01:00.000Z  u1  user.login  evt-0001" in text
    assert "Failed &lt;logins&gt;" in html and "<logins>" not in html


def test_a_firing_is_delivered_to_its_destinations_as_alert_fired() -> None:
    world = World()
    destination = DestinationCreate.model_validate(
        {"name": "SIEM", "type": "webhook", "url": "https://siem.example.com/hook"}
    )
    from activitylog.logic import destinations as destination_api

    ports = destination_api.DestinationPorts(
        world.destinations, world.deliveries, SendPorts(world.webhooks, FakeTargets())
    )
    made, _secret = destination_api.create("acme", destination, now=T0, ports=ports)
    paused, _ = destination_api.create("acme", destination, now=T0, ports=ports)
    destination_api.update(
        "acme", paused.id, destination_api.DestinationUpdate(enabled=False), now=T0, ports=ports
    )
    world.create(destination_ids=[made.id, paused.id], recipients=[])
    world.deliveries.sent = []
    [firing] = world.stream("acme", [login(n) for n in range(3)], now=T0)
    # the router also delivered the 3 events to the destination (no filters); the firing's delivery:
    bodies = [DeliveryMessage.model_validate_json(b) for b in world.deliveries.sent]
    found = [world.destinations.get_delivery("acme", b.destination_id, b.delivery_id) for b in bodies]
    firing_deliveries = [(b, f) for b, f in zip(bodies, found, strict=True) if f and f[0].payload is not None]
    [(message, (record, ids))] = firing_deliveries
    assert message.destination_id == made.id and ids == [] and record.payload_type == FIRED_ACTION
    assert record.id == alert_live.delivery_id(firing, made.id)
    # the deliverer sends {"type": "activitylog.alert.fired", "data": Firing}
    world.webhooks.requests.clear()
    delivered = DelivererPorts(
        store=world.destinations,
        queue=world.deliveries,
        events=world.events,
        send=SendPorts(world.webhooks, FakeTargets()),
        query=lambda tenant: QueryPorts(events=world.events, known_actions=set, shard_count=1),
        disabled=lambda notice: None,
    )
    assert deliverer.deliver(message, now=T0, ports=delivered) is None
    [(_url, body, headers)] = world.webhooks.requests
    payload = json.loads(body)
    assert payload["type"] == FIRED_ACTION and Firing.model_validate(payload["data"]) == firing
    assert headers["webhook-id"] == record.id


def test_a_follow_up_that_fails_stays_pending_and_the_retried_message_finishes_it() -> None:
    world = World()
    world.create()
    route(world.accept("acme", [login(n) for n in range(3)], now=T0), now=T0, ports=world.router())
    [body] = world.work.sent
    work = AlertWork.model_validate_json(body)
    world.mail_fails = 1
    with pytest.raises(RuntimeError, match="SES refused"):
        alert_live.evaluate_work(work, now=T0, ports=world.evaluator())
    [(_state, _v, pending)] = world.alerts.states.values()
    assert len(pending) == 1 and world.mails == [] and len(world.recorded) == 1
    # the retry: every event a duplicate, the pending firing's follow-ups done, once
    assert alert_live.evaluate_work(work, now=T0 + timedelta(seconds=30), ports=world.evaluator()) == []
    [(_state, _v, pending)] = world.alerts.states.values()
    assert pending == set() and len(world.mails) == 1 and len(world.alerts.firings) == 1
    [(_, _, recorded)] = {r[2].id: r for r in world.recorded}.values()
    assert recorded.fired_at == T0  # the firing as stored, not re-decided


def test_tenants_never_see_each_others_alerts_states_or_firings() -> None:
    world = World()
    alert_id = world.create("acme")
    world.create("other")
    world.stream("acme", [login(n) for n in range(3)], now=T0)
    world.stream("other", [login(n) for n in range(2)], now=T0)
    assert {t for (t, _a, _k) in world.alerts.firings} == {"acme"}
    with pytest.raises(NotFoundError):
        api.get("other", alert_id, ports=world.api())
    with pytest.raises(NotFoundError):
        api.firings("other", alert_id, limit=10, cursor=None, ports=world.api())
    with pytest.raises(NotFoundError):
        api.delete("other", alert_id, ports=world.api())
    assert [a.id for a in api.list_alerts("acme", ports=world.api())] == [alert_id]


# --- the API's rules --------------------------------------------------------------------------------


def test_an_alert_names_only_the_tenants_own_destinations() -> None:
    world = World()
    with pytest.raises(InvalidInputError):
        world.create(destination_ids=["01JZ0000000000000000000000"])
    with pytest.raises(InvalidInputError):
        world.create(destination_ids=["not-an-id"])


def test_a_tenant_has_at_most_50_alerts() -> None:
    world = World()
    for n in range(api.MAX_ALERTS):
        world.create(name=f"a{n}")
    with pytest.raises(ConflictError):
        world.create(name="one more")


def test_a_partial_update_keeps_what_it_does_not_name_and_refuses_nulls_but_group_by() -> None:
    world = World()
    alert_id = world.create()
    updated = api.update(
        "acme", alert_id, AlertUpdate.model_validate({"group_by": None}), now=T0, ports=world.api()
    )
    assert updated.group_by is None and updated.threshold.count == 3 and updated.name == RULE["name"]
    with pytest.raises(ValidationError):
        AlertUpdate.model_validate({"name": None})
    with pytest.raises(ValidationError):
        AlertUpdate.model_validate({"threshold": {"count": 0, "window": "PT1M"}})
    with pytest.raises(NotFoundError):
        api.update("acme", "01JZ0000000000000000000000", AlertUpdate(name="x"), now=T0, ports=world.api())


def test_firings_are_listed_newest_first_in_pages() -> None:
    world = World()
    alert_id = world.create(threshold={"count": 1, "window": "PT1M"}, cooldown="PT0S", recipients=[])
    for n in range(5):
        world.stream("acme", [login(n)], now=T0 + timedelta(seconds=n))
    seen: list[Firing] = []
    cursor = None
    while True:
        page = api.firings("acme", alert_id, limit=2, cursor=cursor, ports=world.api())
        seen += page.firings
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [f.fired_at for f in seen] == [T0 + timedelta(seconds=n) for n in reversed(range(5))]
    with pytest.raises(BadRequestError):
        api.firings("acme", alert_id, limit=2, cursor="garbage", ports=world.api())


# --- preview ------------------------------------------------------------------------------------------


def preview_all(world: World, body: PreviewRequest, now: datetime) -> tuple[list[Firing], int]:
    found: list[Firing] = []
    cursor = None
    pages = 0
    while True:
        answer = api.preview("acme", body, cursor, now=now, ports=world.api())
        pages += 1
        found += answer.firings
        if answer.complete:
            assert answer.next_cursor is None
            return found, pages
        assert answer.next_cursor is not None
        cursor = answer.next_cursor


def test_preview_decides_exactly_as_the_live_path_for_events_in_occurred_order() -> None:
    world = World()
    alert_id = world.create(threshold={"count": 3, "window": "PT5M"}, cooldown="PT10M")
    base = T0 - timedelta(hours=6)
    raws = [
        login(
            n,
            user=f"u{n % 4}",
            at=base + timedelta(seconds=37 * n),
            outcome="failure" if n % 5 else "success",
        )
        for n in range(400)
    ]
    live: list[Firing] = []
    for start in range(0, len(raws), 50):  # accepted in occurred order, batch by batch
        live += world.stream("acme", raws[start : start + 50], now=T0)
    assert len(live) > 5
    body = PreviewRequest.model_validate(
        {"alert": RULE | {"threshold": {"count": 3, "window": "PT5M"}, "cooldown": "PT10M"},
         "from": (base - timedelta(hours=1)).isoformat(), "to": T0.isoformat()}
    )  # fmt: skip
    previewed, pages = preview_all(world, body, T0)
    # the same firings (live evaluates a batch group by group; preview in occurred order)
    key = sorted((f.window_end, f.group, f.event_ids, f.window_start) for f in live)
    assert [(f.window_end, f.group, f.event_ids, f.window_start) for f in previewed] == key
    assert all(f.alert_id is None for f in previewed) and pages == 1
    assert alert_id


def test_preview_pages_carry_their_states_and_equal_one_page(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    raws = [
        login(n, user=f"u{n % 3}", at=T0 - timedelta(hours=3) + timedelta(seconds=50 * n)) for n in range(150)
    ]
    world.accept("acme", raws, now=T0)
    body = PreviewRequest.model_validate(
        {
            "alert": RULE | {"cooldown": "PT5M"},
            "from": (T0 - timedelta(hours=4)).isoformat(),
            "to": T0.isoformat(),
        }
    )
    whole, _ = preview_all(world, body, T0)
    monkeypatch.setattr(api, "PREVIEW_FIRINGS", 2)
    paged, pages = preview_all(world, body, T0)
    assert pages > 3 and paged == whole and len(whole) > 6
    # a cursor is bound to its body, and to its tenant's continuation
    answer = api.preview("acme", body, None, now=T0, ports=world.api())
    other = PreviewRequest.model_validate(
        body.model_dump(by_alias=True) | {"to": (T0 - timedelta(minutes=1)).isoformat()}
    )
    with pytest.raises(BadRequestError):
        api.preview("acme", other, answer.next_cursor, now=T0, ports=world.api())
    world.alerts.previews.clear()
    with pytest.raises(BadRequestError, match="expired"):
        api.preview("acme", body, answer.next_cursor, now=T0, ports=world.api())


def test_preview_drops_only_states_that_can_no_longer_matter() -> None:
    rule = alert_eval.rule_of(AlertCreate.model_validate(RULE))
    state = rule.empty()
    state = alert_eval.step(rule, state, alert_eval.Occurrence("a", 0)).state
    hour = 3_600_000
    assert not alert_eval.idle(rule, state, hour)  # the cooldown (1 h) is the longer: still matters
    assert alert_eval.idle(rule, state, hour + 1)


def test_a_preview_range_is_ordered_and_at_most_90_days() -> None:
    with pytest.raises(ValidationError):
        PreviewRequest.model_validate({"alert": RULE, "from": T0.isoformat(), "to": T0.isoformat()})
    with pytest.raises(ValidationError):
        PreviewRequest.model_validate(
            {"alert": RULE, "from": (T0 - timedelta(days=91)).isoformat(), "to": T0.isoformat()}
        )
