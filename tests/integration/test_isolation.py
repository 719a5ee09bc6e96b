"""A key of tenant A never sees, counts or learns of tenant B's events; a read:self key sees only its
actor. The tenant comes from the authorizer: these tests fail if a handler took it from the request."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Keys


def events(prefix: str, actor: str = "u1", n: int = 3) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{prefix}{i}",
            "action": "asset.downloaded",
            "actor": {"id": actor},
            "targets": [{"type": "asset", "id": "shared"}],
            "description": f"secret of {prefix}",
        }
        for i in range(n)
    ]


def test_tenants_never_see_each_other(keys: Keys) -> None:
    a, b = keys.api(), keys.api()
    a.post_events(events("a"))
    b.post_events([*events("b"), {**events("a")[0], "description": "secret: b's own a0"}])
    for api, mine in ((a, {"a0", "a1", "a2"}), (b, {"b0", "b1", "b2", "a0"})):
        for params in (
            {},
            {"actor_id": "u1"},
            {"action": "asset.*"},
            {"target_type": "asset", "target_id": "shared"},
            {"q": "secret"},
            {"action": "asset.downloaded"},
        ):
            assert set(api.all_ids(**params)) == mine, params
            assert api.request("GET", "/v1/events/count", params=params).json()["count"] == len(mine)
    assert b.request("GET", "/v1/events/a1").status_code == 404
    assert b.request("GET", "/v1/events/a0").json()["description"] == "secret: b's own a0"
    assert a.request("GET", "/v1/events/a0").json()["description"] == "secret of a"
    # Trying to name the other tenant in the request changes nothing: a header is ignored, and a query
    # parameter no route takes is refused (400, API.md: unknown query parameters), never obeyed.
    sneaky = b.request("GET", "/v1/events", headers={"X-Tenant": a.tenant})
    assert sneaky.status_code == 200
    assert {e["id"] for e in sneaky.json()["events"]} == {"b0", "b1", "b2", "a0"}
    named = b.request("GET", "/v1/events", params={"tenant": a.tenant}, headers={"X-Tenant": a.tenant})
    assert named.status_code == 400 and named.json()["error"]["code"] == "bad_request"
    assert "tenant" in named.json()["error"]["message"] and a.tenant not in named.text
    body = {"events": events("x", n=1), "tenant": a.tenant}
    assert b.request("POST", "/v1/events", json=body).status_code == 422
    assert (
        b.request(
            "POST", "/v1/events", json={"events": [{**events("y", n=1)[0], "tenant": a.tenant}]}
        ).json()["rejected"]
        == 1
    )
    assert set(a.all_ids()) == {"a0", "a1", "a2"}


def test_read_self_key_sees_only_its_actor(keys: Keys) -> None:
    writer = keys.api()
    writer.post_events(events("al", actor="alice") + events("bo", actor="bob"))
    me = keys.api(tenant=writer.tenant, scopes=["events:read:self"], actor_id="alice")
    assert set(me.all_ids()) == {"al0", "al1", "al2"}
    assert me.all_ids(actor_id="bob") == []
    assert me.all_ids(q="bo") == []
    assert me.request("GET", "/v1/events/count").json()["count"] == 3
    assert me.request("GET", "/v1/events/count", params={"actor_id": "bob"}).json()["count"] == 0
    assert me.request("GET", "/v1/events/bo0").status_code == 404
    assert me.request("GET", "/v1/events/al0").status_code == 200
    assert me.post_events(events("z", actor="alice", n=1)).status_code == 403
