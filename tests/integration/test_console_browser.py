"""The web console in a real browser (Debian's chromium driven by Playwright) against local mode, at
the local gateway's `/console/` (issue 14, item 4): sign-in, every filter and preset, the URL round
trip, event detail with changes, click-through to a user's and a resource's history, load more,
"Export this view" through to a downloaded file, the pages each scope shows, the embed with a
restricted viewer token, keyboard use, no request to another origin, axe-core on every page, and
the hostile corpus rendered as text. Screenshots for the README are written to docs/images/ with
UPDATE_SCREENSHOTS=1.

The browser runs in Europe/Oslo (not the machine's zone), so "in the browser's time zone" is
observable; the expected events of `Today` are computed for that zone.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Api, Keys
from tests.integration.console_support import AXE, IMAGES, ROOT, TIMEOUT, ZONE

CORPUS = ROOT / "tests" / "corpus" / "hostile_payloads.jsonl"
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


class Console:
    """One browser context (tab state, time zone) and its pages; every request is recorded, and any
    to another origin than the console's fails the test."""

    def __init__(self, browser: Any, url: str, **context: Any) -> None:
        self.url = url
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self.context = browser.new_context(
            timezone_id=ZONE, locale="en-GB", viewport={"width": 1400, "height": 900}, **context
        )
        self.outside: list[str] = []
        self.allowed_origins: set[str] = set()
        self.errors: list[str] = []
        self.context.on("request", self._record)
        self.page = self.new_page()

    def _record(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        if origin != self.origin and origin not in self.allowed_origins:
            self.outside.append(url)

    def new_page(self) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))
        page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" and "Refused" in m.text else None,
        )
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog opened: {dialog.message}")
        dialog.dismiss()

    def open(self, query: str = "", page: Any = None) -> Any:
        page = page or self.page
        page.goto(self.url + query)
        return page

    def sign_in(self, key: str, query: str = "", page: Any = None) -> Any:
        page = self.open(query, page)
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.locator("main h1").wait_for()
        return page

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"requests to other origins: {self.outside}"
        assert self.errors == [], self.errors


@pytest.fixture
def console(browser: Any, console_url: str) -> Iterator[Console]:
    c = Console(browser, console_url)
    yield c
    c.close()


def feed_ready(page: Any) -> Any:
    """The table once the feed and the count have answered."""
    page.locator("al-feed .count:not(.muted)").wait_for()
    page.wait_for_function("() => !document.querySelector('al-feed [role=status]')")
    return page.get_by_role("table").first


def shown_ids(page: Any) -> list[str]:
    feed_ready(page)
    return page.eval_on_selector_all("al-feed tbody a.event-link", "els => els.map(e => e.dataset.id)")


def count_text(page: Any) -> str:
    feed_ready(page)
    return str(page.locator("al-feed .count").inner_text())


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the console's CSP (no inline script) stays on,
        # which a page.add_script_tag (an inline <script>) would need turned off.
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))"""
    )
    return list(result)


def post(api: Api, events: list[dict[str, Any]]) -> None:
    for first in range(0, len(events), 100):
        answer = api.post_events(events[first : first + 100])
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == len(events[first : first + 100]), answer.text


def wait_catalogue(api: Api, actor_id: str) -> None:
    """The catalogue takes up an entry within 60 seconds (usually at once in local mode)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = api.request("GET", "/v1/actors", params={"q": actor_id})
        if answer.status_code == 200 and any(a["id"] == actor_id for a in answer.json()["actors"]):
            return
        time.sleep(0.5)
    raise AssertionError(f"{actor_id} not in /v1/actors after 60 s")


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).isoformat()


