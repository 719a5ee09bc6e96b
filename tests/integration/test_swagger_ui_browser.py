"""Swagger UI at /v1/docs in a real browser (Debian's chromium, driven by Playwright): it shows the
served document, Authorize takes an API key, and "Try it out" on GET /v1/events answers 200
(issue 13, item 1). Nothing is fetched from outside (the page carries Swagger UI's assets)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from activitylog_ops.local.service import LocalService

from tests.integration.conftest import Keys

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: `make install` installs Debian's package")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def test_swagger_ui_authorizes_and_tries_list_events(
    browser: Any, local_stack: LocalService, keys: Keys
) -> None:
    url = local_stack.env["ACTIVITYLOG_API_URL"]
    api = keys.api()
    assert (
        api.post_events([{"id": "ui-1", "action": "user.login", "actor": {"id": "ada"}}]).status_code == 200
    )
    page = browser.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(url) or r.url.startswith("data:") else outside.append(r.url),
    )

    page.goto(url + "/v1/docs")
    page.wait_for_selector(".swagger-ui .information-container .title", timeout=30_000)
    assert "Activity Log API" in page.inner_text(".information-container .title")
    # the one server, where the page came from
    assert page.locator(".servers select option").first.inner_text().strip() == url

    # Authorize with the key
    page.click("button.authorize")
    page.fill(".auth-container input", api.key or "")
    page.click(".auth-btn-wrapper button.authorize")
    page.click("button.btn-done")

    # Try it out: GET /v1/events
    operation = page.locator("#operations-default-listEvents")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: r.url.startswith(url + "/v1/events")) as caught:
        operation.locator("button.execute").click()
    response = caught.value
    assert response.status == 200
    assert response.request.headers.get("authorization") == f"Bearer {api.key}"
    assert response.json()["events"][0]["id"] == "ui-1"
    live = operation.locator(".live-responses-table tbody .response-col_status").first
    assert live.inner_text().strip() == "200"
    assert outside == []
    page.close()
