"""The console's Reports page in a real browser (Debian's chromium driven by Playwright) against local
mode (issue 17, item 4): for the view's filters (the Activity filter bar and query string), the
events per interval as a bar chart (a bar, or its row in the table beside it, opens that interval in
Activity), the top users, actions and resources (each opens the feed with that filter added), the
weekday x hour heatmap, the interval select, the browser's zone sent as `tz`, an answer that says
`complete: false` shown as still computing and asked again, who sees the Reports link, keyboard
use, axe-core, no request to another origin; and the PDF option of "Export this view". The
screenshot for the README is written to docs/images/ with UPDATE_SCREENSHOTS=1.

The fixtures are those of test_console_browser.py (copied, as test_console_alerts_browser.py does,
so each file runs alone): the browser runs in Europe/Oslo, not the machine's zone, so "in the
browser's time zone" is observable.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import Api, Keys
from tests.integration.console_support import AXE, IMAGES, TIMEOUT, ZONE

READER = ["events:write", "events:read"]
playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect


class Console:
    """One browser context (tab state, time zone) and its page; any request to another origin
    than the console's, a page error, a CSP refusal or a dialog fails the test. The report
    routes' requests are kept (`reports`)."""

    def __init__(self, browser: Any, url: str) -> None:
        self.url = url
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        self.context = browser.new_context(
            timezone_id=ZONE, locale="en-GB", viewport={"width": 1400, "height": 900}
        )
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.reports: list[str] = []
        self.context.on("request", self._record)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.page.on("pageerror", lambda err: self.errors.append(f"page error: {err}"))
        self.page.on(
            "console",
            lambda m: self.errors.append(m.text) if m.type == "error" and "Refused" in m.text else None,
        )
        self.page.on("console", self._csp)
        self.page.on("dialog", self._dialog)

    def _record(self, request: Any) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if "{0.scheme}://{0.netloc}".format(urlsplit(url)) != self.origin:
            self.outside.append(url)
        if "/v1/reports/" in url:
            self.reports.append(url)

    def _csp(self, message: Any) -> None:
        # An inline style (a style attribute) is refused by `default-src 'self'` with this message.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

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


def feed_count(page: Any) -> Any:
    return page.locator("al-feed .count:not(.muted)")


def expect_total(page: Any, text: str) -> None:
    """The report's total as the page says it (five report requests answer one after the other in
    local mode, behind whatever the service is still doing for earlier tests: the page's timeout)."""
    expect(page.locator(".report-range strong")).to_have_text(text, timeout=TIMEOUT)


def expect_count(page: Any, text: str) -> None:
    expect(feed_count(page)).to_have_text(text, timeout=TIMEOUT)


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def post(api: Api, events: list[dict[str, Any]]) -> None:
    answer = api.post_events(events)
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(events), answer.text


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).isoformat()


def seed(api: Api) -> list[dict[str, Any]]:
    """Seven events of the last 6 days (three users, three actions, two resources) and one of 40
    days ago, outside the pages' `Last 7 days`."""
    ada = {"id": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}
    bob = {"id": "bob", "name": "Bob Builder"}
    cy = {"id": "cy"}
    q3 = [{"type": "asset", "id": "7", "name": "Q3 report.pdf"}]
    budget = [{"type": "asset", "id": "8", "name": "Budget"}]

    def ev(id_: str, action: str, ago: timedelta, actor: dict[str, str], **extra: Any) -> dict[str, Any]:
        return {"id": id_, "action": action, "occurred_at": at(ago), "actor": actor, **extra}

    events = [
        ev("r1", "user.login", timedelta(minutes=3), ada),
        ev("r2", "user.login", timedelta(hours=2), ada),
        ev("r3", "asset.downloaded", timedelta(days=1), ada, targets=q3),
        ev("r4", "asset.downloaded", timedelta(days=2), bob, targets=q3),
        ev("r5", "asset.downloaded", timedelta(days=2, hours=5), bob, targets=budget),
        ev("r6", "user.login", timedelta(days=4), bob, outcome="failure"),
        ev("r7", "search", timedelta(days=6), cy),
        ev("old", "search", timedelta(days=40), cy),
    ]
    post(api, events)
    return events


def week_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["id"] != "old"]


def reports_ready(page: Any) -> None:
    """Every part of the page has its answer (nothing loading, nothing still computing)."""
    page.locator("table.heatmap").wait_for()
    page.locator("al-bar-chart canvas").first.wait_for()
    page.wait_for_function("() => !document.querySelector('al-reports [role=status]')")


