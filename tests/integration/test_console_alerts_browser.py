"""The console's Alerts page in a real browser (Debian's chromium driven by Playwright) against local
mode, whose stream pipeline evaluates alerts as events are accepted: "Create alert from this view"
on the Activity page (the form prefilled with the view's filters), saving it, events posted through
the API that make it fire, the firing on the Alerts page with its events and their links, disable /
enable, delete, the preview, the form's checks, keyboard use, axe-core, and the navigation only a
credential with `alerts:manage` (unrestricted) sees. Screenshots for docs/console.md are written to
docs/images/ with UPDATE_SCREENSHOTS=1.

The fixtures are those of test_console_browser.py (copied, so each file runs alone): the browser
runs in Europe/Oslo, not the machine's zone, so "in the browser's time zone" is observable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import Api, Keys
from tests.integration.console_support import AXE, IMAGES, TIMEOUT, ZONE

FIRING_WAIT_S = 75  # API.md: a firing is recorded within 60 s of the triggering event's acceptance
ADMIN = ["events:write", "events:read", "alerts:manage"]
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


class Console:
    """One browser context (tab state, time zone) and its page; any request to another origin
    than the console's, a page error or a dialog fails the test."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self.context = browser.new_context(
            timezone_id=ZONE, locale="en-GB", viewport={"width": 1400, "height": 900}
        )
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.on("request", self._record)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" and "Refused" in m.text else None,
        )
        self.page.on("dialog", self._dialog)

    def _record(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if "{0.scheme}://{0.netloc}".format(urlsplit(url)) != self.origin:
            self.outside.append(url)

    def _dialog(self, dialog: Any) -> None:
        self.errors.append(f"dialog opened: {dialog.message}")
        dialog.dismiss()

    def sign_in(self, key: str, query: str = "") -> Any:
        page = self.page
        page.goto(self.url + query)
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
    page.locator("al-feed .count:not(.muted)").wait_for()
    page.wait_for_function("() => !document.querySelector('al-feed [role=status]')")
    return page.get_by_role("table").first


def shown_ids(page: Any) -> list[str]:
    feed_ready(page)
    return page.eval_on_selector_all("al-feed tbody a.event-link", "els => els.map(e => e.dataset.id)")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the console's CSP (no inline script) stays on.
        page.evaluate(AXE.read_text() + "\n;0")
    result = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target)}))"""
    )
    return list(result)


def nav_links(page: Any) -> list[str]:
    nav = page.get_by_role("navigation", name="Console")
    nav.wait_for()
    return [str(t) for t in nav.get_by_role("link").all_inner_texts()]


def post(api: Api, events: list[dict[str, Any]]) -> None:
    answer = api.post_events(events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events), answer.text


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).isoformat()


def wait_action(api: Api, action: str) -> None:
    """The catalogue takes up an action within 60 seconds (usually at once in local mode)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = api.request("GET", "/v1/actions")
        if answer.status_code == 200 and any(a["action"] == action for a in answer.json()["actions"]):
            return
        time.sleep(0.5)
    raise AssertionError(f"{action} not in /v1/actions after 60 s")


def wait_actors(api: Api, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = api.request("GET", "/v1/actors", params={"limit": n})
        if answer.status_code == 200 and len(answer.json()["actors"]) >= n:
            return
        time.sleep(0.5)
    raise AssertionError(f"fewer than {n} actors in /v1/actors after 60 s")


def alerts_of(api: Api) -> list[dict[str, Any]]:
    answer = api.request("GET", "/v1/alerts")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["alerts"])


def focus_style(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                 return {tag: e.tagName, id: e.id, text: e.innerText,
                         label: e.labels && e.labels[0] ? e.labels[0].innerText : null,
                         outline: s.outlineStyle, width: s.outlineWidth}; }"""
        )
    )


def open_alert_form(page: Any) -> Any:
    page.get_by_role("button", name="Create alert from this view").click()
    form = page.get_by_role("form", name="Create alert from this view")
    form.wait_for()
    return form


def fill_alert(
    page: Any, name: str, count: str, window: str, group: str, cooldown: str, recipients: str
) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Count", exact=True).fill(count)
    page.get_by_label("Window", exact=True).fill(window)
    page.get_by_label("Group by", exact=True).select_option(group)
    page.get_by_label("Cooldown", exact=True).fill(cooldown)
    page.get_by_label("Recipients", exact=True).fill(recipients)


def wait_for_firing(page: Any) -> Any:
    """The firing on the open alert's page: the page asks again every 10 s by itself; Refresh asks now."""
    firing = page.locator("section.firing")
    deadline = time.monotonic() + FIRING_WAIT_S
    while firing.count() == 0 and time.monotonic() < deadline:
        page.get_by_role("button", name="Refresh").click()
        try:
            firing.first.wait_for(timeout=3000)
        except playwright.Error:
            continue
    assert firing.count() > 0, f"no firing shown on the Alerts page after {FIRING_WAIT_S} s"
    return firing.first