def seed_story(api: Api) -> dict[str, dict[str, Any]]:
    """Five events at known ages (now, 3, 20, 60 and 85 days ago), users, actions and resources."""
    events: dict[str, dict[str, Any]] = {
        "ev-today": {
            "action": "user.login",
            "occurred_at": at(timedelta(minutes=2)),
            "actor": {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"},
            "targets": [{"type": "document", "id": "plan-1", "name": "Plan"}],
            "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
        },
        "ev-3d": {
            "action": "asset.downloaded",
            "occurred_at": at(timedelta(days=3)),
            "actor": {"id": "bob", "name": "Bob Builder", "email": "bob@example.com"},
            "targets": [{"type": "asset", "id": "7", "name": "Q3 report.pdf"}],
        },
        "ev-20d": {
            "action": "asset.updated",
            "occurred_at": at(timedelta(days=20)),
            "outcome": "failure",
            "actor": {"id": "bob", "name": "Bob Builder", "email": "bob@example.com"},
            "targets": [{"type": "asset", "id": "7", "name": "Q3 report.pdf"}],
            "changes": [
                {"field": "title", "before": "Q3 draft", "after": "Q3 report"},
                {"field": "pages", "before": 10, "after": 12},
            ],
            "metadata": {"plan": "pro", "seats": 5},
            "description": "renamed the report",
        },
        "ev-60d": {
            "action": "user.logout",
            "occurred_at": at(timedelta(days=60)),
            "actor": {"id": "cy", "name": "Cy Young"},
            "targets": [{"type": "asset", "id": "8", "name": "Budget"}],
        },
        "ev-85d": {
            "action": "search",
            "occurred_at": at(timedelta(days=85)),
            "actor": {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"},
            "description": "quarterly numbers",
        },
    }
    post(api, [{"id": k, **v} for k, v in events.items()])
    return events


def today_ids(events: dict[str, dict[str, Any]]) -> set[str]:
    midnight = datetime.now(ZoneInfo(ZONE)).replace(hour=0, minute=0, second=0, microsecond=0)
    return {k for k, v in events.items() if datetime.fromisoformat(v["occurred_at"]) >= midnight}


# ---------------------------------------------------------------------------------------------------
# Sign-in


def test_sign_in_wrong_key_clear_message_then_the_right_key(console: Console, keys: Keys) -> None:
    api = keys.api()
    seed_story(api)
    page = console.open()
    assert axe_violations(page) == []
    page.get_by_label("API key").fill("al_not_a_real_key_0000000000")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("not accepted")
    expect(alert).to_contain_text("whole API key")
    expect(page.get_by_role("table")).to_have_count(0)

    page.get_by_label("API key").fill(api.key or "")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    assert set(shown_ids(page)) == {"ev-today", "ev-3d", "ev-20d", "ev-60d", "ev-85d"}
    assert count_text(page) == "5 events"
    # the key: in this tab's sessionStorage only, never localStorage or a cookie
    assert page.evaluate("() => Object.values(sessionStorage)") == [api.key]
    assert page.evaluate("() => localStorage.length") == 0
    assert console.context.cookies() == []
    # a reload keeps the session; signing out forgets it
    page.reload()
    feed_ready(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0


def test_a_revoked_key_returns_to_sign_in_with_a_message(console: Console, keys: Keys) -> None:
    admin = keys.api()
    created = admin.request("POST", "/v1/api-keys", json={"name": "short-lived", "scopes": ["events:read"]})
    assert created.status_code == 201, created.text
    page = console.sign_in(created.json()["key"])
    feed_ready(page)
    assert admin.request("DELETE", f"/v1/api-keys/{created.json()['id']}").status_code in (200, 204)
    deadline = time.monotonic() + 90  # the authorizer's cache time (docs/api.md)
    while time.monotonic() < deadline:
        page.reload()
        page.locator("al-feed[data-state=ready], #api-key").first.wait_for()
        if page.get_by_label("API key").count():
            break
        time.sleep(2)
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")


# ---------------------------------------------------------------------------------------------------
# Activity: filters, presets, the URL


def test_every_filter_narrows_the_feed_and_lives_in_the_url(console: Console, keys: Keys) -> None:
    api = keys.api()
    events = seed_story(api)
    wait_catalogue(api, "cy")
    page = console.sign_in(api.key or "")
    assert len(shown_ids(page)) == 5

    def clear() -> None:
        page.get_by_role("button", name="Clear filters").click()
        expect(page.locator("al-feed .count")).to_have_text("5 events")
        assert urlsplit(page.url).query == ""

    # User: a typeahead over /v1/actors (id, name or email prefix)
    user = page.get_by_label("User")
    user.fill("Bo")
    expect(page.locator("#actor-options option[value=bob]")).to_have_count(1)
    expect(page.locator("#actor-options option[value=ada]")).to_have_count(0)
    user.fill("bob")
    user.press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    assert set(shown_ids(page)) == {"ev-3d", "ev-20d"}
    assert query_of(page) == {"actor_id": ["bob"]}
    clear()

    # Action: from /v1/actions, grouped by prefix, prefix.* selectable
    action = page.get_by_label("Action")
    labels = page.eval_on_selector_all("#f-action optgroup", "gs => gs.map(g => g.label)")
    assert labels == ["asset", "search", "user"]
    action.select_option("asset.*")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    assert set(shown_ids(page)) == {"ev-3d", "ev-20d"}
    assert query_of(page) == {"action": ["asset.*"]}
    page.get_by_label("Action").select_option("user.logout")
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    assert shown_ids(page) == ["ev-60d"]
    clear()

    # Resource type + Resource (typeahead over /v1/targets of that type)
    expect(page.get_by_label("Resource", exact=True)).to_be_disabled()
    page.get_by_label("Resource type").fill("asset")
    page.get_by_label("Resource type").press("Enter")
    # the API takes a resource as type and id together: the type alone narrows the picker only
    expect(page.get_by_text("pick one asset in Resource")).to_be_visible()
    assert query_of(page) == {"target_type": ["asset"]}
    expect(page.locator("al-feed .count")).to_have_text("5 events")
    resource = page.get_by_label("Resource", exact=True)
    expect(resource).to_be_enabled()
    resource.fill("Q3")
    expect(page.locator("#target-options option[value='7']")).to_have_count(1)
    expect(page.locator("#target-options option[value='8']")).to_have_count(0)
    resource.fill("7")
    resource.press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    assert set(shown_ids(page)) == {"ev-3d", "ev-20d"}
    assert query_of(page) == {"target_type": ["asset"], "target_id": ["7"]}
    clear()

    # Outcome
    page.get_by_label("Outcome").select_option("failure")
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    assert shown_ids(page) == ["ev-20d"]
    assert query_of(page) == {"outcome": ["failure"]}
    clear()

    # Search: free text -> q
    page.get_by_label("Search").fill("QUARTERLY")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    assert shown_ids(page) == ["ev-85d"]
    assert query_of(page) == {"q": ["QUARTERLY"]}
    clear()

    # Presets: Today (from the browser's local midnight), Last N days (N x 24 h before now)
    expected_today = today_ids(events)
    for name, value, ids in [
        ("Today", "today", expected_today),
        ("Last 7 days", "7d", {"ev-today", "ev-3d"}),
        ("Last 30 days", "30d", {"ev-today", "ev-3d", "ev-20d"}),
        ("Last 90 days", "90d", set(events)),
    ]:
        button = page.get_by_role("button", name=name, exact=True)
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true")
        expect(page.locator("al-feed .count")).to_have_text(f"{len(ids)} events")
        assert set(shown_ids(page)) == ids, name
        assert query_of(page) == {"range": [value]}
    clear()

    # Custom range: From / To in the browser's time zone (datetime-local inputs)
    oslo = ZoneInfo(ZONE)
    start = (datetime.now(oslo) - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M")
    end = (datetime.now(oslo) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("From", exact=True).fill(start)
    page.get_by_label("To", exact=True).fill(end)
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    assert shown_ids(page) == ["ev-20d"]
    sent = query_of(page)
    as_utc = lambda local: datetime.fromisoformat(local).replace(tzinfo=oslo).astimezone(UTC)  # noqa: E731
    assert datetime.fromisoformat(sent["from"][0]) == as_utc(start)
    assert datetime.fromisoformat(sent["to"][0]) == as_utc(end)
    # To before From: said in words, nothing asked
    page.get_by_label("To", exact=True).fill(
        (datetime.now(oslo) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    )
    expect(page.locator("al-feed [role=alert]")).to_have_text("From must be before To.")


def test_times_in_the_browser_zone_with_utc_on_hover(console: Console, keys: Keys) -> None:
    api = keys.api()
    post(
        api,
        [
            {
                "id": "fixed",
                "action": "user.login",
                "actor": {"id": "ada"},
                "occurred_at": at(timedelta(hours=1)),
            }
        ],
    )
    page = console.sign_in(api.key or "")
    feed_ready(page)
    cell = page.locator("al-feed tbody time").first
    occurred = datetime.fromisoformat(str(cell.get_attribute("datetime")).replace("Z", "+00:00"))
    local = occurred.astimezone(ZoneInfo(ZONE))
    assert local.strftime("%H:%M:%S") in cell.inner_text()
    millis = occurred.microsecond // 1000
    assert cell.get_attribute("title") == f"{occurred:%Y-%m-%d %H:%M:%S}.{millis:03d}Z UTC"
    expect(page.locator("al-feed caption")).to_contain_text(ZONE)


def test_the_url_round_trip_reload_and_a_new_tab(console: Console, keys: Keys) -> None:
    api = keys.api()
    seed_story(api)
    page = console.sign_in(api.key or "")
    feed_ready(page)
    page.get_by_label("User").fill("bob")
    page.get_by_label("User").press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    page.get_by_label("Resource type").fill("asset")
    page.get_by_label("Resource type").press("Enter")
    page.get_by_label("Search").fill("q3")
    page.get_by_label("Search").press("Enter")
    page.get_by_label("Outcome").select_option("failure")
    page.get_by_role("button", name="Last 30 days").click()
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    url = page.url
    assert query_of(page) == {
        "actor_id": ["bob"],
        "target_type": ["asset"],
        "outcome": ["failure"],
        "q": ["q3"],
        "range": ["30d"],
    }

    def same_view(p: Any) -> None:
        expect(p.locator("al-feed .count")).to_have_text("1 events")
        assert shown_ids(p) == ["ev-20d"]
        expect(p.get_by_label("User")).to_have_value("bob")
        expect(p.get_by_label("Resource type")).to_have_value("asset")
        expect(p.get_by_label("Search")).to_have_value("q3")
        expect(p.get_by_label("Outcome")).to_have_value("failure")
        expect(p.get_by_role("button", name="Last 30 days")).to_have_attribute("aria-pressed", "true")

    page.reload()
    same_view(page)
    # back and forward walk through the views
    page.go_back()
    expect(page.locator("al-feed .count")).to_have_text("1 events")  # without the preset: still ev-20d
    assert "range" not in query_of(page)
    page.go_forward()
    same_view(page)
    # a shared link: another tab signs in and shows the same view (the key is per tab)
    other = console.new_page()
    other.goto(url)
    other.get_by_label("API key").fill(api.key or "")
    other.get_by_role("button", name="Sign in").click()
    same_view(other)
    assert other.url == url
    other.close()


# ---------------------------------------------------------------------------------------------------
# Event detail, history click-through, load more


def test_event_detail_changes_raw_json_and_click_through(console: Console, keys: Keys) -> None:
    api = keys.api()
    seed_story(api)
    post(
        api,
        [
            {
                "id": f"more-{n}",
                "action": "asset.viewed",
                "occurred_at": at(timedelta(hours=n + 1)),
                "actor": {
                    "id": ["ada", "bob", "cy"][n % 3],
                    "name": ["Ada Lovelace", "Bob Builder", "Cy Young"][n % 3],
                },
                "targets": [
                    {
                        "type": "asset",
                        "id": str(7 + n % 3),
                        "name": ["Q3 report.pdf", "Budget", "Roadmap"][n % 3],
                    }
                ],
                "context": {"ip": "198.51.100.7"},
            }
            for n in range(14)
        ],
    )
    page = console.sign_in(api.key or "")
    feed_ready(page)
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / "console-activity.png"))

    page.locator("al-feed a.event-link[data-id='ev-20d']").click()
    detail = page.get_by_role("region", name="Event detail")
    expect(detail).to_be_visible()
    assert query_of(page)["event"] == ["ev-20d"]
    expect(page.locator("#event-detail-heading")).to_be_focused()
    changes = detail.get_by_role("table", name="Changes")
    assert changes.locator("thead th").all_inner_texts() == ["Field", "Previous value", "New value"]
    rows = [r.locator("td").all_inner_texts() for r in changes.locator("tbody tr").all()]
    assert rows == [["title", "Q3 draft", "Q3 report"], ["pages", "10", "12"]]
    for text in [
        "asset.updated",
        "failure",
        "renamed the report",
        "bob@example.com",
        "Bob Builder",
        "plan",
        "pro",
    ]:
        expect(detail).to_contain_text(text)
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(IMAGES / "console-event-detail.png"))
    page.set_viewport_size({"width": 1400, "height": 900})
    raw = json.loads(detail.locator("pre.raw").inner_text())
    assert raw == api.request("GET", "/v1/events/ev-20d").json()
    console.context.grant_permissions(["clipboard-read", "clipboard-write"])
    detail.get_by_role("button", name="Copy JSON").click()
    expect(detail.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert json.loads(page.evaluate("() => navigator.clipboard.readText()")) == raw

    # the actor -> that user's activity
    detail.get_by_role("link", name="All activity of Bob Builder").click()
    expect(page.get_by_role("region", name="Event detail")).to_have_count(0)
    assert query_of(page) == {"actor_id": ["bob"]}
    ids = shown_ids(page)
    assert ids and all(api.request("GET", f"/v1/events/{i}").json()["actor"]["id"] == "bob" for i in ids)
    assert {"ev-3d", "ev-20d"} <= set(ids)
    expect(page.get_by_label("User")).to_have_value("bob")

    # a target -> that resource's whole history (every user)
    page.locator("al-feed a.event-link[data-id='ev-3d']").click()
    page.get_by_role("region", name="Event detail").get_by_role(
        "link", name="History of asset Q3 report.pdf"
    ).click()
    assert query_of(page) == {"target_type": ["asset"], "target_id": ["7"]}
    ids = shown_ids(page)
    actors = {api.request("GET", f"/v1/events/{i}").json()["actor"]["id"] for i in ids}
    assert {"ev-3d", "ev-20d"} <= set(ids) and actors == {"ada", "bob"}
    q3 = {"type": "asset", "id": "7", "name": "Q3 report.pdf"}
    assert all(q3 in api.request("GET", f"/v1/events/{i}").json()["targets"] for i in ids)

    # a detail link opened directly (not in the loaded page) is fetched
    page.goto(console.url + "?event=ev-85d")
    expect(page.get_by_role("region", name="Event detail")).to_contain_text("quarterly numbers")
    page.goto(console.url + "?event=nope")
    expect(page.get_by_role("region", name="Event detail").get_by_role("alert")).to_contain_text(
        "No such event"
    )


def test_load_more_follows_next_cursor(console: Console, keys: Keys) -> None:
    api = keys.api()
    post(
        api,
        [
            {
                "id": f"lm-{n:03d}",
                "action": "user.login",
                "actor": {"id": f"u{n % 5}"},
                "occurred_at": at(timedelta(minutes=n + 1)),
            }
            for n in range(230)
        ],
    )
    page = console.sign_in(api.key or "")
    first = shown_ids(page)
    assert count_text(page) == "230 events"
    assert first == [f"lm-{n:03d}" for n in range(len(first))]  # newest first
    assert 0 < len(first) < 230
    seen = list(first)
    for _ in range(10):
        button = page.get_by_role("button", name="Load more")
        if not button.count():
            break
        button.click()
        page.wait_for_function(f"() => document.querySelectorAll('al-feed tbody tr').length > {len(seen)}")
        seen = shown_ids(page)
    assert seen == [f"lm-{n:03d}" for n in range(230)]
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)


# ---------------------------------------------------------------------------------------------------
# Exports


def test_export_this_view_through_to_a_downloaded_file(
    console: Console, keys: Keys, local_stack: LocalService
) -> None:
    api = keys.api()
    seed_story(api)
    page = console.sign_in(api.key or "")
    page.get_by_label("Action").select_option("asset.*")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    page.get_by_role("button", name="Export this view").click()
    form = page.get_by_role("form", name="Export this view")
    form.get_by_label("Export name").fill("Asset audit")
    form.get_by_label("Format").select_option(label="JSON Lines")
    form.get_by_label("Compress with gzip").check()
    form.get_by_label("Recipients (email addresses, optional)").fill("auditor@example.com")
    form.get_by_role("button", name="Create export").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exports")
    assert query_of(page)["page"] == ["exports"]
    export = page.get_by_role("region", name="Asset audit")
    expect(export).to_contain_text("JSON Lines, gzip")
    expect(export).to_contain_text("action asset.*")
    expect(export).to_contain_text("auditor@example.com")
    status = export.locator("table.runs tbody tr").first.locator(".status")
    expect(status).to_have_text("succeeded", timeout=60_000)  # live: the page polls the run
    run_row = export.locator("table.runs tbody tr").first
    cells = run_row.locator("td").all_inner_texts()
    assert cells[2] == "2" and cells[3].endswith("B")
    assert axe_violations(page) == []

    # the download: the console's service worker answers a navigation with the API's 302 to the
    # presigned URL of the local S3 emulation (its own origin), which the browser saves
    console.allowed_origins.add(
        "{0.scheme}://{0.netloc}".format(urlsplit(local_stack.env["AWS_ENDPOINT_URL"]))
    )
    with page.expect_download() as caught:
        run_row.get_by_role("button", name=re.compile("^Download")).click()
    download = caught.value
    assert download.suggested_filename.startswith("asset-audit-") and download.suggested_filename.endswith(
        ".jsonl.gz"
    )
    lines = gzip.decompress(Path(download.path()).read_bytes()).decode().splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == ["ev-20d", "ev-3d"]

    # another run, and the schedule editor
    export.get_by_role("button", name="Run now").click()
    expect(export.locator("table.runs tbody tr")).to_have_count(2)
    expect(export.locator("table.runs tbody tr").first.locator(".status")).to_have_text(
        "succeeded", timeout=60_000
    )
    export.get_by_role("button", name="Schedule").click()
    schedule = export.get_by_role("form", name="Schedule of Asset audit")
    schedule.get_by_label("Schedule expression (cron or rate)").fill("cron(0 6 * * ? *)")
    schedule.get_by_label("Time zone").fill("Europe/Oslo")
    schedule.get_by_label("Window (ISO 8601 duration)").fill("P1D")
    schedule.get_by_role("button", name="Save schedule").click()
    expect(page.get_by_role("status").filter(has_text="Schedule of")).to_have_text(
        "Schedule of “Asset audit” saved."
    )
    export_id = query_of(page)["export"][0]
    saved = api.request("GET", f"/v1/exports/{export_id}/schedule")
    assert saved.status_code == 200, saved.text
    assert saved.json()["expression"] == "cron(0 6 * * ? *)" and saved.json()["timezone"] == "Europe/Oslo"
    # an API refusal shows the API's message
    schedule.get_by_label("Schedule expression (cron or rate)").fill("rate(5 minutes)")
    schedule.get_by_role("button", name="Save schedule").click()
    refused = api.request(
        "PUT",
        f"/v1/exports/{export_id}/schedule",
        json={"expression": "rate(5 minutes)", "timezone": "UTC", "window": "P1D"},
    )
    assert refused.status_code == 422
    expect(page.get_by_role("alert")).to_have_text(refused.json()["error"]["message"])


# ---------------------------------------------------------------------------------------------------
# What each scope shows


NAV = ["Activity", "Reports", "Exports", "Settings", "API keys"]


def nav_links(page: Any) -> list[str]:
    page.get_by_role("navigation", name="Console").wait_for()
    return [
        str(t) for t in page.get_by_role("navigation", name="Console").get_by_role("link").all_inner_texts()
    ]


@pytest.mark.parametrize(
    ("scopes", "links"),
    [
        (["events:read"], ["Activity", "Reports"]),
        (["events:read", "exports:manage"], ["Activity", "Reports", "Exports"]),
        (["events:read", "logging:manage"], ["Activity", "Reports", "Settings"]),
        (["events:read", "keys:manage"], ["Activity", "Reports", "API keys"]),
        (["events:write", "events:read", "exports:manage", "logging:manage", "keys:manage"], NAV),
    ],
)
def test_navigation_follows_the_scopes(
    console: Console, keys: Keys, scopes: list[str], links: list[str]
) -> None:
    api = keys.api(scopes=scopes)
    page = console.sign_in(api.key or "")
    assert nav_links(page) == links
    for absent in ["Alerts", "Destinations"]:  # Alerts: alerts:manage; Destinations: no page yet
        expect(page.get_by_role("link", name=absent, exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Export this view")).to_have_count(
        1 if "exports:manage" in scopes else 0
    )
    for page_id, name in [("exports", "Exports"), ("settings", "Settings"), ("keys", "API keys")]:
        page.goto(console.url + f"?page={page_id}")
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_text(name if name in links else "Not available")


def test_settings_page_with_logging_manage(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=["events:write", "events:read", "logging:manage"])
    post(api, [{"action": "user.login", "actor": {"id": "ada"}} for _ in range(3)])
    page = console.sign_in(api.key or "", "?page=settings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    meter = page.get_by_label("Events accepted this month")
    expect(meter).to_have_attribute("value", "3")
    usage = api.request("GET", "/v1/usage").json()
    expect(meter).to_have_attribute("max", str(usage["monthly_quota"]))
    expect(page.get_by_role("region", name=re.compile("^Usage"))).to_contain_text(
        f"3 of {usage['monthly_quota']} events"
    )
    expect(page.get_by_label("Logging enabled")).to_be_checked()
    page.get_by_label("Actions to exclude").fill("search\ndebug.*")
    page.get_by_label("Metadata keys to exclude").fill("password")
    page.get_by_label("Retention (days)").fill("30")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_contain_text("Settings saved")
    settings = api.request("GET", "/v1/settings").json()
    assert settings["actions"]["exclude"] == ["search", "debug.*"]
    assert settings["metadata_keys"]["exclude"] == ["password"]
    assert settings["retention_days"] == 30 and settings["logging_enabled"] is True
    page.get_by_label("Logging enabled").uncheck()
    page.get_by_label("Retention (days)").fill("4000")  # the browser lets it through only to the API
    page.eval_on_selector("#s-ret", "e => e.removeAttribute('max')")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert api.request("GET", "/v1/settings").json()["logging_enabled"] is True  # nothing saved
    page.get_by_label("Retention (days)").fill("30")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_contain_text("Settings saved")
    assert api.request("GET", "/v1/settings").json()["logging_enabled"] is False
    assert axe_violations(page) == []


def test_api_keys_page_with_keys_manage(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=["events:read", "exports:manage", "keys:manage"])
    page = console.sign_in(api.key or "", "?page=keys")
    expect(page.get_by_role("heading", level=1)).to_have_text("API keys")
    # only the scopes this key holds are offered
    offered = page.get_by_role("group", name="Scopes").get_by_role("checkbox")
    assert sorted(str(c.get_attribute("value")) for c in offered.all()) == [
        "events:read",
        "exports:manage",
        "keys:manage",
    ]
    page.get_by_label("Key name").fill("reporting robot")
    page.get_by_label("events:read", exact=True).check()
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_role("region", name=re.compile("New key"))
    expect(shown).to_contain_text("shown only this once")
    new_key = str(page.locator("#new-key-value").inner_text())
    assert (
        requests.get(
            api.url + "/v1/events", headers={"Authorization": f"Bearer {new_key}"}, timeout=10
        ).status_code
        == 200
    )
    table = page.get_by_role("table", name=re.compile("Keys of this tenant"))
    expect(table).to_contain_text("reporting robot")
    assert new_key not in str(table.inner_text())
    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator("body")).not_to_contain_text(new_key)  # shown once only
    page.get_by_role("button", name="Revoke reporting robot").click()
    expect(page.get_by_role("status").filter(has_text="revoked")).to_contain_text("reporting robot")
    listed = api.request("GET", "/v1/api-keys").json()["api_keys"]
    assert "reporting robot" not in [k["name"] for k in listed]
    # wider than this key: the API's 403 message is shown
    page.evaluate(
        """() => { const box = document.querySelector('input[name=scopes]');
                   box.value = 'logging:manage'; box.checked = true; }"""
    )
    page.get_by_label("Key name").fill("too wide")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "too wide" not in [k["name"] for k in api.request("GET", "/v1/api-keys").json()["api_keys"]]
    assert axe_violations(page) == []


def test_my_activity_for_a_key_restricted_to_an_actor(console: Console, keys: Keys) -> None:
    admin = keys.api()
    seed_story(admin)
    mine = keys.api(tenant=admin.tenant, scopes=["events:read:self"], actor_id="ada")
    page = console.sign_in(mine.key or "")
    expect(page.get_by_role("heading", level=1)).to_have_text("My activity")
    assert set(shown_ids(page)) == {"ev-today", "ev-85d"}
    assert count_text(page) == "2 events"
    expect(page.get_by_label("User")).to_have_count(0)
    assert nav_links(page) == ["Activity", "Reports"]
    # what the API would not show is not shown by a link either
    page.goto(console.url + "?event=ev-3d")
    expect(page.get_by_role("region", name="Event detail")).to_contain_text("No such event")
    assert axe_violations(page) == []


# ---------------------------------------------------------------------------------------------------
# Embedding with a viewer token


def mint(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.request("POST", "/v1/viewer-tokens", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_embed_html_with_a_token_restricted_to_a_resource(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=["events:write", "events:read", "tokens:create"])
    seed_story(api)
    token = mint(api, scopes=["events:read"], target={"type": "asset", "id": "7"}, ttl_seconds=600)["token"]
    page = console.page
    page.goto(console.url.replace("/console/", "/console/embed.html") + f"#token={token}")
    expect(page.locator("activitylog-feed .count")).to_have_text("2 events")
    ids = page.eval_on_selector_all("activitylog-feed a.event-link", "els => els.map(e => e.dataset.id)")
    assert set(ids) == {"ev-3d", "ev-20d"}
    assert "token" not in page.url  # taken out of the address bar once read
    expect(page.get_by_role("textbox")).to_have_count(0)  # the feed alone: no filters
    expect(page.get_by_role("navigation")).to_have_count(0)
    page.locator("activitylog-feed a.event-link[data-id='ev-20d']").click()
    detail = page.get_by_role("region", name="Event detail")
    expect(detail.get_by_role("table", name="Changes")).to_be_visible()
    detail.get_by_role("link", name="All activity of Bob Builder").click()  # still within the token's slice
    expect(page.locator("activitylog-feed .count")).to_have_text("2 events")
    assert axe_violations(page) == []
    # and a token restricted to an actor shows only that actor's events
    ada = mint(api, scopes=["events:read"], actor_id="ada", ttl_seconds=600)["token"]
    page.goto(console.url.replace("/console/", "/console/embed.html") + f"#token={ada}")  # a new fragment
    expect(page.locator("activitylog-feed a.event-link[data-id='ev-today']")).to_have_count(1)
    expect(page.locator("activitylog-feed .count")).to_have_text("2 events")
    ids = page.eval_on_selector_all("activitylog-feed a.event-link", "els => els.map(e => e.dataset.id)")
    assert set(ids) == {"ev-today", "ev-85d"}
    # the console itself with #token= signs in with the token
    page.goto(console.url + f"#token={ada}")
    expect(page.get_by_role("heading", level=1)).to_have_text("My activity")
    assert set(shown_ids(page)) == {"ev-today", "ev-85d"}
    assert "token" not in page.url


def test_activitylog_feed_element_on_another_site(browser: Any, console_url: str, keys: Keys) -> None:
    """A vendor's page (another origin) loads embed.js and places <activitylog-feed token api>."""
    import http.server
    import threading

    api = keys.api(scopes=["events:write", "events:read", "tokens:create"])
    seed_story(api)
    token = mint(api, scopes=["events:read"], target={"type": "asset", "id": "7"}, ttl_seconds=600)["token"]
    page_html = (
        "<!doctype html><html lang='en'><head><title>Vendor</title>"
        f"<script src='{console_url}embed.js' defer></script></head><body><main><h1>Asset 7</h1>"
        f"<activitylog-feed token='{token}' api='{api.url}'></activitylog-feed></main></body></html>"
    ).encode()

    class Vendor(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(page_html)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Vendor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    vendor = f"http://127.0.0.1:{server.server_address[1]}/"
    c = Console(browser, console_url)
    c.allowed_origins.add(vendor.rstrip("/"))
    try:
        page = c.page
        page.goto(vendor)
        expect(page.locator("activitylog-feed .count")).to_have_text("2 events")
        ids = page.eval_on_selector_all("activitylog-feed a.event-link", "els => els.map(e => e.dataset.id)")
        assert set(ids) == {"ev-3d", "ev-20d"}
        assert vendor == page.url  # following a link inside the feed never navigates the vendor's page
        page.locator("activitylog-feed a.event-link[data-id='ev-3d']").click()
        expect(page.get_by_role("region", name="Event detail")).to_contain_text("Q3 report.pdf")
        assert page.url == vendor
    finally:
        c.close()
        server.shutdown()


# ---------------------------------------------------------------------------------------------------
# Keyboard, axe-core on every page


def test_keyboard_only(console: Console, keys: Keys) -> None:
    api = keys.api()
    seed_story(api)
    page = console.open()
    kb = page.keyboard

    def focused() -> dict[str, Any]:
        return dict(
            page.evaluate(
                """() => { const e = document.activeElement; const s = getComputedStyle(e);
                     return {tag: e.tagName, label: e.labels && e.labels[0] ? e.labels[0].innerText : null,
                             text: e.innerText, outline: s.outlineStyle, width: s.outlineWidth}; }"""
            )
        )

    def tab_to(predicate: Any, limit: int = 60) -> dict[str, Any]:
        for _ in range(limit):
            kb.press("Tab")
            now = focused()
            if predicate(now):
                return now
        raise AssertionError("never focused")

    # sign in: Tab to the field, type, Enter
    field = tab_to(lambda f: f["label"] == "API key")
    assert field["outline"] != "none"
    kb.type(api.key or "")
    kb.press("Enter")
    feed_ready(page)
    # the navigation links, with a visible focus ring
    link = tab_to(lambda f: f["tag"] == "A" and f["text"] == "Activity")
    assert link["outline"] == "solid" and link["width"] != "0px"
    # a filter by keyboard: the User field, type, Enter
    tab_to(lambda f: f["label"] == "User")
    kb.type("bob")
    kb.press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("2 events")
    # a preset button by keyboard
    tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Last 7 days")
    kb.press("Enter")
    expect(page.locator("al-feed .count")).to_have_text("1 events")
    # an event: Enter opens the detail with focus in it; Escape closes it and focus comes back
    event = tab_to(lambda f: f["tag"] == "A" and f["text"] == "asset.downloaded")
    assert event["outline"] == "solid"
    kb.press("Enter")
    expect(page.locator("#event-detail-heading")).to_be_focused()
    kb.press("Tab")
    assert focused()["text"] == "Close"
    kb.press("Escape")
    expect(page.get_by_role("region", name="Event detail")).to_have_count(0)
    expect(page.locator("al-feed a.event-link[data-id='ev-3d']")).to_be_focused()
    # the skip link goes to the content
    page.reload()
    feed_ready(page)
    kb.press("Tab")
    assert focused()["text"] == "Skip to content"
    kb.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_axe_core_finds_no_serious_violation_on_any_page(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=["events:write", "events:read", "exports:manage", "logging:manage", "keys:manage"])
    seed_story(api)
    page = console.open()
    assert axe_violations(page) == [], "sign-in"
    page.get_by_label("API key").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert axe_violations(page) == [], "sign-in with an error"
    page.get_by_label("API key").fill(api.key or "")
    page.get_by_role("button", name="Sign in").click()
    feed_ready(page)
    assert axe_violations(page) == [], "activity"
    page.get_by_role("button", name="Export this view").click()
    assert axe_violations(page) == [], "export this view"
    page.locator("al-feed a.event-link[data-id='ev-20d']").click()
    page.get_by_role("region", name="Event detail").wait_for()
    page.get_by_role("table", name="Changes").wait_for()
    assert axe_violations(page) == [], "event detail"
    for page_id, ready in [("exports", "h1"), ("settings", "form.settings"), ("keys", "table.keys")]:
        page.goto(console.url + f"?page={page_id}")
        page.locator(ready).first.wait_for()
        assert axe_violations(page) == [], page_id


# ---------------------------------------------------------------------------------------------------
# Hostile input is text


def hostile_strings() -> list[str]:
    """The corpus' strings that an event can carry (no NUL, no lone surrogate), markup-looking first."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and 0 < len(value) <= 200 and "\x00" not in value:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return
            found.append(value)

    for line in CORPUS.read_text().splitlines():
        payload = json.loads(line)
        if payload.get("body_b64"):
            try:
                walk(json.loads(base64.b64decode(payload["body_b64"]).decode("utf-8")))
            except (UnicodeDecodeError, ValueError, RecursionError):
                continue
    extra = [
        "<script>window.__pwned=1</script>",
        "<img src=x onerror=window.__pwned=1>",
        '"><svg onload=window.__pwned=1>',
        "javascript:window.__pwned=1",
        "{{constructor.constructor('window.__pwned=1')()}}",
        "${window.__pwned=1}",
        "\u202eevil\u202c",
        "Zo\u00eb \u2713 \U0001d518\U0001d52b",
    ]
    unique = list(dict.fromkeys(extra + [s for s in found if "<" in s or "&" in s] + found))
    return unique[:120]


def test_hostile_corpus_strings_are_rendered_as_text(console: Console, keys: Keys) -> None:
    api = keys.api()
    strings = hostile_strings()
    events: list[dict[str, Any]] = []
    for n, s in enumerate(strings):
        events.append(
            {
                "id": f"h{n:03d}",
                "action": "hostile.input",
                "occurred_at": at(timedelta(seconds=n + 1)),
                "actor": {"id": f"actor-{n}", "name": s[:256]},
                "targets": [{"type": "doc", "id": f"d{n}", "name": s[:256]}],
                "description": s[:1000],
                "changes": [{"field": s[:100], "before": s, "after": {"v": s}}],
                "metadata": {"value": s[:500]},
                "context": {"user_agent": s[:512]},
            }
        )
    accepted = []
    for first in range(0, len(events), 50):
        answer = api.post_events(events[first : first + 50])
        assert answer.status_code == 200, answer.text
        accepted += [r["id"] for r in answer.json()["results"] if r["status"] == "accepted"]
    by_id = {e["id"]: e for e in events if e["id"] in accepted}
    assert len(by_id) >= 0.8 * len(events), "most of the corpus' strings are storable in an event"
    page = console.sign_in(api.key or "", "?action=hostile.input")
    feed_ready(page)
    while page.get_by_role("button", name="Load more").count():
        page.get_by_role("button", name="Load more").click()
        feed_ready(page)
    assert sorted(shown_ids(page)) == sorted(by_id)
    # the feed: each actor and resource cell is exactly the text
    rows = page.eval_on_selector_all(
        "al-feed tbody tr",
        "rows => rows.map(r => [r.querySelector('a.event-link').dataset.id,"
        " r.cells[1].textContent, r.cells[3].textContent])",
    )
    for event_id, user, resource in rows:
        stored = api.request("GET", f"/v1/events/{event_id}").json()
        assert user == stored["actor"]["name"]
        assert resource == f"doc: {stored['targets'][0]['name']}"
    # nothing became markup or ran
    assert page.evaluate("() => window.__pwned") is None
    assert (
        page.locator(
            "al-feed tbody img, al-feed tbody svg, al-feed tbody script, al-feed tbody iframe"
        ).count()
        == 0
    )
    # the detail of every markup-looking one: fields, changes and raw JSON as text
    markup = [i for i, e in by_id.items() if "<" in e["description"]][:25]
    assert markup
    for event_id in markup:
        page.goto(console.url + f"?action=hostile.input&event={event_id}")
        detail = page.get_by_role("region", name="Event detail")
        detail.get_by_role("table", name="Changes").wait_for()
        stored = api.request("GET", f"/v1/events/{event_id}").json()
        cells = detail.get_by_role("table", name="Changes").locator("tbody td").all_text_contents()
        assert cells == [
            stored["changes"][0]["field"],
            stored["changes"][0]["before"],
            json.dumps(stored["changes"][0]["after"], separators=(",", ":"), ensure_ascii=False),
        ]
        description = detail.locator("tr", has=page.locator("th", has_text="Description")).locator("td")
        assert description.text_content() == stored["description"]
        assert json.loads(detail.locator("pre.raw").text_content() or "") == stored
        assert detail.locator("img, svg, script, iframe, object").count() == 0
        assert page.evaluate("() => window.__pwned") is None