def table_rows(page: Any, selector: str) -> list[list[str]]:
    return [
        [str(c) for c in row.locator("th, td").all_inner_texts()]
        for row in page.locator(f"{selector} tbody tr").all()
    ]


def report_api(api: Api, **params: str) -> dict[str, Any]:
    answer = api.request("GET", "/v1/reports/activity", params={"tz": ZONE, **params})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# ---------------------------------------------------------------------------------------------------
# The page: chart, top lists, heatmap, and where they lead


def test_reports_of_the_view_and_their_links_into_activity(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=READER)
    events = seed(api)
    page = console.sign_in(api.key or "", "?page=reports&range=7d")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    reports_ready(page)
    expect_total(page, "7 events")

    # every report request: the view's filters, the browser's zone, day intervals by default
    for url in console.reports:
        sent = parse_qs(urlsplit(url).query)
        assert sent["tz"] == [ZONE], url
        assert "from" in sent and "to" not in sent, url  # Last 7 days: to is now
        if "/activity" in url:
            assert sent["interval"] == ["day"], url
    groups = sorted(parse_qs(urlsplit(u).query).get("group_by", [""])[0] for u in console.reports)
    assert groups == ["", "", "action", "actor", "target"]  # the series and the heatmap: no group

    # top lists: users by name, most events first; resources as type: name
    assert table_rows(page, "section[aria-labelledby=r-actor] table") == [
        ["Ada Lovelace", "3", ""],
        ["Bob Builder", "3", ""],
        ["cy", "1", ""],
    ]
    assert table_rows(page, "section[aria-labelledby=r-action] table") == [
        ["asset.downloaded", "3", ""],
        ["user.login", "3", ""],
        ["search", "1", ""],
    ]
    assert table_rows(page, "section[aria-labelledby=r-target] table") == [
        ["asset: Q3 report.pdf", "2", ""],
        ["asset: Budget", "1", ""],
    ]
    # the share bars are drawn through the CSSOM (an inline style attribute would break the CSP)
    widths = page.eval_on_selector_all(
        "section[aria-labelledby=r-target] .share-bar", "bars => bars.map(b => b.style.width)"
    )
    assert widths == ["100%", "50%"]

    # the heatmap: each event in its weekday (Monday first) and hour of the browser's zone
    expected = [[0] * 24 for _ in range(7)]
    for e in week_of(events):
        local = datetime.fromisoformat(e["occurred_at"]).astimezone(ZoneInfo(ZONE))
        expected[local.weekday()][local.hour] += 1
    rows = table_rows(page, "table.heatmap")
    assert [r[0] for r in rows] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert [[int(c) for c in r[1:]] for r in rows] == expected
    busiest = page.locator("table.heatmap td.h5")
    assert busiest.count() >= 1

    # events per day: the table beside the chart says what the API says, day by day
    page.get_by_text("Events per day as a table").click()
    series = report_api(api, **{"from": parse_qs(urlsplit(console.reports[0]).query)["from"][0]})["series"]
    counts = [int(r[1]) for r in table_rows(page, "details.series-table table")]
    assert counts == [s["count"] for s in series]
    assert sum(counts) == 7

    # a top user: the feed with that user added to the view's filters
    page.get_by_role("link", name="Bob Builder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    assert query_of(page) == {"actor_id": ["bob"], "range": ["7d"]}
    expect_count(page, "3 events")
    page.go_back()
    reports_ready(page)

    # a top resource: type and id
    page.get_by_role("link", name="asset: Q3 report.pdf").click()
    assert query_of(page) == {"target_type": ["asset"], "target_id": ["7"], "range": ["7d"]}
    expect_count(page, "2 events")
    page.go_back()
    reports_ready(page)

    # a top action
    page.get_by_role("link", name="user.login").click()
    assert query_of(page) == {"action": ["user.login"], "range": ["7d"]}
    expect_count(page, "3 events")
    page.go_back()
    reports_ready(page)

    # a day of the table: From its start, To the next day's start
    if not page.locator("details.series-table[open]").count():
        page.get_by_text("Events per day as a table").click()
    last = len(series) - 1
    page.locator("details.series-table tbody tr").nth(last - 1).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    sent = query_of(page)
    assert set(sent) == {"from", "to"}  # a custom range: From and To alone
    assert datetime.fromisoformat(sent["from"][0]) == datetime.fromisoformat(series[last - 1]["start"])
    assert datetime.fromisoformat(sent["to"][0]) == datetime.fromisoformat(series[last]["start"])
    expect_count(page, f"{series[last - 1]['count']} events")
    page.go_back()
    reports_ready(page)

    # a bar of the chart: the same; the count shows on hover
    over = page.locator("al-bar-chart .u-over")
    box = over.bounding_box()
    assert box is not None
    x = box["x"] + (last + 0.5) / len(series) * box["width"]
    page.mouse.move(x, box["y"] + box["height"] - 4)
    expect(page.locator("al-bar-chart .readout")).to_contain_text(f": {series[last]['count']} events")
    page.mouse.click(x, box["y"] + box["height"] - 4)
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    sent = query_of(page)
    assert datetime.fromisoformat(sent["from"][0]) == datetime.fromisoformat(series[last]["start"])
    to = report_api(api, **{"from": series[0]["start"]})["to"]
    assert datetime.fromisoformat(sent["to"][0]) <= datetime.fromisoformat(to)  # the last day ends now
    expect_count(page, f"{series[last]['count']} events")


def test_interval_and_filters_live_in_the_url_and_cross_to_activity(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=READER)
    seed(api)
    page = console.sign_in(api.key or "", "?page=reports&range=7d")
    reports_ready(page)

    # the interval: hour and week, in the URL, sent to the API; the heading says it
    console.reports.clear()
    page.get_by_label("Interval").select_option("hour")
    expect(page.get_by_role("heading", name="Events per hour")).to_be_visible()
    reports_ready(page)
    assert query_of(page) == {"page": ["reports"], "range": ["7d"], "interval": ["hour"]}
    activity = [u for u in console.reports if "/activity" in u]
    assert activity and all(parse_qs(urlsplit(u).query)["interval"] == ["hour"] for u in activity)
    hours = page.evaluate("() => document.querySelector('al-bar-chart').series.length")
    assert 7 * 24 <= hours <= 7 * 24 + 2  # a DST change adds or takes an hour; the first is partial
    page.get_by_label("Interval").select_option("week")
    expect(page.get_by_role("heading", name="Events per week")).to_be_visible()
    reports_ready(page)
    assert query_of(page)["interval"] == ["week"]

    # the filter bar is the Activity page's: Outcome narrows every part
    page.get_by_label("Outcome").select_option("failure")
    expect_total(page, "1 events")
    reports_ready(page)
    assert query_of(page) == {
        "page": ["reports"],
        "outcome": ["failure"],
        "range": ["7d"],
        "interval": ["week"],
    }
    assert table_rows(page, "section[aria-labelledby=r-actor] table") == [["Bob Builder", "1", ""]]
    assert sum(int(c) for r in table_rows(page, "table.heatmap") for c in r[1:]) == 1
    # a reload and a shared link open the same view
    page.reload()
    reports_ready(page)
    expect(page.get_by_label("Outcome")).to_have_value("failure")
    expect(page.get_by_label("Interval")).to_have_value("week")

    # the navigation keeps the filters between Activity and Reports
    nav = page.get_by_role("navigation", name="Console")
    nav.get_by_role("link", name="Activity", exact=True).click()
    expect_count(page, "1 events")
    assert query_of(page) == {"outcome": ["failure"], "range": ["7d"]}
    page.get_by_label("Outcome").select_option("")
    expect_count(page, "7 events")
    nav.get_by_role("link", name="Reports", exact=True).click()
    reports_ready(page)
    expect_total(page, "7 events")
    assert query_of(page) == {"page": ["reports"], "range": ["7d"]}
    # "Show these events in Activity": the same view as the feed
    page.get_by_role("link", name="Show these events in Activity").click()
    expect_count(page, "7 events")

    # without a date filter the API's default: the last 30 days, said in words
    page.goto(console.url + "?page=reports")
    reports_ready(page)
    expect(page.locator(".report-range")).to_contain_text("no date filter: the last 30 days")
    expect_total(page, "7 events")
    # From after To: said in words, nothing asked
    console.reports.clear()
    page.get_by_label("From", exact=True).fill("2026-01-10T10:00")
    page.get_by_label("To", exact=True).fill("2026-01-09T10:00")
    expect(page.locator("al-reports [role=alert]")).to_have_text("From must be before To.")
    assert all("2026-01-09" not in u for u in console.reports)


def test_an_incomplete_answer_is_shown_and_asked_again(console: Console, keys: Keys) -> None:
    """`complete: false` with `retry_after_seconds`: the page shows what was counted so far, says
    it is still being computed, and asks again after that many seconds. (Local mode answers small
    tenants at once, so the first heatmap answer is replaced by a partial one here.)"""
    api = keys.api(scopes=READER)
    seed(api)
    asked: list[str] = []

    def partial_first(route: Any) -> None:
        asked.append(route.request.url)
        if len(asked) > 1:
            route.continue_()
            return
        real = route.fetch()
        body = real.json()
        cells = [[0] * 24 for _ in range(7)]
        cells[0][0] = 1
        body.update(cells=cells, total=1, complete=False, retry_after_seconds=2)
        route.fulfill(response=real, body=json.dumps(body))

    console.page.route("**/v1/reports/heatmap?*", partial_first)
    page = console.sign_in(api.key or "", "?page=reports&range=7d")
    status = page.locator("section.report-heatmap [role=status]")
    expect(status).to_contain_text("Still being computed", timeout=TIMEOUT)
    expect(status).to_contain_text("asking again in 2 s")
    expect(page.locator("table.heatmap caption")).to_contain_text("1 events")
    assert axe_violations(page) == [], "still computing"
    expect(status).to_have_count(0, timeout=TIMEOUT)
    expect(page.locator("table.heatmap caption")).to_contain_text("7 events", timeout=TIMEOUT)
    assert len(asked) == 2
    assert parse_qs(urlsplit(asked[0]).query) == parse_qs(urlsplit(asked[1]).query)  # the same question


# ---------------------------------------------------------------------------------------------------
# Who sees Reports


@pytest.mark.parametrize(
    ("scopes", "actor_id", "links"),
    [
        (["events:read"], None, ["Activity", "Reports"]),
        (["events:read", "exports:manage"], None, ["Activity", "Reports", "Exports"]),
        (["exports:manage"], None, ["Exports"]),
        # a key restricted to one actor: its own slice, and no top users (it would be itself alone)
        (["events:read:self"], "bob", ["Activity", "Reports"]),
    ],
)
def test_the_reports_link_follows_the_scopes(
    console: Console, keys: Keys, scopes: list[str], actor_id: str | None, links: list[str]
) -> None:
    writer = keys.api(scopes=READER)
    seed(writer)
    api = keys.api(tenant=writer.tenant, scopes=scopes, actor_id=actor_id)
    page = console.sign_in(api.key or "")
    assert nav_links(page) == links
    page.goto(console.url + "?page=reports&range=7d")
    if "Reports" not in links:
        expect(page.get_by_role("heading", level=1)).to_have_text("Not available")
        return
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    reports_ready(page)
    if actor_id:
        expect_total(page, "3 events")  # bob's own
        expect(page.get_by_role("heading", name="Top users")).to_have_count(0)
        expect(page.get_by_label("User", exact=True)).to_have_count(0)
        assert [r[0] for r in table_rows(page, "section[aria-labelledby=r-action] table")] == [
            "asset.downloaded",
            "user.login",
        ]
    else:
        expect_total(page, "7 events")
        expect(page.get_by_role("heading", name="Top users")).to_have_count(1)


# ---------------------------------------------------------------------------------------------------
# Keyboard, axe-core, the README's screenshot


def test_keyboard_only_and_axe_core(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=READER)
    seed(api)
    page = console.sign_in(api.key or "", "?page=reports&range=7d")
    reports_ready(page)
    assert axe_violations(page) == [], "reports"
    kb = page.keyboard

    def focused() -> dict[str, Any]:
        return dict(
            page.evaluate(
                """() => { const e = document.activeElement; const s = getComputedStyle(e);
                     return {tag: e.tagName, id: e.id, text: e.innerText,
                             label: e.labels && e.labels[0] ? e.labels[0].innerText : null,
                             outline: s.outlineStyle}; }"""
            )
        )

    def tab_to(predicate: Any, limit: int = 80) -> dict[str, Any]:
        for _ in range(limit):
            kb.press("Tab")
            now = focused()
            if predicate(now):
                return now
        raise AssertionError("never focused")

    page.locator("#main").focus()
    # the interval by keyboard
    tab_to(lambda f: f["label"] == "Interval")
    kb.press("ArrowDown")  # Day -> Week
    expect(page.get_by_role("heading", name="Events per week")).to_be_visible()
    reports_ready(page)
    # the chart's numbers as a table: a summary that opens with Enter, each week a link
    summary = tab_to(lambda f: f["tag"] == "SUMMARY")
    assert summary["outline"] == "solid"
    kb.press("Enter")
    page.locator("details.series-table table").wait_for()
    assert axe_violations(page) == [], "reports with the series table"
    link = tab_to(lambda f: f["tag"] == "A" and f["text"].startswith("Week from"))
    assert link["outline"] == "solid"
    # a top entry by keyboard
    tab_to(lambda f: f["tag"] == "A" and f["text"] == "Ada Lovelace")
    kb.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activity")
    assert query_of(page) == {"actor_id": ["ada"], "range": ["7d"]}


def test_screenshot_for_the_readme(console: Console, keys: Keys) -> None:
    """A month of a small team's activity (weekday office hours), for docs/images/console-reports.png."""
    api = keys.api(scopes=READER)
    rng = random.Random(17)  # the same picture every time
    people = [("ada", "Ada Lovelace"), ("bob", "Bob Builder"), ("cy", "Cy Young"), ("dee", "Dee Ramone")]
    actions = ["user.login", "asset.downloaded", "search", "asset.updated", "user.logout"]
    assets = [("7", "Q3 report.pdf"), ("8", "Budget 2027.xlsx"), ("9", "Roadmap"), ("12", "Team photo.png")]
    hours = [8, 9, 9, 10, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 20]
    now = datetime.now(ZoneInfo(ZONE))
    events: list[dict[str, Any]] = []
    for day in range(29):
        date = now - timedelta(days=day)
        busy = 0.25 if date.weekday() >= 5 else 1.0
        for n in range(rng.randint(4, 22)):
            if rng.random() > busy:
                continue
            when = date.replace(hour=rng.choice(hours), minute=rng.randrange(60))
            if when >= now:
                continue
            who, name = rng.choices(people, [8, 5, 3, 1])[0]
            action = rng.choices(actions, [6, 5, 3, 2, 2])[0]
            event: dict[str, Any] = {
                "action": action,
                "occurred_at": when.isoformat(),
                "actor": {"id": who, "name": name},
                "outcome": "failure" if action == "user.login" and n % 9 == 0 else "success",
            }
            if action.startswith("asset"):
                asset_id, asset_name = rng.choices(assets, [6, 4, 2, 1])[0]
                event["targets"] = [{"type": "asset", "id": asset_id, "name": asset_name}]
            events.append(event)
    for first in range(0, len(events), 100):
        post(api, events[first : first + 100])
    page = console.sign_in(api.key or "", "?page=reports&range=30d")
    reports_ready(page)
    expect_total(page, f"{len(events)} events")
    page.screenshot(path=str(IMAGES / "console-reports.png"), full_page=True)


# ---------------------------------------------------------------------------------------------------
# "Export this view" offers PDF


def test_export_this_view_offers_pdf_without_gzip(console: Console, keys: Keys) -> None:
    api = keys.api(scopes=[*READER, "exports:manage"])
    seed(api)
    page = console.sign_in(api.key or "", "?range=7d")
    expect_count(page, "7 events")
    page.get_by_role("button", name="Export this view").click()
    form = page.get_by_role("form", name="Export this view")
    gzip_box = form.get_by_label("Compress with gzip")
    gzip_box.check()
    assert form.get_by_label("Format").locator("option").all_inner_texts() == ["CSV", "JSON Lines", "PDF"]
    form.get_by_label("Format").select_option(label="PDF")
    # gzip does not apply to a PDF: the box is off and disabled, and says why
    expect(gzip_box).to_be_disabled()
    expect(gzip_box).not_to_be_checked()
    expect(form.get_by_text("gzip does not apply to it")).to_be_visible()
    assert axe_violations(page) == [], "export form with PDF"
    form.get_by_label("Export name").fill("Weekly report")
    with page.expect_response(
        lambda r: r.url.endswith("/v1/exports") and r.request.method == "POST"
    ) as caught:
        form.get_by_role("button", name="Create export").click()
    answer = caught.value
    body = json.loads(answer.request.post_data or "{}")
    assert body["format"] == "pdf" and body["compression"] == "none"
    assert body["name"] == "Weekly report" and body["filters"]["from"]
    assert answer.status == 202, answer.text()
    # the Exports page lists it as a PDF, and its run makes the file
    expect(page.get_by_role("heading", level=1)).to_have_text("Exports")
    export = page.get_by_role("region", name="Weekly report")
    expect(export).to_contain_text("PDF;")
    expect(export).not_to_contain_text("gzip")
    status = export.locator("table.runs tbody tr").first.locator(".status")
    expect(status).to_have_text("succeeded", timeout=60_000)
    # the file holds what GET /v1/events/count says for the same filters (the seven events, and
    # any event the service recorded about its own use since)
    count = api.request("GET", "/v1/events/count", params={"from": body["filters"]["from"]}).json()["count"]
    rows = export.locator("table.runs tbody tr").first.locator("td").nth(2).inner_text()
    assert int(rows) == count >= 7
