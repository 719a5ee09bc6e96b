"""Ingestion rules: per-event results, identity by (tenant, id), first copy wins, nothing claimed
stored that was not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.models.events import StoredEvent
from activitylog.models.settings import LoggingSettings, TenantSettings

from tests.fakes import FakeControl, FakeEventStore

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def event(**overrides: Any) -> dict[str, Any]:
    return {"action": "asset.downloaded", "actor": {"id": "u-42"}, **overrides}


def run(
    events: list[Any],
    store: FakeEventStore,
    control: FakeControl | None = None,
    tenant: str = "acme",
    settings: TenantSettings | None = None,
    now: datetime = NOW,
) -> Any:
    control = control or FakeControl()
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
    return ingest(events, tenant=tenant, now=now, settings=settings or TenantSettings(), ports=ports)


def stored(store: FakeEventStore, tenant: str, event_id: str) -> dict[str, Any]:
    return json.loads(store.items[f"{tenant}#{event_id}"]["d"]["S"])


def test_partial_acceptance_reports_each_event_in_order() -> None:
    store = FakeEventStore()
    answer = run([event(id="a"), {"action": "x"}, event(id="b", action="activitylog.key.created")], store)
    assert [r.status for r in answer.results] == ["accepted", "rejected", "rejected"]
    assert [r.index for r in answer.results] == [0, 1, 2]
    assert answer.results[2].error.code == "reserved_action"
    assert (answer.accepted, answer.rejected, answer.skipped, answer.failed) == (1, 2, 0, 0)
    assert list(store.items) == ["acme#a"]


def test_generated_ids_are_time_ordered_and_defaults_filled() -> None:
    store = FakeEventStore()
    answer = run([event()], store)
    event_id = answer.results[0].id
    doc = stored(store, "acme", event_id)
    assert doc["occurred_at"] == doc["received_at"] == "2026-11-23T10:00:00.000Z"
    assert doc["expires_at"] == "2027-02-21T10:00:00.000Z"  # 90 days
    assert "description" not in doc  # nulls are not stored (billed bytes) ...
    full = StoredEvent.model_validate(doc).model_dump(mode="json")  # ... and come back on reading
    assert full["context"] == {"ip": None, "user_agent": None, "location": None, "session_id": None}
    assert full["description"] is None and full["actor"]["type"] == "user"
    later = run([event()], store, now=NOW + timedelta(seconds=1)).results[0].id
    assert event_id < later


def test_resent_id_is_accepted_but_the_first_copy_wins() -> None:
    store = FakeEventStore()
    run([event(id="evt-7", description="first")], store)
    answer = run([event(id="evt-7", description="second")], store)
    assert answer.results[0].status == "accepted"
    assert stored(store, "acme", "evt-7")["description"] == "first"


def test_same_id_twice_in_one_request_rejects_the_later_one() -> None:
    store = FakeEventStore()
    answer = run([event(id="d"), event(id="d")], store)
    assert [r.status for r in answer.results] == ["accepted", "rejected"]
    assert answer.results[1].error.code == "duplicate_id"


def test_identity_is_per_tenant() -> None:
    store = FakeEventStore()
    run([event(id="same", description="acme")], store, tenant="acme")
    answer = run([event(id="same", description="globex")], store, tenant="globex")
    assert answer.results[0].status == "accepted"
    assert stored(store, "globex", "same")["description"] == "globex"


def test_an_event_that_could_not_be_stored_is_reported_failed_not_accepted() -> None:
    store = FakeEventStore(fail_ids={"b"})
    answer = run([event(id="a"), event(id="b")], store)
    assert [r.status for r in answer.results] == ["accepted", "failed"]
    assert answer.failed == 1 and "acme#b" not in store.items


def test_time_window_rules() -> None:
    store = FakeEventStore()
    future = (NOW + timedelta(minutes=6)).isoformat()
    near_future = (NOW + timedelta(minutes=4)).isoformat()
    too_old = (NOW - timedelta(days=91)).isoformat()
    answer = run(
        [event(occurred_at=future), event(occurred_at=near_future), event(occurred_at=too_old)], store
    )
    assert [r.status for r in answer.results] == ["rejected", "accepted", "rejected"]


def test_the_services_own_events_are_kept_a_year_whatever_the_tenants_retention() -> None:
    from activitylog.logic import audit
    from activitylog.models.auth import Principal

    # Given a tenant keeping its events 1 day, which changes something the trail records
    store, control = FakeEventStore(), FakeControl()
    short = TenantSettings(logging=LoggingSettings(retention_days=1))
    control.settings["acme"] = short
    admin = Principal(tenant="acme", key_id="k1", scopes=frozenset({"logging:manage"}))
    event_id = audit.record(
        store,
        control,
        short,
        tenant="acme",
        action="activitylog.settings.updated",
        actor=audit.key_actor(admin),
        now=NOW,
    )
    run([event(id="own")], store, settings=short)
    # Then the audit event expires in 365 days, the tenant's own event in 1
    assert stored(store, "acme", event_id)["expires_at"] == "2027-11-23T10:00:00.000Z"
    assert stored(store, "acme", "own")["expires_at"] == "2026-11-24T10:00:00.000Z"


def test_expiry_follows_the_tenant_retention_in_whole_seconds() -> None:
    store = FakeEventStore()
    run(
        [event(id="r", occurred_at="2026-11-23T09:00:00.400Z")],
        store,
        settings=TenantSettings(logging=LoggingSettings(retention_days=7)),
    )
    assert stored(store, "acme", "r")["expires_at"] == "2026-11-30T09:00:01.000Z"
    assert store.items["acme#r"]["exp"]["N"] == str(
        int(datetime(2026, 11, 30, 9, 0, 1, tzinfo=UTC).timestamp())
    )


def test_every_target_is_indexed_once() -> None:
    store = FakeEventStore()
    targets = [{"type": "asset", "id": "7"}, {"type": "folder", "id": "1"}, {"type": "asset", "id": "7"}]
    run([event(id="t", targets=targets)], store)
    assert sorted(store.items) == ["acme#t", "acme#t#1"]


def test_the_action_catalogue_learns_new_actions_before_events_are_stored() -> None:
    store, control = FakeEventStore(), FakeControl()
    run([event(action="user.login"), event(action="asset.viewed")], store, control)
    assert control.actions["acme"] == {"user.login", "asset.viewed"}


def test_oversized_event_is_rejected() -> None:
    store = FakeEventStore()
    big = event(changes=[{"field": f"f{i}", "before": "x" * 1000, "after": "y"} for i in range(40)])
    answer = run([big], store)
    assert answer.results[0].status == "rejected" and "32 KiB" in answer.results[0].error.message


def test_non_object_events_are_rejected_without_crashing() -> None:
    answer = run([None, 3, "x", [1]], FakeEventStore())
    assert [r.status for r in answer.results] == ["rejected"] * 4


def test_ids_derived_for_an_idempotency_key_are_stable_per_position_and_tenant() -> None:
    from activitylog.logic.request_ids import content_of, derived_id, with_request_ids

    raw = [event(), event(id="given"), None, event(id=None)]
    first = with_request_ids(raw, "acme", "req-1")
    again = with_request_ids(raw, "acme", "req-1")
    assert first == again and first[1]["id"] == "given" and first[2] is None
    content = content_of(raw[0])
    assert first[0]["id"] == derived_id("acme", "req-1", 0, content) != first[3]["id"]
    assert (
        derived_id("globex", "req-1", 0, content) != first[0]["id"] != derived_id("acme", "req-2", 0, content)
    )
    assert "id" not in raw[0]  # the caller's events are not changed
    store = FakeEventStore()
    assert run(first, store).accepted == 3 and run(again, store).accepted == 3
    assert len(store.items) == 3  # the replay stored nothing new


def test_a_different_body_under_a_used_idempotency_key_is_stored_not_taken_for_the_old_events() -> None:
    from activitylog.logic.request_ids import with_request_ids

    # Given a first attempt under key req-1 of which one event failed to store
    store = FakeEventStore(fail_ids=set())
    first_body = [event(actor={"id": "u1"}), event(actor={"id": "u2"})]
    first = with_request_ids(first_body, "acme", "req-1")
    store.fail_ids = {first[1]["id"]}
    assert run(first, store).failed == 1
    # When, days later (the stored answer gone), another body is sent under the same key
    later_body = [event(actor={"id": "u3"}), event(actor={"id": "u4"})]
    answer = run(with_request_ids(later_body, "acme", "req-1"), store)
    # Then both its events are stored as new ones, and the first attempt's retry still deduplicates
    assert answer.accepted == 2 and len(store.items) == 3
    store.fail_ids = set()
    assert run(with_request_ids(first_body, "acme", "req-1"), store).accepted == 2
    assert len(store.items) == 4  # only the event that had failed was added
    # key order does not change the content (a client re-serialising the same body)
    reordered = [dict(reversed(list(e.items()))) for e in first_body]
    assert with_request_ids(reordered, "acme", "req-1") == [
        {**e, "id": f["id"]} for e, f in zip(reordered, first, strict=True)
    ]


def test_the_stored_document_is_exactly_the_stored_event_serialised_without_nulls() -> None:
    # Given events from bare to every field set (non-ASCII, offsets, targets, changes, metadata)
    store = FakeEventStore()
    full = event(
        id="full-1",
        occurred_at="2026-11-23T11:59:58.123456+02:00",
        actor={"id": "u-7", "type": "service", "name": "Zoë ✓", "email": "zoe@example.com"},
        targets=[{"type": "asset", "id": "7", "name": "Q4.pdf"}, {"type": "folder", "id": "f"}],
        context={"ip": "2001:db8::1", "user_agent": "curl", "location": "Oslo", "session_id": "s"},
        changes=[{"field": "name", "before": {"a": [1, None]}, "after": "b"}],
        description="edited \u2028 twice",
        outcome="failure",
        metadata={"plan": "pro", "n": 3, "r": 1.5, "ok": True, "none": None},
    )
    # When they are ingested
    answer = run([event(id="bare-1"), full], store)
    assert answer.accepted == 2
    # Then each document is what validating and serialising a StoredEvent gives, byte for byte
    for event_id in ("bare-1", "full-1"):
        document = store.items[f"acme#{event_id}"]["d"]["S"]
        model = StoredEvent.model_validate_json(document)
        assert document == model.model_dump_json(exclude_none=True)
    assert stored(store, "acme", "full-1")["occurred_at"] == "2026-11-23T09:59:58.123Z"


def _sizes(raw: dict[str, Any]) -> tuple[int, int]:
    """An event's size as stored (no nulls) and whole (with nulls), by StoredEvent itself."""
    store = FakeEventStore()
    assert run([raw], store).accepted == 1
    model = StoredEvent.model_validate_json(store.items[f"acme#{raw['id']}"]["d"]["S"])
    return len(model.model_dump_json(exclude_none=True)), len(model.model_dump_json())


def test_the_32_kib_limit_counts_the_nulls_left_out_of_the_document() -> None:
    # Given an event of 50 changes without values (their nulls are ~1.3 KB) and big metadata,
    # padded so that it fits without its nulls but not with them
    def sized(pad: int) -> dict[str, Any]:
        metadata = {f"k{i}": "v" * 500 for i in range(49)}
        return event(
            id="edge",
            changes=[{"field": f"{i:03d}" * 35} for i in range(50)],
            description="d" * pad,
            metadata=metadata,
        )

    bare, whole = _sizes(sized(0))
    pad = 32 * 1024 - bare - (whole - bare) // 2
    assert 0 < pad <= 1000
    # When it is ingested, Then it is rejected as larger than 32 KiB (nothing stored) ...
    store = FakeEventStore()
    answer = run([sized(pad)], store)
    assert answer.results[0].status == "rejected" and "32 KiB" in answer.results[0].error.message
    assert store.items == {}
    # ... and the same event with nulls that fit is accepted
    assert _sizes(sized(32 * 1024 - whole))[1] == 32 * 1024
