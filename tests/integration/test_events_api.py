"""POST/GET /v1/events over HTTP through the local gateway, authorizer and handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import clock

from tests.integration.conftest import Keys


def event(i: int = 0, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": f"evt-{i}",
        "action": "asset.downloaded",
        "actor": {"id": "u-42", "name": "Ada"},
        "targets": [{"type": "asset", "id": "7"}],
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=60 - i)).isoformat(),
    }
    base.update(overrides)
    return base


def test_round_trip_with_every_field(keys: Keys) -> None:
    api = keys.api()
    full = event(
        1,
        context={"ip": "203.0.113.9", "user_agent": "curl/8", "location": "Oslo", "session_id": "s1"},
        changes=[{"field": "title", "before": "a", "after": {"x": [1, "b"]}}],
        description="Downloaded the report",
        outcome="failure",
        metadata={"size": 12, "plan": "pro", "beta": True, "ratio": 0.5, "none": None},
    )
    answer = api.post_events([full])
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "accepted": 1,
        "skipped": 0,
        "rejected": 0,
        "failed": 0,
        "results": [{"index": 0, "id": "evt-1", "status": "accepted"}],
    }
    got = api.request("GET", "/v1/events/evt-1").json()
    for field in ("action", "actor", "targets", "changes", "description", "outcome", "metadata"):
        expected = full[field] if field != "actor" else {**full["actor"], "type": "user", "email": None}
        if field == "targets":
            expected = [{**t, "name": None} for t in full["targets"]]
        assert got[field] == expected, field
    assert got["context"] == full["context"]
    assert got["received_at"].endswith("Z") and len(got["received_at"]) == 24
    assert got["expires_at"] > got["received_at"]


def test_filters_pagination_and_counts(keys: Keys) -> None:
    api = keys.api()
    events = [
        event(i, action=["asset.downloaded", "asset.viewed", "user.login"][i % 3], actor={"id": f"u{i % 2}"})
        for i in range(30)
    ]
    events[5]["targets"] = [{"type": "folder", "id": "f1"}, {"type": "asset", "id": "99"}]
    assert api.post_events(events).json()["accepted"] == 30
    newest_first = [e["id"] for e in reversed(events)]
    assert api.all_ids(limit=7) == newest_first
    assert api.all_ids(order="asc", limit=11) == list(reversed(newest_first))
    assert api.all_ids(actor_id="u1", limit=4) == [i for i in newest_first if int(i[4:]) % 2 == 1]
    assert api.all_ids(action="user.login") == [i for i in newest_first if int(i[4:]) % 3 == 2]
    assert api.all_ids(action="asset.*", limit=5) == [i for i in newest_first if int(i[4:]) % 3 != 2]
    repeated = api.request("GET", "/v1/events?action=user.login&action=asset.viewed&limit=3")
    assert repeated.status_code == 200
    assert api.all_ids(action=["user.login", "asset.viewed"]) == [i for i in newest_first if int(i[4:]) % 3]
    assert api.all_ids(target_type="asset", target_id="99") == ["evt-5"]
    frm, to = events[10]["occurred_at"], events[20]["occurred_at"]
    assert api.all_ids(**{"from": frm, "to": to}) == [f"evt-{i}" for i in range(19, 9, -1)]
    count = api.request("GET", "/v1/events/count", params={"action": "asset.*"}).json()
    assert count == {"count": 20, "complete": True, "next_cursor": None}
    q = api.request("GET", "/v1/events/count", params={"q": "U1", "actor_id": "u1"}).json()
    assert q["count"] == 15 and q["complete"]


def test_expired_events_are_invisible_everywhere(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    api = keys.api()
    assert api.post_events([event(1)]).json()["accepted"] == 1
    stored = api.request("GET", "/v1/events/evt-1").json()
    expires = datetime.fromisoformat(stored["expires_at"].replace("Z", "+00:00"))
    monkeypatch.setattr(clock, "now", lambda: expires + timedelta(milliseconds=1))
    assert api.request("GET", "/v1/events/evt-1").status_code == 404
    assert api.events().json() == {"events": [], "next_cursor": None}
    assert api.request("GET", "/v1/events/count").json()["count"] == 0
    monkeypatch.setattr(clock, "now", lambda: expires - timedelta(seconds=1))
    assert api.request("GET", "/v1/events/evt-1").status_code == 200


def test_resent_ids_store_once_and_keep_the_first_copy(keys: Keys) -> None:
    api = keys.api()
    api.post_events([event(1, description="first")])
    again = api.post_events([event(1, description="second"), event(2)]).json()
    assert [r["status"] for r in again["results"]] == ["accepted", "accepted"]
    assert api.request("GET", "/v1/events/evt-1").json()["description"] == "first"
    assert api.request("GET", "/v1/events/count").json()["count"] == 2
    dup = api.post_events([event(3), event(3)]).json()
    assert [r["status"] for r in dup["results"]] == ["accepted", "rejected"]
    assert dup["results"][1]["error"]["code"] == "duplicate_id"


def test_idempotency_key_replays_the_first_response(keys: Keys) -> None:
    api = keys.api()
    body = [{"action": "user.login", "actor": {"id": "u1"}}]  # no ids: generated each time
    first = api.post_events(body, headers={"Idempotency-Key": "req-1"})
    second = api.post_events(body, headers={"Idempotency-Key": "req-1"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert api.request("GET", "/v1/events/count").json()["count"] == 1
    other = api.post_events(
        [{"action": "user.logout", "actor": {"id": "u1"}}], headers={"Idempotency-Key": "req-1"}
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "conflict"
    # Keys are per tenant: another tenant may use the same Idempotency-Key.
    elsewhere = keys.api().post_events(body, headers={"Idempotency-Key": "req-1"})
    assert elsewhere.status_code == 200 and elsewhere.json()["accepted"] == 1


def test_partial_acceptance(keys: Keys) -> None:
    api = keys.api()
    answer = api.post_events(
        [event(1), event(2, context={"ip": "999.1.1.1"}), event(3, action="activitylog.x")]
    )
    body = answer.json()
    assert answer.status_code == 200
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected"]
    assert body["results"][1]["error"]["code"] == "validation_error"
    assert body["results"][1]["error"]["details"][0]["loc"] == ["context", "ip"]
    assert body["results"][2]["error"]["code"] == "reserved_action"
    assert api.request("GET", "/v1/events/count").json()["count"] == 1