# ---------------------------------------------------------------------------------------------------
# The whole story: the view, the form, the firing, its events, disable, delete


def test_an_alert_from_the_view_fires_and_shows_its_events(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=ADMIN)
    # two users in the catalogue, or the console reads this key as restricted to the one it sees
    post(
        api, [{"id": f"seed-{who}", "action": "user.login", "actor": {"id": who}} for who in ("seed", "ada")]
    )
    wait_action(api, "user.login")
    wait_actors(api, 2)
    page = console.sign_in(api.key or "")
    feed_ready(page)
    assert "Alerts" in nav_links(page)

    # the view: failed logins (the action from the catalogue's picker, the outcome)
    page.get_by_label("Action", exact=True).select_option("user.login")
    page.get_by_label("Outcome", exact=True).select_option("failure")
    feed_ready(page)
    assert parse_qs(urlsplit(page.url).query) == {"action": ["user.login"], "outcome": ["failure"]}

    # "Create alert from this view": the form says which events it watches, focus on its Name
    form = open_alert_form(page)
    expect(form).to_contain_text("action user.login, failure")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Action user.login, failure")
    fill_alert(page, "Repeated failed logins", "2", "PT10M", "actor", "PT1H", "security@example.com")
    expect(form.locator("p.rule")).to_contain_text("≥ 2 events in 10 min per user")
    expect(form.locator("#a-window-hint")).to_have_text("PT10M = 10 min")
    assert axe_violations(page) == [], "the alert form"
    form.screenshot(path=str(IMAGES / "console-alert-form.png"))
    page.get_by_role("button", name="Save alert").click()

    # saved: the Alerts page with that alert open, the rule in words, never fired yet
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
    expect(page).to_have_url(re.compile(r"[?&]page=alerts&alert="))
    [alert] = alerts_of(api)
    assert alert["name"] == "Repeated failed logins"
    assert alert["filters"]["actions"] == ["user.login"] and alert["filters"]["outcome"] == "failure"
    assert alert["filters"]["actor_id"] is None and alert["filters"]["q"] is None
    assert alert["threshold"] == {"count": 2, "window": "PT10M"}
    assert (alert["group_by"], alert["cooldown"], alert["enabled"]) == ("actor", "PT1H", True)
    assert alert["recipients"] == ["security@example.com"]
    assert parse_qs(urlsplit(page.url).query)["alert"] == [alert["id"]]
    table = page.get_by_role("table", name=re.compile("Alerts of this tenant"))
    row = table.get_by_role("row").filter(has_text="Repeated failed logins")
    expect(row).to_contain_text("≥ 2 events in 10 min per user")
    expect(row).to_contain_text(
        "action user.login, failure; at most once per 1 h per user; emailed to security@example.com"
    )
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text("Never")
    expect(page.get_by_role("heading", name="Firings of Repeated failed logins")).to_be_visible()
    expect(page.get_by_text("No firings yet.")).to_be_visible()

    # events that make it fire for mallory (2 failed logins), and some that do not
    post(
        api,
        [
            {
                "id": "ev-m1",
                "action": "user.login",
                "outcome": "failure",
                "occurred_at": at(timedelta(minutes=3)),
                "actor": {"id": "mallory", "name": "Mallory Mal"},
                "context": {"ip": "203.0.113.66"},
            },
            {"id": "ev-ok", "action": "user.login", "actor": {"id": "mallory", "name": "Mallory Mal"}},
            {"id": "ev-ada", "action": "user.login", "outcome": "failure", "actor": {"id": "ada"}},
            {
                "id": "ev-other",
                "action": "asset.deleted",
                "outcome": "failure",
                "actor": {"id": "mallory", "name": "Mallory Mal"},
            },
            {
                "id": "ev-m2",
                "action": "user.login",
                "outcome": "failure",
                "occurred_at": at(timedelta(minutes=1)),
                "actor": {"id": "mallory", "name": "Mallory Mal"},
            },
        ],
    )
    firing = wait_for_firing(page)
    expect(page.locator("section.firing")).to_have_count(1)
    expect(firing.get_by_role("heading", level=3)).to_contain_text("user mallory")
    events = firing.get_by_role("table", name="Events of this firing, oldest first")
    expect(events.locator("tbody tr")).to_have_count(2)
    ids = events.locator("tbody td code").all_inner_texts()
    assert ids == ["ev-m1", "ev-m2"]
    first = events.locator("tbody tr").first
    expect(first).to_contain_text("Mallory Mal")
    expect(first).to_contain_text("user.login")
    # the times of the firing and its events in the browser's zone, UTC on hover
    cell = first.locator("time")
    occurred = datetime.fromisoformat(str(cell.get_attribute("datetime")).replace("Z", "+00:00"))
    assert occurred.astimezone(ZoneInfo(ZONE)).strftime("%H:%M:%S") in cell.inner_text()
    assert str(cell.get_attribute("title")).endswith("Z UTC")

    # the list's "Last fired" follows (the page's next ask of /v1/alerts)
    fired_at = alerts_of(api)[0]["last_fired_at"]
    assert fired_at is not None
    page.get_by_role("button", name="Refresh").click()
    last = row.locator("td").nth(3).locator("time")
    expect(last).to_have_attribute("datetime", fired_at)
    local = datetime.fromisoformat(fired_at.replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE))
    expect(last).to_contain_text(local.strftime("%H:%M:%S"))
    expect(page.get_by_role("table", name=re.compile("Alerts of this tenant"))).to_contain_text(ZONE)
    assert axe_violations(page) == [], "the alerts page with a firing"
    page.screenshot(path=str(IMAGES / "console-alerts.png"), full_page=True)

    # an event's link: the Activity feed filtered to the firing's window, that event's detail open
    events.get_by_role("link", name="Event ev-m1: details").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    expect(page.get_by_role("region", name="Event detail")).to_contain_text("ev-m1")
    query = parse_qs(urlsplit(page.url).query)
    assert (
        query["actor_id"] == ["mallory"] and query["action"] == ["user.login"] and query["event"] == ["ev-m1"]
    )
    expect(page.locator("al-feed .count")).to_have_text("2 events")  # (the detail has a status of its own)
    rows = page.eval_on_selector_all("al-feed tbody a.event-link", "els => els.map(e => e.dataset.id)")
    assert set(rows) == {"ev-m1", "ev-m2"}
    page.go_back()
    firing = wait_for_firing(page)
    # "Show this window in Activity": the same view without an open event
    firing.get_by_role("link", name="Show this window in Activity").click()
    assert set(shown_ids(page)) == {"ev-m1", "ev-m2"}
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")

    # disable, enable: the API's alert follows
    row = (
        page.get_by_role("table", name=re.compile("Alerts of this tenant"))
        .get_by_role("row")
        .filter(has_text="Repeated failed logins")
    )
    row.get_by_role("button", name="Disable Repeated failed logins").click()
    expect(row).to_contain_text("Disabled")
    expect(page.get_by_role("status").filter(has_text="disabled")).to_have_text(
        "Alert “Repeated failed logins” disabled."
    )
    expect(row.get_by_role("button", name="Enable Repeated failed logins")).to_be_focused()
    assert alerts_of(api)[0]["enabled"] is False
    row.get_by_role("button", name="Enable Repeated failed logins").click()
    expect(row.get_by_role("button", name="Disable Repeated failed logins")).to_be_visible()
    assert alerts_of(api)[0]["enabled"] is True

    # delete: gone from the page and from the API
    row.get_by_role("button", name="Delete Repeated failed logins").click()
    expect(page.get_by_text("No alerts yet.")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="deleted")).to_have_text(
        "Alert “Repeated failed logins” deleted."
    )
    assert alerts_of(api) == []
    assert "alert" not in parse_qs(urlsplit(page.url).query)
    assert axe_violations(page) == [], "the alerts page, empty"


