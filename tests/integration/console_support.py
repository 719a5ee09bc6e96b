"""What the console's browser tests share (test_console_browser.py, test_console_alerts_browser.py,
test_console_reports_browser.py): Debian's chromium driven by Playwright, the console's local URL,
the screenshots' folder. A test module imports the fixtures it uses by name."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from activitylog_ops.local.service import LocalService

ROOT = Path(__file__).parents[2]
AXE = ROOT / "console" / "node_modules" / "axe-core" / "axe.min.js"
# The README's screenshots are rewritten only when asked (UPDATE_SCREENSHOTS=1 .venv/bin/pytest ...):
# a normal run leaves the working tree as it found it and writes them to a temporary directory.
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.mkdtemp(prefix="console-screenshots-"))
)
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
ZONE = "Europe/Oslo"  # the browsers' zone, not the machine's: "in the browser's time zone" shows
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium"):
        pytest.fail("chromium is missing: `make browser` installs Debian's package")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def console_url(local_stack: LocalService) -> str:
    url = local_stack.env["ACTIVITYLOG_API_URL"] + "/console/"
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, f"the local gateway does not serve the console at {url}"
    return url
