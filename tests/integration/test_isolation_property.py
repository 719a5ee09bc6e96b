"""Isolation as a property: for random filter combinations, every read route of tenant A (list with
every page, count, get by id, exports and their downloads) holds exactly A's matching events and
nothing of tenant B, whose events share A's ids, actors, actions, targets and words."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from activitylog_ops.local.service import LocalService
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Api, Keys
from tests.integration.test_exports_flow import wait_for_run

ACTORS = ["u0", "u1", "u2", "shared"]
ACTIONS = ["asset.downloaded", "asset.edited", "user.login", "settings.updated"]
PREFIXES = ["asset.*", "user.*", "settings.*"]
TARGETS = [("asset", "1"), ("asset", "2"), ("folder", "1")]
NOW = datetime.now(UTC).replace(microsecond=0)
TIMES = [NOW - timedelta(hours=5 * n + 1) for n in range(40)]  # oldest is ~8 days ago
EXAMPLES = settings(
    max_examples=max(25, int(os.environ.get("FUZZ_EXAMPLES", "25")) // 4),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def make_events(owner: str, count: int, extra: str) -> list[dict[str, Any]]:
    events = []
    for n in range(count):
        t_type, t_id = TARGETS[n % 3]
        events.append(
            {
                "id": f"e{n}" if n < 30 else f"{extra}{n}",
                "action": ACTIONS[(n + (owner == "B")) % 4],
                "occurred_at": TIMES[n].isoformat(),
                "actor": {"id": ACTORS[n % 4], "name": "Shared Name"},
                "targets": [{"type": t_type, "id": t_id}],
                "outcome": "failure" if n % 5 == 0 else "success",
                "description": f"owner={owner} words shared",
            }
        )
    return events


@pytest.fixture(scope="module")
def tenants(local_stack: LocalService) -> tuple[Api, Api, list[dict[str, Any]]]:
    keys = Keys(local_stack)
    a, b = keys.api(unthrottled=True), keys.api(unthrottled=True)
    a_events, b_events = make_events("A", 35, "a-only-"), make_events("B", 40, "b-only-")
    assert a.post_events(a_events).json()["accepted"] == 35
    assert b.post_events(b_events).json()["accepted"] == 40
    return a, b, a_events


def matches(event: dict[str, Any], f: dict[str, Any]) -> bool:
    """The documented filter semantics (API.md), for the oracle; `q` is checked separately."""
    if "actor_id" in f and event["actor"]["id"] != f["actor_id"]:
        return False
    if "action" in f:
        ok = [
            a == event["action"] or (a.endswith(".*") and event["action"].startswith(a[:-1]))
            for a in f["action"]
        ]
        if not any(ok):
            return False
    if "target_type" in f and (event["targets"][0]["type"], event["targets"][0]["id"]) != (
        f["target_type"],
        f["target_id"],
    ):
        return False
    if "outcome" in f and event["outcome"] != f["outcome"]:
        return False
    occurred = datetime.fromisoformat(event["occurred_at"])
    if "from" in f and occurred < datetime.fromisoformat(f["from"]):
        return False
    return not ("to" in f and occurred >= datetime.fromisoformat(f["to"]))


@st.composite
def filters(draw: st.DrawFn) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if draw(st.booleans()):
        f["actor_id"] = draw(st.sampled_from([*ACTORS, "nobody"]))
    if draw(st.booleans()):
        f["action"] = draw(st.lists(st.sampled_from(ACTIONS + PREFIXES), min_size=1, max_size=3))
    if draw(st.booleans()):
        f["target_type"], f["target_id"] = draw(st.sampled_from(TARGETS))
    if draw(st.booleans()):
        f["outcome"] = draw(st.sampled_from(["success", "failure"]))
    if draw(st.booleans()):
        f["q"] = draw(st.sampled_from(["owner=a", "OWNER=B", "shared", "u1", "asset", "e1", "b-only"]))
    drawn: list[datetime] = draw(st.lists(st.sampled_from(TIMES), min_size=0, max_size=2, unique=True))
    bounds = sorted(drawn)
    lower: bool = draw(st.booleans())
    if len(bounds) == 2:
        f["from"], f["to"] = bounds[0].isoformat(), bounds[1].isoformat()
    elif bounds and lower:
        f["from"] = bounds[0].isoformat()
    elif bounds:
        f["to"] = bounds[0].isoformat()
    f["order"] = draw(st.sampled_from(["asc", "desc"]))
    f["limit"] = draw(st.integers(min_value=1, max_value=40))
    return f


def pages(api: Api, params: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        answer = api.request("GET", "/v1/events", params={**params, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events += page["events"]
        cursor = page["next_cursor"]
        if cursor is None:
            return events
    raise AssertionError("pagination did not end")


def test_tenant_a_reads_only_its_own_events_whatever_the_filters(
    tenants: tuple[Api, Api, list[dict[str, Any]]],
) -> None:
    a, b, a_events = tenants

    @EXAMPLES
    @given(f=filters())
    def check(f: dict[str, Any]) -> None:
        everything = pages(a, f)
        # The service's own audit events about A (`activitylog.*`, e.g. an export created) are A's too
        listed = [e for e in everything if not e["action"].startswith("activitylog.")]
        assert all("owner=B" not in str(e) for e in everything), f
        # Nothing of B: every event is A's own copy
        assert all(e["description"].startswith("owner=A") for e in listed), f
        ids = [e["id"] for e in listed]
        assert len(ids) == len(set(ids)), f"an event appears twice across pages: {f}"
        assert not [i for i in ids if i.startswith("b-only-")]
        # And exactly what the filters select from A's events (q narrows further, never widens)
        expected = {e["id"] for e in a_events if matches(e, f)}
        if "q" in f:
            assert set(ids) <= expected, f
            needle = f["q"].lower()
            assert all(needle in str(e).lower() for e in listed), f
        else:
            assert set(ids) == expected, f
        times = [e["occurred_at"] for e in listed]
        assert times == sorted(times, reverse=f["order"] == "desc")
        # count agrees with the list, whatever the cursor chunks
        count_params = {k: v for k, v in f.items() if k not in ("order", "limit")}
        total, cursor = 0, None
        for _ in range(50):
            counted = a.request(
                "GET", "/v1/events/count", params={**count_params, **({"cursor": cursor} if cursor else {})}
            ).json()
            total += counted["count"]
            cursor = counted.get("next_cursor")
            if counted["complete"]:
                break
        assert total == len(everything), f
        # a cursor of A's is refused for B
        first = a.request("GET", "/v1/events", params={**f, "limit": 1}).json()
        if first["next_cursor"]:
            refused = b.request("GET", "/v1/events", params={**f, "limit": 1, "cursor": first["next_cursor"]})
            assert refused.status_code == 400

    check()


def test_get_by_id_never_crosses_tenants(tenants: tuple[Api, Api, list[dict[str, Any]]]) -> None:
    a, _, _ = tenants
    for n in range(40):
        answer = a.request("GET", f"/v1/events/e{n}" if n < 30 else f"/v1/events/b-only-{n}")
        if n < 30:
            assert answer.status_code == 200 and answer.json()["description"].startswith("owner=A")
        else:
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "export_filters",
    [
        {},
        {"actions": ["asset.*"], "actor_id": "shared"},
        {"q": "owner=b"},
        {"target_type": "asset", "target_id": "1"},
    ],
)
def test_exports_and_downloads_of_a_hold_nothing_of_b(
    tenants: tuple[Api, Api, list[dict[str, Any]]], export_filters: dict[str, Any]
) -> None:
    a, b, _ = tenants
    created = a.request(
        "POST", "/v1/exports", json={"name": "iso", "format": "csv", "filters": export_filters}
    )
    assert created.status_code == 202, created.text
    export_id, run_id = created.json()["export"]["id"], created.json()["run"]["id"]
    run = wait_for_run(a, export_id, run_id)
    assert run["status"] == "succeeded", run
    redirect = a.request("GET", f"/v1/exports/{export_id}/runs/{run_id}/download", allow_redirects=False)
    content = requests.get(redirect.headers["Location"], timeout=10).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert not [r for r in rows if "owner=B" in str(r) or r["id"].startswith("b-only-")]
    assert all(
        r["description"].startswith("owner=A") for r in rows if not r["action"].startswith("activitylog.")
    )
    params = {k: v for k, v in export_filters.items() if k != "actions"}
    if "actions" in export_filters:
        params["action"] = export_filters["actions"]
    own = [e["id"] for e in pages(a, params) if not e["action"].startswith("activitylog.")]
    assert sorted(r["id"] for r in rows if not r["action"].startswith("activitylog.")) == sorted(own)
    # B cannot see, run or download A's export, nor learn that it exists
    for method, path in (
        ("GET", f"/v1/exports/{export_id}"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}"),
        ("GET", f"/v1/exports/{export_id}/runs/{run_id}/download"),
        ("POST", f"/v1/exports/{export_id}/runs"),
        ("DELETE", f"/v1/exports/{export_id}"),
    ):
        answer = b.request(method, path, allow_redirects=False)
        assert answer.status_code == 404, (method, path, answer.status_code)
    assert export_id not in b.request("GET", "/v1/exports").text