def test_load_more_firings_newest_first(console: Console, keys: Keys) -> None:
    """Count 1, no cooldown: each matching event fires; 12 firings are more than a page (10)."""
    api = keys.api(scopes=ADMIN)
    created = api.request(
        "POST",
        "/v1/alerts",
        json={
            "name": "Every deletion",
            "filters": {"actions": ["asset.deleted"]},
            "threshold": {"count": 1, "window": "PT1M"},
            "group_by": None,
            "cooldown": "PT0S",
        },
    )
    assert created.status_code == 201, created.text
    alert_id = created.json()["id"]
    post(
        api,
        [
            {
                "id": f"del-{i:02d}",
                "action": "asset.deleted",
                "actor": {"id": "bob"},
                "occurred_at": at(timedelta(seconds=60 - i)),
            }
            for i in range(12)
        ],
    )
    deadline = time.monotonic() + FIRING_WAIT_S
    while time.monotonic() < deadline:
        answer = api.request("GET", f"/v1/alerts/{alert_id}/firings", params={"limit": 50})
        assert answer.status_code == 200, answer.text
        if len(answer.json()["firings"]) == 12:
            break
        time.sleep(1)
    expected = [f["event_ids"][0] for f in answer.json()["firings"]]
    assert len(expected) == 12, f"{len(expected)} firings after {FIRING_WAIT_S} s"
    page = console.sign_in(api.key or "", f"?page=alerts&alert={alert_id}")
    row = (
        page.get_by_role("table", name=re.compile("Alerts of this tenant"))
        .get_by_role("row")
        .filter(has_text="Every deletion")
    )
    expect(row).to_contain_text("≥ 1 event in 1 min")
    expect(row).to_contain_text("no cooldown")
    expect(page.locator("section.firing")).to_have_count(10)
    page.get_by_role("button", name="Load more").click()
    expect(page.locator("section.firing")).to_have_count(12)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    expect(page.locator("section.firing table tbody tr")).to_have_count(12)
    shown = page.locator("section.firing table tbody td code").all_inner_texts()
    assert shown == expected, "newest first, as the API lists them"
    assert axe_violations(page) == [], "twelve firings"


