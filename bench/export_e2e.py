"""Export end to end, locally: N events stored, one export run over HTTP, timed to `succeeded`.

The local stack (`LocalService`: moto's server, the CDK-synthesized state machine on moto's Step
Functions engine, our handlers in process) runs the real workflow: plan, Map over time slices,
assemble, notify. Events are written straight through `logic.ingest.ingest` into the events table
(not over HTTP), then `POST /v1/exports` starts a CSV run of the whole tenant and the run is polled
until it is terminal. Sizes up to 100,000 events are run for real: local mode answers index Queries
in time proportional to the page (`activitylog_ops.local.moto_index`; moto's own `Query` reads the
whole table on every page, which made large runs quadratic).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.logic.export_workflow import split

from bench import report
from bench.workload import raw_events

TARGET = 100_000
SUMMARY = "Largest run:"  # the line `python -m bench` quotes in the goals table


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...] = (1_000, 10_000, TARGET)
    timeout: float = 300.0


def _client(stack: Any, service: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        service,
        endpoint_url=stack.env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
    )


def seeding_store(table: str, dynamodb: Any) -> Any:
    """The events table written the quick way, for seeding only (not what is measured here).

    Ingestion's store writes one conditional request per event (first write wins); moto's server
    takes those one at a time, so seeding 100,000 events that way measures moto. The items are the
    same (`to_items`), written with BatchWriteItem (25 a call), which is what the export reads.
    """
    from activitylog.dal.events import DynamoEventStore, to_items
    from activitylog.models.query import WriteOutcome

    class SeedingStore(DynamoEventStore):
        def put_events(self, records: Any) -> WriteOutcome:
            items = [item for record in records for item in to_items(record)]
            for first in range(0, len(items), 25):
                left = [{"PutRequest": {"Item": i}} for i in items[first : first + 25]]
                while left:
                    answer = dynamodb.batch_write_item(RequestItems={table: left})
                    left = answer.get("UnprocessedItems", {}).get(table, [])
            return WriteOutcome()

    return SeedingStore(table, dynamodb)


def seed(stack: Any, tenant: str, count: int, now: datetime) -> float:
    from activitylog.dal.control import ControlTable
    from activitylog.logic.ingest import IngestPorts, ingest
    from activitylog.models.settings import TenantSettings

    dynamodb = _client(stack, "dynamodb")
    control = ControlTable(stack.env["ACTIVITYLOG_CONTROL_TABLE"], dynamodb)
    store = seeding_store(stack.env["ACTIVITYLOG_EVENTS_TABLE"], dynamodb)
    ports = IngestPorts(events=store, catalogue=control, known_actions=set(), usage=control)
    start = now - timedelta(days=20)
    events = raw_events(count, start, (now - timedelta(hours=1) - start) / count, prefix=tenant)
    started = time.perf_counter()
    for first in range(0, count, 100):
        batch = events[first : first + 100]
        result = ingest(batch, tenant=tenant, now=now, settings=TenantSettings(), ports=ports)
        assert result.accepted == len(batch), result.results[:3]
    return time.perf_counter() - started


def export_once(stack: Any, tenant: str, timeout: float) -> tuple[float, dict[str, Any]]:
    import requests
    from activitylog_ops.local.service import create_key
    from activitylog_ops.throttle import local_throttles

    key = create_key(
        stack.env["ACTIVITYLOG_CONTROL_TABLE"],
        _client(stack, "dynamodb"),
        throttles=local_throttles(stack.env),
        tenant=tenant,
        scopes=["exports:manage", "events:read"],
        name="bench",
    ).key
    url, headers = stack.env["ACTIVITYLOG_API_URL"], {"Authorization": f"Bearer {key}"}
    started = time.perf_counter()
    answer = requests.post(
        f"{url}/v1/exports", json={"name": "bench", "format": "csv"}, headers=headers, timeout=60
    )
    assert answer.status_code == 202, answer.text
    created = answer.json()
    path = f"{url}/v1/exports/{created['export']['id']}/runs/{created['run']['id']}"
    while True:
        run: dict[str, Any] = requests.get(path, headers=headers, timeout=60).json()
        if run["status"] in ("succeeded", "failed", "expired"):
            return time.perf_counter() - started, run
        if time.perf_counter() - started > timeout:
            return time.perf_counter() - started, {**run, "status": f"still {run['status']} (timed out)"}
        time.sleep(0.2)


def measure(config: Config) -> list[dict[str, Any]]:
    from activitylog_ops.local import moto_index
    from activitylog_ops.local.service import LocalService

    rows = []
    stack = LocalService(port=0, env_file=None, auto_fire=False)
    started = time.perf_counter()
    stack.start()
    startup = time.perf_counter() - started
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        table_items = 0
        for n, size in enumerate(config.sizes):
            tenant = f"bench-{n}"
            seconds_seed = seed(stack, tenant, size, now)
            table_items += size
            before = dict(moto_index.stats)
            seconds, run = export_once(stack, tenant, config.timeout)
            queries = {key: moto_index.stats[key] - before.get(key, 0) for key in ("fast", "fallback")}
            rows.append(
                {
                    "events": size,
                    "table_events": table_items,
                    "seed_s": seconds_seed,
                    "export_s": seconds,
                    "status": run["status"],
                    "rows": run.get("row_count"),
                    "bytes": run.get("bytes"),
                    "slices": len(split(now - timedelta(days=20), now)),
                    "startup_s": startup,
                    "fast_queries": queries["fast"],
                    "moto_queries": queries["fallback"],
                }
            )
    finally:
        stack.stop()
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    """One line on the largest size run: its export wall time and store time, or how it ended."""
    if not rows:
        return f"{SUMMARY} none."
    r = max(rows, key=lambda row: row["events"])
    if r["status"] != "succeeded":
        return f"{SUMMARY} {r['events']:,} events, export {r['status']} after {r['export_s']:.0f} s."
    return (
        f"{SUMMARY} {r['events']:,} events exported locally in {r['export_s']:.0f} s wall "
        f"({r['events'] / r['export_s']:,.0f} rows/s; stored in {r['seed_s']:.0f} s)."
    )


def summary_line(text: str) -> str:
    """The summary line of a rendered section ("" when it has none)."""
    return next((line for line in text.splitlines() if line.startswith(SUMMARY)), "")


def run(config: Config | None = None) -> str:
    config = config or Config()
    print(
        f"export end to end: local stack, {', '.join(f'{s:,}' for s in config.sizes)} events ...", flush=True
    )
    return render(measure(config))


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "## Export end to end (local stack)",
        "",
        report.stamp(),
        "",
        f"`LocalService` (start-up with CDK synthesis: {rows[0]['startup_s']:.0f} s). For each size, a new",
        "tenant's events are stored through `logic.ingest.ingest` straight into moto's events table (seeding",
        "writes the same items with BatchWriteItem, not ingestion's one conditional write per event: that",
        "would measure moto's one-request-at-a-time server), then",
        "`POST /v1/exports` (CSV, whole tenant) and the run is polled until terminal. The tenants share",
        "the table, so *table* counts every event stored so far. *rows* includes the service's own",
        "`activitylog.export.created` event; *slices* is what the plan step cuts 20 days into.",
        "",
        "*queries*: DynamoDB Queries during the run answered from a window (`moto_index`) / by moto's code.",
        "",
        "| events | table | store s | export wall s | status | rows | file | slices | rows/s | queries |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        size = f"{(r['bytes'] or 0) / 2**20:.1f} MiB" if r["bytes"] else "-"
        lines.append(
            f"| {r['events']:,} | {r['table_events']:,} | {r['seed_s']:.1f} | {r['export_s']:.1f} | "
            f"{r['status']} | "
            f"{r['rows'] if r['rows'] is not None else '-'} | {size} | {r['slices']} | "
            f"{r['events'] / r['export_s']:,.0f} | {r['fast_queries']:,} / {r['moto_queries']:,} |"
        )
    lines += [
        "",
        summary(rows),
        "",
        "Every size is run, none extrapolated. moto 5.2.5's own `Query` on an index reads, sorts and walks",
        "every item of the table on each page; local mode answers index Queries from a window of moto's",
        "own sorted candidates instead (`ops/activitylog_ops/local/moto_index.py`, docs/local-mode.md),",
        "with moto's answers, so a page costs time proportional to the page and the local run grows with",
        "the export, not with the table times the pages. On AWS each slice reads its range in Query pages",
        "of 100 entries and BatchGetItems of 100, 8 slices in parallel (the Map's `MaxConcurrency`); here",
        "moto's Step Functions engine, the in-process invoker and the one-at-a-time DynamoDB of the",
        "embedded server run it on one machine. The slice step is `write_slice`, which since 2026-12-02",
        "renders the stored documents it filtered instead of a pydantic model per row (Export writer).",
    ]
    return "\n".join(lines)
