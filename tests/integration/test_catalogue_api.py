"""GET /v1/actions, /v1/actors, /v1/targets over HTTP through the local gateway (issue 14, item 2):
entries appear once an event carrying them is accepted, prefix search is case-insensitive over id,
name and email, the latest name wins, pages follow their cursor, a self key sees only its own slice,
tenants never see each other's entries, and an entry lives as long as its events plus one day."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from activitylog.dal.catalogue import digest
from activitylog.logic import cursor as cursors
from activitylog.logic.catalogue import DAY, REFRESH
from activitylog_ops.local.service import LocalService

from tests.corpus.make_hostile_corpus import FORMULAS, INJECTED_EMAILS, TRAVERSALS
from tests.integration.conftest import Api, Keys


def ev(
    i: int, actor: dict[str, Any], targets: list[dict[str, Any]] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "id": f"e-{i}",
        "action": more.pop("action", "asset.downloaded"),
        "actor": actor,
        "targets": targets or [],
        **more,
    }


def post(api: Api, events: list[dict[str, Any]]) -> None:
    answer = api.post_events(events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events), answer.text


def get(api: Api, path: str, **params: Any) -> dict[str, Any]:
    answer = api.request("GET", path, params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def every(api: Api, path: str, plural: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = get(api, path, **params, **({"cursor": cursor} if cursor else {}))
        found += page[plural]
        cursor = page["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


def actor_ids(api: Api, **params: Any) -> list[str]:
    return [a["id"] for a in every(api, "/v1/actors", "actors", **params)]


@pytest.fixture
def seeded(keys: Keys) -> Api:
    api = keys.api()
    post(
        api,
        [
            ev(
                1,
                {"id": "u-ada", "name": "Ada Lovelace", "email": "ada@example.com"},
                [{"type": "asset", "id": "A-7", "name": "Quarterly Report"}],
                action="asset.downloaded",
            ),
            ev(
                2,
                {"id": "u-bob", "name": "Bob", "email": "BOB@Example.org", "type": "service"},
                [{"type": "folder", "id": "f1", "name": "Reports"}, {"type": "asset", "id": "A-8"}],
                action="asset.viewed",
            ),
            ev(3, {"id": "robot"}, action="user.login"),
        ],
    )
    return api


def test_entries_appear_after_ingest(seeded: Api) -> None:
    actions = get(seeded, "/v1/actions")["actions"]
    assert [a["action"] for a in actions] == ["asset.downloaded", "asset.viewed", "user.login"]
    assert all(a["first_seen_at"].endswith("Z") for a in actions)
    actors = {a["id"]: a for a in every(seeded, "/v1/actors", "actors")}
    assert set(actors) == {"u-ada", "u-bob", "robot"}
    assert actors["u-bob"] == {
        **actors["u-bob"],
        "type": "service",
        "name": "Bob",
        "email": "BOB@Example.org",
    }
    assert actors["robot"]["name"] is None and actors["robot"]["type"] == "user"
    targets = {(t["type"], t["id"]): t for t in every(seeded, "/v1/targets", "targets")}
    assert set(targets) == {("asset", "A-7"), ("folder", "f1"), ("asset", "A-8")}
    assert targets[("asset", "A-7")]["name"] == "Quarterly Report"
    assert targets[("asset", "A-8")]["name"] is None
    assert all(t["last_seen_at"].endswith("Z") for t in targets.values())


def test_prefix_search_is_case_insensitive_over_id_name_and_email(seeded: Api) -> None:
    assert actor_ids(seeded, q="ADA") == ["u-ada"]  # name (and email): shown once
    assert actor_ids(seeded, q="bob@example") == ["u-bob"]  # email, folded
    assert sorted(actor_ids(seeded, q="U-")) == ["u-ada", "u-bob"]  # id
    assert actor_ids(seeded, q="lovelace") == []  # a prefix, not a substring
    assert actor_ids(seeded, q="nobody") == []
    by_q = lambda **p: sorted((t["type"], t["id"]) for t in every(seeded, "/v1/targets", "targets", **p))  # noqa: E731
    assert by_q(q="rep") == [("folder", "f1")]  # names
    assert by_q(q="QUARTERLY r") == [("asset", "A-7")]
    assert by_q(q="a-") == [("asset", "A-7"), ("asset", "A-8")]  # ids
    assert by_q(type="asset") == [("asset", "A-7"), ("asset", "A-8")]
    assert by_q(type="folder", q="REPORTS") == [("folder", "f1")]
    assert by_q(type="asset", q="reports") == []
    assert by_q(type="nothing") == []


def test_the_latest_name_and_email_win(keys: Keys) -> None:
    api = keys.api()
    post(api, [ev(1, {"id": "u1", "name": "Old Name", "email": "old@example.com"})])
    post(api, [ev(2, {"id": "u1"})])  # an event without them does not erase them
    assert get(api, "/v1/actors")["actors"][0]["name"] == "Old Name"
    post(
        api,
        [
            ev(
                3,
                {"id": "u1", "name": "New Name", "email": "new@example.com"},
                [{"type": "doc", "id": "d", "name": "v1"}],
            )
        ],
    )
    post(api, [ev(4, {"id": "u1", "name": "Newest"}, [{"type": "doc", "id": "d", "name": "v2"}])])
    [actor] = get(api, "/v1/actors")["actors"]
    assert (actor["name"], actor["email"]) == ("Newest", "new@example.com")
    assert actor_ids(api, q="old") == [] and actor_ids(api, q="new name") == []
    assert actor_ids(api, q="newest") == ["u1"] and actor_ids(api, q="new@") == ["u1"]
    assert [t["name"] for t in get(api, "/v1/targets", q="v")["targets"]] == ["v2"]


def test_pages_follow_the_cursor(keys: Keys) -> None:
    api = keys.api()
    post(
        api,
        [
            ev(
                i,
                {"id": f"user-{i:02}", "name": f"User {i:02}", "email": f"user{i:02}@example.com"},
                [{"type": "asset", "id": f"asset-{i:02}", "name": f"Asset {i:02}"}],
            )
            for i in range(13)
        ],
    )
    for params in ({}, {"q": "USER"}):
        pages: list[list[str]] = []
        cursor = None
        while True:
            page = get(api, "/v1/actors", limit=5, **params, **({"cursor": cursor} if cursor else {}))
            pages.append([a["id"] for a in page["actors"]])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        found = [i for p in pages for i in p]
        assert sorted(found) == [f"user-{i:02}" for i in range(13)], params
        assert len(pages) >= 3 and all(len(p) <= 5 for p in pages)
    page = get(api, "/v1/targets", limit=4, q="asset")
    assert len(page["targets"]) == 4 and page["next_cursor"]
    assert len(every(api, "/v1/targets", "targets", limit=4, type="asset")) == 13
    other = api.request("GET", "/v1/targets", params={"limit": 4, "q": "asse", "cursor": page["next_cursor"]})
    assert other.status_code == 400 and other.json()["error"]["code"] == "bad_request"
    assert api.request("GET", "/v1/actors", params={"cursor": "not-a-cursor"}).status_code == 400
    fp = cursors.fingerprint(api.tenant, "tenant", {"m": "actor", "q": "", "type": None})
    for position in ("\ud800", "x" * 1100, 7):  # forged, with the right fingerprint: never a 5xx
        forged = cursors.encode(fp, {"p": position})
        assert api.request("GET", "/v1/actors", params={"cursor": forged}).status_code == 400, position
    assert api.request("GET", "/v1/actors", params={"limit": 0}).status_code in (400, 422)
    assert api.request("GET", "/v1/actors", params={"limit": 201}).status_code in (400, 422)
    assert api.request("GET", "/v1/actors", params={"size": 3}).status_code == 400


def test_a_self_key_sees_only_its_own_slice(seeded: Api, keys: Keys) -> None:
    me = keys.api(seeded.tenant, scopes=["events:read:self"], actor_id="u-bob")
    assert [a["id"] for a in get(me, "/v1/actors")["actors"]] == ["u-bob"]
    assert get(me, "/v1/actors", q="ada")["actors"] == []
    assert get(me, "/v1/actors", q="BOB@")["actors"][0]["email"] == "BOB@Example.org"
    assert sorted((t["type"], t["id"]) for t in get(me, "/v1/targets")["targets"]) == [
        ("asset", "A-8"),
        ("folder", "f1"),
    ]
    assert get(me, "/v1/targets", type="asset")["targets"][0]["id"] == "A-8"
    assert [a["action"] for a in get(me, "/v1/actions")["actions"]] == ["asset.viewed"]
    page = get(me, "/v1/targets", limit=1)
    assert len(page["targets"]) == 1 and page["next_cursor"]
    rest = get(me, "/v1/targets", limit=1, cursor=page["next_cursor"])
    assert len(rest["targets"]) == 1 and rest["next_cursor"] is None
    # the tenant-wide cursor is not the slice's
    assert (
        me.request(
            "GET", "/v1/targets", params={"cursor": get(seeded, "/v1/targets", limit=1)["next_cursor"]}
        ).status_code
        == 400
    )
    nobody = keys.api(seeded.tenant, scopes=["events:write"])
    for path in ("/v1/actions", "/v1/actors", "/v1/targets"):
        answer = nobody.request("GET", path)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden", path


def test_a_viewer_token_sees_what_its_target_s_events_contain(seeded: Api, keys: Keys) -> None:
    minter = keys.api(seeded.tenant, scopes=["events:read", "tokens:create"])
    answer = minter.request(
        "POST",
        "/v1/viewer-tokens",
        json={"scopes": ["events:read"], "target": {"type": "asset", "id": "A-8"}},
    )
    assert answer.status_code == 201, answer.text
    token = Api(seeded.url, answer.json()["token"], seeded.tenant)
    assert actor_ids(token) == ["u-bob"]
    assert sorted((t["type"], t["id"]) for t in get(token, "/v1/targets")["targets"]) == [
        ("asset", "A-8"),
        ("folder", "f1"),
    ]
    assert [a["action"] for a in get(token, "/v1/actions")["actions"]] == ["asset.viewed"]
    assert actor_ids(token, q="ada") == []


def test_tenant_b_never_sees_tenant_a(seeded: Api, keys: Keys) -> None:
    other = keys.api()
    post(other, [ev(1, {"id": "someone-else"}, action="other.thing")])
    assert [a["action"] for a in get(other, "/v1/actions")["actions"]] == ["other.thing"]
    assert actor_ids(other) == ["someone-else"]
    assert actor_ids(other, q="u-") == [] and get(other, "/v1/targets")["targets"] == []
    cursor = get(seeded, "/v1/actors", limit=1)["next_cursor"]
    assert other.request("GET", "/v1/actors", params={"limit": 1, "cursor": cursor}).status_code == 400
    assert "someone-else" not in actor_ids(seeded)


def control_items(stack: LocalService, tenant: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    table = stack.env["ACTIVITYLOG_CONTROL_TABLE"]
    items: list[dict[str, Any]] = []
    for part in ("A", "U", "T", f"T#{digest('asset')}"):
        answer = dynamodb.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"TENANT#{tenant}#CAT#{part}"}},
        )
        items += answer["Items"]
    return items


def test_entries_expire_a_day_after_their_last_event(local_stack: LocalService, keys: Keys) -> None:
    api = keys.api()
    occurred = datetime.now(UTC) - timedelta(days=10)
    post(
        api,
        [
            ev(
                1,
                {"id": "u1", "name": "Ada"},
                [{"type": "asset", "id": "7"}],
                occurred_at=occurred.isoformat(),
            )
        ],
    )
    expires = math.ceil(occurred.timestamp()) + 90 * DAY  # the event's: default retention 90 days
    items = control_items(local_stack, api.tenant)
    assert len(items) == 1 + 2 + 2 * 1  # action; actor id + name; target id in both partitions
    assert {int(i["x"]["N"]) for i in items} == {expires}
    assert {int(i["exp"]["N"]) for i in items} == {expires + REFRESH + DAY}  # TTL
    [actor] = get(api, "/v1/actors")["actors"]
    assert actor["last_seen_at"] == occurred.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    # An entry whose recorded event expired over a day ago is shown while its index has a live event
    # (events of its last REFRESH are not recorded one by one)
    set_all(local_stack, items, "x", int(datetime.now(UTC).timestamp()) - DAY - 1)
    assert [a["action"] for a in get(api, "/v1/actions")["actions"]] == ["asset.downloaded"]
    assert actor_ids(api) == ["u1"] and actor_ids(api, q="ada") == ["u1"]
    assert [t["id"] for t in get(api, "/v1/targets", type="asset")["targets"]] == ["7"]
    # DynamoDB deletes items whose TTL passed up to two days late: reads never show them
    set_all(local_stack, items, "exp", int(datetime.now(UTC).timestamp()) - 1)
    assert get(api, "/v1/actions")["actions"] == []
    assert get(api, "/v1/actors")["actors"] == [] and get(api, "/v1/targets", q="7")["targets"] == []


def set_all(stack: LocalService, items: list[dict[str, Any]], attribute: str, value: int) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    for item in items:
        dynamodb.update_item(
            TableName=stack.env["ACTIVITYLOG_CONTROL_TABLE"],
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET #a = :v",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":v": {"N": str(value)}},
        )


HOSTILE = [
    *FORMULAS,
    *TRAVERSALS,
    *(e for e in INJECTED_EMAILS if "\x00" not in e),
    "<script>alert(1)</script>",
    "Zoë \u202egnp.exe",
    "😀 emoji",
    "İstanbul ß",
    "a\x1fb#c\x00".rstrip("\x00"),
    "𝔘" * 256,  # noqa: RUF001 (1,024 bytes of UTF-8: beyond a sort key's term)
    " leading space",
]


def test_hostile_strings_round_trip(keys: Keys) -> None:
    api = keys.api()
    events = [
        ev(i, {"id": text[:256], "name": text[:256]}, [{"type": "t", "id": text[:256], "name": text[:256]}])
        for i, text in enumerate(HOSTILE)
    ]
    for start in range(0, len(events), 50):
        post(api, events[start : start + 50])
    texts = sorted({t[:256] for t in HOSTILE})
    assert sorted(actor_ids(api)) == texts
    assert sorted(t["id"] for t in every(api, "/v1/targets", "targets", type="t")) == texts
    for text in texts:
        found = [a for a in every(api, "/v1/actors", "actors", q=text[:200].upper())]
        assert text in [a["id"] for a in found], text
        assert all(a["name"] == a["id"] for a in found)
    nul = api.request("GET", "/v1/actors", params={"q": "a\x00"})
    assert nul.status_code == 400 and nul.json()["error"]["code"] == "bad_request"
