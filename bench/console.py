"""Console benchmark (issue 14, Numbers): the bytes the activity page transfers, and how fast it
shows 200 events and an event's detail in headless Chromium against local mode.

- Bytes: console/dist/app.js + app.css (what the activity page loads; index.html aside), gzip at
  levels 6 (a web server's or CloudFront's usual) and 9. Goal: at most 150 KB in total.
- Activity page: a fresh browser context per run (nothing cached), the key already in the tab's
  sessionStorage; from navigation start to the feed's table rendered with its 200 rows (the
  console's `feed-rendered` performance mark), median of 5. Aim: under 1 s.
- Detail panel: from the click on an event of that table to the detail rendered (the
  `detail-rendered` mark), median of 5. Aim: under 100 ms.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench import report

DIST = report.ROOT / "console" / "dist"
ASSETS = ["app.js", "app.css"]
EVENTS = 200
RUNS = 5
BYTES_GOAL = 150 * 1024
PAGE_GOAL_MS = 1000
DETAIL_GOAL_MS = 100
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def built() -> None:
    """console/dist as `make console` builds it (`make bench` does first)."""
    if not (DIST / "app.js").exists():
        raise SystemExit("console/dist is missing: run `make console` (or `make bench`)")


def sizes() -> dict[str, dict[str, int]]:
    out = {}
    for name in ASSETS:
        raw = (DIST / name).read_bytes()
        out[name] = {
            "raw": len(raw),
            "gzip6": len(gzip.compress(raw, 6)),
            "gzip9": len(gzip.compress(raw, 9)),
        }
    return out


def seed(url: str, key: str) -> None:
    now = datetime.now(UTC)
    events: list[dict[str, Any]] = [
        {
            "id": f"bench-{n:03d}",
            "action": ["user.login", "asset.downloaded", "asset.updated", "search"][n % 4],
            "occurred_at": (now - timedelta(minutes=7 * n + 1)).isoformat(),
            "actor": {"id": f"user-{n % 17}", "name": f"User {n % 17}", "email": f"user{n % 17}@example.com"},
            "targets": [{"type": "asset", "id": str(n % 31), "name": f"Report {n % 31}.pdf"}],
            "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0"},
            "changes": [{"field": "title", "before": f"Draft {n}", "after": f"Final {n}"}],
            "metadata": {"plan": "pro", "seats": n},
            "description": f"benchmark event {n}",
        }
        for n in range(EVENTS)
    ]
    for first in range(0, EVENTS, 100):
        answer = requests.post(
            url + "/v1/events",
            json={"events": events[first : first + 100]},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200 and answer.json()["accepted"] == 100, answer.text


WAIT_MARK = """async (name) => {
  for (let i = 0; i < 2000; i++) {
    const marks = performance.getEntriesByName(name);
    if (marks.length) return marks[marks.length - 1].startTime;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no ${name} mark`);
}"""
CLICK_DETAIL = """async (index) => {
  const link = document.querySelectorAll("al-feed a.event-link")[index];
  performance.clearMarks("detail-rendered");
  const started = performance.now();
  link.click();
  for (let i = 0; i < 2000; i++) {
    const marks = performance.getEntriesByName("detail-rendered");
    const shown = document.querySelector("al-event-detail table.changes");
    if (marks.length && shown) return marks[0].startTime - started;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error("no detail");
}"""


def measure_browser(console_url: str, key: str) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    page_ms: list[float] = []
    detail_ms: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
        )
        try:
            for run in range(RUNS + 1):  # the first run warms local mode's functions up; not counted
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(
                    f"sessionStorage.setItem('activitylog.credential', {json.dumps(key)})"
                )
                page = context.new_page()
                page.goto(console_url)
                rendered = float(page.evaluate(WAIT_MARK, "feed-rendered"))
                rows = page.locator("al-feed tbody tr").count()
                assert rows == EVENTS, f"{rows} rows shown"
                detail = float(page.evaluate(CLICK_DETAIL, 100))
                context.close()
                if run:
                    page_ms.append(rendered)
                    detail_ms.append(detail)
        finally:
            browser.close()
    return {"page": page_ms, "detail": detail_ms}


def measure() -> dict[str, Any]:
    from activitylog_ops.local.service import LocalService

    from tests.integration.conftest import Keys

    built()
    stack = LocalService(port=0, env_file=None, auto_fire=False)
    stack.start()
    try:
        url = stack.env["ACTIVITYLOG_API_URL"]
        console_url = url + "/console/"
        served = requests.get(console_url, timeout=10)
        assert served.status_code == 200, f"local mode does not serve the console at {console_url}"
        key = Keys(stack).api(tenant=f"bench-console-{int(time.time())}").key or ""
        seed(url, key)
        return {"sizes": sizes(), **measure_browser(console_url, key)}
    finally:
        stack.stop()


def render(result: dict[str, Any]) -> str:
    s = result["sizes"]
    total6 = sum(v["gzip6"] for v in s.values())
    total9 = sum(v["gzip9"] for v in s.values())
    page, detail = report.median(result["page"]), report.median(result["detail"])
    met = total6 <= BYTES_GOAL
    lines = [
        "## Console (activity page: bytes, table, detail)",
        "",
        report.stamp(),
        "",
        f"Goal (JS + CSS of the activity page ≤ 150 KB gzip): {report.verdict(met)} ({total6 / 1024:.1f} KB"
        f" at gzip level 6, {total9 / 1024:.1f} KB at level 9).",
        "",
        "| file | bytes | gzip -6 | gzip -9 |",
        "|---|---:|---:|---:|",
        *[f"| `{name}` | {v['raw']:,} | {v['gzip6']:,} | {v['gzip9']:,} |" for name, v in s.items()],
        f"| **total** | {sum(v['raw'] for v in s.values()):,} | {total6:,} | {total9:,} |",
        "",
        "Headless Chromium (Debian's) against local mode (`LocalService`, the gateway's `/console/`),"
        f" a tenant with {EVENTS} events, a fresh browser context per run (nothing cached), the key"
        f" already in the tab's sessionStorage; median of {RUNS} runs after one warm-up run:",
        "",
        "| measure | median | runs (ms) | aim |",
        "|---|---:|---|---|",
        f"| navigation → table with {EVENTS} rows rendered | {page:.0f} ms |"
        f" {', '.join(f'{v:.0f}' for v in result['page'])} | < {PAGE_GOAL_MS} ms: "
        f"{'met' if page < PAGE_GOAL_MS else 'not met'} |",
        f"| click on an event → detail panel rendered | {detail:.1f} ms |"
        f" {', '.join(f'{v:.1f}' for v in result['detail'])} | < {DETAIL_GOAL_MS} ms: "
        f"{'met' if detail < DETAIL_GOAL_MS else 'not met'} |",
        "",
        "The page time includes the scope probes, asked in parallel with the first page of"
        " `GET /v1/events` (limit 200), through the local gateway's functions; the count and the"
        " pickers' lists are asked after the table. The detail is rendered from the event already"
        " loaded (no request). Times are to the DOM committed (the console's `performance.mark`),"
        " before the browser paints.",
    ]
    return "\n".join(lines)


def run() -> str:
    print(f"console: bytes, then {RUNS} page and detail runs in headless Chromium ...", flush=True)
    return render(measure())