# ---------------------------------------------------------------------------------------------------
# The form: preview, checks, keyboard


def test_preview_says_what_the_rule_would_have_done_on_the_view(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=ADMIN)
    post(
        api,
        [
            {
                "id": f"old-{i}",
                "action": "user.login",
                "outcome": "failure",
                "actor": {"id": "eve"},
                "occurred_at": at(timedelta(hours=2, minutes=i)),
            }
            for i in range(3)
        ],
    )
    page = console.sign_in(api.key or "", "?action=user.login&outcome=failure&range=7d")
    feed_ready(page)
    open_alert_form(page)
    expect(page.get_by_role("form", name="Create alert from this view")).to_contain_text(
        "The view's date range is not part of an alert."
    )
    fill_alert(page, "Preview", "3", "PT10M", "actor", "PT1H", "")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("al-alert-form [role=status]")).to_contain_text(
        "this alert would have fired 1 time", timeout=30_000
    )
    page.get_by_label("Count", exact=True).fill("4")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("al-alert-form [role=status]")).to_contain_text(
        "would have fired 0 times", timeout=30_000
    )
    assert alerts_of(api) == [], "a preview creates nothing"


def test_the_form_checks_its_fields_and_the_api_answers(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=ADMIN)
    page = console.sign_in(api.key or "")
    feed_ready(page)
    open_alert_form(page)
    fill_alert(page, "Too wide", "0", "P2D", "", "P8D", "not-an-address")
    page.get_by_role("button", name="Save alert").click()
    expect(page.locator("al-alert-form [role=alert]")).to_have_text("Some fields need a change.")
    for field, message in [
        ("Count", "A whole number from 1 to 1000."),
        ("Window", "The window must be from 1 min to 1 day (PT1M\u2013P1D)."),
        ("Cooldown", "The cooldown must be from 0 s to 7 days (PT0S\u2013P7D)."),
        ("Recipients", "Not an email address: not-an-address."),
    ]:
        control = page.get_by_label(field, exact=True)
        expect(control).to_have_attribute("aria-invalid", "true")
        expect(control).to_have_accessible_description(re.compile(re.escape(message)))
    expect(page.get_by_label("Count", exact=True)).to_be_focused()
    assert axe_violations(page) == [], "the form with errors"
    assert alerts_of(api) == []
    # the checks passed, the alert is saved; Cancel closes the form with focus back on its button
    fill_alert(page, "Fine", "5", "PT1H", "", "PT0S", "")
    page.get_by_role("button", name="Save alert").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
    [alert] = alerts_of(api)
    assert (alert["threshold"], alert["group_by"], alert["cooldown"]) == (
        {"count": 5, "window": "PT1H"},
        None,
        "PT0S",
    )
    assert alert["filters"]["actions"] == [] and alert["recipients"] == []
    expect(page.get_by_role("row").filter(has_text="Fine")).to_contain_text("≥ 5 events in 1 h")
    page.get_by_role("link", name="Activity", exact=True).first.click()
    feed_ready(page)
    open_alert_form(page)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("form", name="Create alert from this view")).to_have_count(0)
    expect(page.get_by_role("button", name="Create alert from this view")).to_be_focused()


