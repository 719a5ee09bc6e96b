"""A time at the edge of the calendar through the API (issue 18, item 2): that event alone is
rejected and the rest of its batch stored; in a filter it is a 4xx in the envelope, never a 5xx."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Keys

EDGE = "9999-12-31T23:59:59-01:00"


def test_an_event_at_the_edge_of_the_calendar_is_rejected_alone(keys: Keys) -> None:
    api = keys.api()
    batch = [
        {"id": "ok-1", "action": "user.login", "actor": {"id": "u"}},
        {"id": "edge", "action": "user.login", "actor": {"id": "u"}, "occurred_at": EDGE},
        {"id": "number", "action": "user.login", "actor": {"id": "u"}, "occurred_at": 1796207427},
        {"id": "ok-2", "action": "user.login", "actor": {"id": "u"}},
    ]
    answer = api.post_events(batch)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "rejected", "rejected", "accepted"]
    assert sorted(api.all_ids()) == ["ok-1", "ok-2"]


@pytest.mark.parametrize("value", [EDGE, "0001-01-01T00:00:00+01:00", "1796207427"])
@pytest.mark.parametrize("field", ["from", "to"])
def test_such_a_time_in_a_filter_is_invalid_input(keys: Keys, field: str, value: str) -> None:
    api = keys.api()
    for path in ("/v1/events", "/v1/events/count"):
        answer = api.request("GET", path, params={field: value})
        assert answer.status_code in (400, 422), (path, answer.text)
        assert answer.json()["error"]["code"] in ("bad_request", "validation_error")
    export = api.request(
        "POST",
        "/v1/exports",
        json={"name": "edge", "format": "csv", "filters": {field: value}, "run_now": False},
    )
    assert export.status_code == 422, export.text
    assert export.json()["error"]["code"] == "validation_error"