def test_keyboard_only_create_and_delete(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=ADMIN)
    page = console.sign_in(api.key or "", "?outcome=failure")
    feed_ready(page)
    kb = page.keyboard

    def tab_to(predicate: Any, limit: int = 80) -> dict[str, Any]:
        for _ in range(limit):
            kb.press("Tab")
            now = focus_style(page)
            if predicate(now):
                return now
        raise AssertionError("never focused")

    button = tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Create alert from this view")
    assert button["outline"] == "solid" and button["width"] != "0px"
    kb.press("Enter")
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    kb.press("Control+A")
    kb.type("Failures by IP")
    for label in ["Count", "Window", "Group by", "Cooldown", "Recipients"]:
        field = tab_to(lambda f, label=label: f["label"] == label, limit=3)
        assert field["outline"] == "solid", label
        if label == "Count":
            kb.press("Control+A")
            kb.type("4")
        if label == "Group by":
            kb.press("ArrowDown")  # from User (the first choice) to IP address
    expect(page.get_by_label("Group by", exact=True)).to_have_value("ip")
    kb.press("Enter")  # in a text field: submits the form
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts")
    [alert] = alerts_of(api)
    assert (alert["name"], alert["threshold"]["count"], alert["group_by"]) == ("Failures by IP", 4, "ip")
    assert alert["filters"]["outcome"] == "failure"
    # the alert's link opens its firings, focus on their heading; Delete by keyboard
    page.reload()
    tab_to(lambda f: f["tag"] == "A" and f["text"] == "Failures by IP")
    kb.press("Enter")
    expect(page.locator("#firings-heading")).to_be_focused()
    delete = tab_to(lambda f: f["tag"] == "BUTTON" and f["text"] == "Delete", limit=200)
    assert delete["outline"] == "solid"
    kb.press("Enter")
    expect(page.get_by_text("No alerts yet.")).to_be_visible()
    assert alerts_of(api) == []


# ---------------------------------------------------------------------------------------------------
# Who sees Alerts


@pytest.mark.parametrize(
    ("scopes", "actor_id", "links"),
    [
        (["events:read"], None, ["Activity", "Reports"]),
        (["events:read", "exports:manage"], None, ["Activity", "Reports", "Exports"]),
        (["events:read", "alerts:manage"], None, ["Activity", "Reports", "Alerts"]),
        (["alerts:manage"], None, ["Alerts"]),
        # a key restricted to one actor holds only events:read:self and tokens:create
        (["events:read:self"], "ada", ["Activity", "Reports"]),
    ],
)
def test_the_alerts_link_only_for_alerts_manage(
    console: Console, keys: Keys, scopes: list[str], actor_id: str | None, links: list[str]
) -> None:
    api = keys.api(scopes=scopes, actor_id=actor_id)
    page = console.sign_in(api.key or "")
    assert nav_links(page) == links
    allowed = "Alerts" in links
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="Alerts", exact=True)).to_have_count(1 if allowed else 0)
    if "Activity" in links:
        feed_ready(page)
        expect(page.get_by_role("button", name="Create alert from this view")).to_have_count(
            1 if allowed else 0
        )
    page.goto(console.url + "?page=alerts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Alerts" if allowed else "Not available")
    if allowed:
        expect(page.get_by_text("No alerts yet.")).to_be_visible()
        assert axe_violations(page) == [], scopes


def test_each_page_replaces_the_one_before(console: Console, keys: Keys) -> None:
    """Following the navigation's links shows one page at a time (a page element's `remove` method
    once shadowed Element.remove(), and Lit left the Exports page above the next one)."""
    api = keys.api(scopes=["events:read", "exports:manage", "alerts:manage"])
    page = console.sign_in(api.key or "", "?page=exports")
    nav = page.get_by_role("navigation", name="Console")
    for name in ["Activity", "Alerts", "Exports", "Alerts", "Activity"]:
        nav.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert page.evaluate("() => document.querySelector('main').children.length") == 1, name
