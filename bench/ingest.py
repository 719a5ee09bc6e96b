"""Ingest benchmark: CPU time per event of POST /v1/events against the floor of the same work by hand.

Three variants on the same request bodies, in this process, storage in memory (tests/fakes.py):

- handler: the real Lambda handler (`activitylog.handlers.ingest.handler`) with an API Gateway REST
  proxy event, its events store and control table replaced by the in-memory fakes;
- logic: `json.loads` of the body + `activitylog.logic.ingest.ingest` (what the handler adds is the
  Powertools resolver: routing, request validation, response serialisation);
- floor: `json.loads` + `EventIn.model_validate` + the item dict built by hand + boto3's
  `TypeSerializer`: the least any ingestion of this item layout has to do.

CPU time is `time.process_time`, best of a few repeats, per event.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from activitylog.dal.events import digest, target_value
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.models.events import EventIn
from activitylog.models.settings import TenantSettings
from activitylog.models.text import format_time
from boto3.dynamodb.types import TypeSerializer

from bench import report
from bench.workload import raw_events
from tests.fakes import FakeControl, FakeEventStore

TENANT = "acme-corp"
BATCHES = (1, 25, 100)
GOAL = 1.5
ENV = ("EVENTS_TABLE", "CONTROL_TABLE", "IDEMPOTENCY_TABLE")
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class Config:
    events_per_size: int = 1_000  # events per measurement (batch 1: this many requests)
    repeats: int = 5


def bodies(batch: int, total: int, tag: str) -> list[str]:
    events = raw_events(total, NOW - timedelta(days=1), timedelta(seconds=7), prefix=tag)
    return [json.dumps({"events": events[i : i + batch]}) for i in range(0, total, batch)]


# --- the three variants ----------------------------------------------------------------------------

_SERIALIZER = TypeSerializer()


def floor(body: str) -> int:
    """Parse, validate, build and serialise the item: no idempotency, quota, catalogue or results."""
    count = 0
    for raw in json.loads(body)["events"]:
        event = EventIn.model_validate(raw)
        occurred = event.occurred_at or NOW
        item: dict[str, Any] = {
            "pk": f"{TENANT}#{event.id}",
            "ts": f"{format_time(occurred)}#{event.id}",
            "exp": int(occurred.timestamp()) + 90 * 86400,
            "tpk": f"{TENANT}#0",
            "apk": f"{TENANT}#0#{digest(event.actor.id)}",
            "xpk": f"{TENANT}#0#{event.action}",
            "d": event.model_dump_json(exclude_none=True),
        }
        if event.targets:
            item["gpk"] = f"{TENANT}#0#{digest(target_value(event.targets[0].type, event.targets[0].id))}"
        serialised = {name: _SERIALIZER.serialize(value) for name, value in item.items()}
        count += len(serialised) > 0
    return count


class LogicRunner:
    def __init__(self) -> None:
        self.store, self.control = FakeEventStore(), FakeControl()
        self.ports = IngestPorts(
            events=self.store, catalogue=self.control, known_actions=set(), usage=self.control
        )

    def __call__(self, body: str) -> int:
        raw = json.loads(body)["events"]
        result = ingest(raw, tenant=TENANT, now=NOW, settings=TenantSettings(), ports=self.ports)
        return result.accepted


class _Context:
    function_name = "Ingest"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Ingest"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/Ingest"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def api_event(body: str) -> dict[str, Any]:
    return {
        "resource": "/v1/events",
        "path": "/v1/events",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/v1/events",
            "httpMethod": "POST",
            "path": "/v1/v1/events",
            "stage": "v1",
            "requestId": "bench",
            "authorizer": {"tenant": TENANT, "key_id": "k1", "scopes": "events:write", "actor_id": ""},
        },
        "body": body,
        "isBase64Encoded": False,
    }


class HandlerRunner:
    """The real handler; only its storage getters point at the fakes (restored by `close`)."""

    def __init__(self) -> None:
        from activitylog.handlers import ingest as module
        from activitylog.models.env import function_env

        self.environ = {name: os.environ.get(name) for name in ENV}
        for name in ENV:
            os.environ.setdefault(name, f"bench-{name.lower()}")
        function_env.cache_clear()
        self.module = module
        self.store, self.control = FakeEventStore(), FakeControl()
        self.saved = (module._events, module._control)
        module._events = lambda: self.store  # type: ignore[assignment]
        module._control = lambda: self.control  # type: ignore[assignment]
        module._known_actions.clear()
        module._settings.clear()

    def __call__(self, event: dict[str, Any]) -> int:
        answer = self.module.handler(event, _Context())  # type: ignore[arg-type]
        assert answer["statusCode"] == 200, answer
        return 1

    def close(self) -> None:
        from activitylog.models.env import function_env

        self.module._events, self.module._control = self.saved
        for name, value in self.environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        function_env.cache_clear()


# --- measurement -----------------------------------------------------------------------------------


def cpu_per_event(run: Callable[[Any], int], inputs: list[Any], events: int) -> float:
    started = time.process_time()
    for item in inputs:
        run(item)
    return (time.process_time() - started) / events


def measure(config: Config, batches: tuple[int, ...] = BATCHES) -> dict[int, dict[str, float]]:
    print(f"ingest: CPU per event, batches {batches} ...", flush=True)
    results: dict[int, dict[str, float]] = {}
    for batch in batches:
        total = max(batch, config.events_per_size - config.events_per_size % batch)
        best = {"handler": float("inf"), "logic": float("inf"), "floor": float("inf")}
        for repeat in range(config.repeats + 1):  # the first round warms caches and is not counted
            tag = f"b{batch}r{repeat}"
            plain = bodies(batch, total, tag)
            events = [api_event(b) for b in bodies(batch, total, tag + "h")]
            handler = HandlerRunner()
            try:
                samples = {
                    "floor": cpu_per_event(floor, plain, total),
                    "logic": cpu_per_event(LogicRunner(), bodies(batch, total, tag + "l"), total),
                    "handler": cpu_per_event(handler, events, total),
                }
            finally:
                handler.close()
            if repeat:
                best = {k: min(best[k], samples[k]) for k in best}
        results[batch] = best
    return results


def _profiled_stats(batch: int, total: int, tag: str) -> tuple[dict[Any, Any], float]:
    """cProfile's raw table of the real handler over `total` events in batches, and its total time."""
    events = [api_event(b) for b in bodies(batch, total, tag)]
    handler = HandlerRunner()
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        for event in events:
            handler(event)
        profiler.disable()
    finally:
        handler.close()
    raw: dict[Any, Any] = pstats.Stats(profiler, stream=io.StringIO()).stats  # type: ignore[attr-defined]
    return raw, sum(v[2] for v in raw.values()) or 1.0


def profile(batch: int = 100, total: int = 1_000, top: int = 14) -> list[tuple[str, float, float]]:
    """Where the handler's time goes: (function, own %, cumulative %) of the top functions by own time."""
    raw, whole = _profiled_stats(batch, total, "prof")
    rows = sorted(raw.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    return [(_name(func), 100 * v[2] / whole, 100 * v[3] / whole) for func, v in rows]


def cumulative(functions: list[str], batch: int = 100, total: int = 1_000) -> dict[str, float]:
    """Cumulative share of the handler's CPU for named functions (`module:function` suffixes)."""
    raw, whole = _profiled_stats(batch, total, "cum")
    shares: dict[str, float] = {}
    for wanted in functions:
        found = [v[3] for func, v in raw.items() if _name(func).endswith(wanted)]
        shares[wanted] = 100 * max(found, default=0.0) / whole
    return shares


def _name(func: tuple[str, int, str]) -> str:
    filename, _, name = func
    if filename == "~":
        return name
    parts = filename.replace(os.sep, "/").split("/")
    short = "/".join(parts[-2:]) if "site-packages" in filename or "functions" in filename else parts[-1]
    return f"{short}:{name}"


BREAKDOWN = [
    "logic/ingest.py:prepare",
    "logic/ingest.py:ingest",
    "event_handler/api_gateway.py:resolve",
    "models/events.py:_without_nulls",
    "dal/events.py:to_items",
    "ulid/__init__.py:from_datetime",
]


def run(config: Config | None = None) -> str:
    config = config or Config()
    return render(config, measure(config))


def render(config: Config, results: dict[int, dict[str, float]]) -> str:
    shares = cumulative(BREAKDOWN, total=min(config.events_per_size, 1_000))
    top = profile(total=min(config.events_per_size, 1_000))
    worst = max(r["handler"] / r["floor"] for r in results.values())
    lines = [
        "## Ingest: CPU per event",
        "",
        report.stamp(),
        "",
        f"`time.process_time` per event, best of {config.repeats} (after one warm-up round), "
        f"{config.events_per_size:,} events per measurement, same bodies shape for every variant. Storage is",
        "in memory (`tests/fakes.py`). *handler*: the real Lambda handler with an API Gateway REST event;",
        "*logic*: `json.loads` + `logic.ingest.ingest`; *floor*: `json.loads` + `EventIn.model_validate` +",
        "the item built by hand + boto3's `TypeSerializer` (see `bench/ingest.py`).",
        "",
        "| batch | handler µs/event | logic µs/event | floor µs/event | handler / floor | logic / floor |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for batch, r in results.items():
        lines.append(
            f"| {batch} | {r['handler'] * 1e6:,.0f} | {r['logic'] * 1e6:,.0f} | {r['floor'] * 1e6:,.0f} | "
            f"{r['handler'] / r['floor']:.2f}x | {r['logic'] / r['floor']:.2f}x |"
        )
    lines += [
        "",
        f"Goal handler ≤ {GOAL}x floor: {report.verdict(worst <= GOAL)} ("
        + ", ".join(f"batch {b}: {r['handler'] / r['floor']:.2f}x" for b, r in results.items())
        + ").",
        "",
        "Where the handler's CPU goes (cProfile, batches of 100, cumulative share of the whole run):",
        "",
        "| function | cumulative % |",
        "|---|---:|",
    ]
    lines += [f"| `{name}` | {share:.0f}% |" for name, share in shares.items()]
    lines += [
        "",
        "What was changed, and what would meet the goal:",
        "",
        "- Changed in this issue (`logic/ingest.py`): `prepare` no longer dumps the validated event and",
        "  validates it again as a `StoredEvent` (it copies the validated fields with `model_construct`)",
        "  and serialises it once (the null-including size check runs only near the 32 KiB limit).",
        "  Before: handler 390, logic 350, floor 161 µs/event at batches of 100 (2.42x / 2.17x).",
        "  `dal/events.py` builds each event's items once instead of twice (2-3 SHA-256 digests each).",
        "- Per request, the Powertools resolver costs about as much as 2-3 events: OpenAPI request",
        "  validation (`openapi_validation` middleware, recomputing field metadata per request) and the",
        "  body parsed twice (`_parse_json_data`, then `json_body` in the handler). This is why batches",
        "  of 1 are far off. Validating the body once with `IngestRequest` in the handler (no resolver",
        "  body model for this route, or reusing the resolver's parsed body) would bring batch 1 close",
        "  to the logic column.",
        "- Per event, `format_time` (a Python `PlainSerializer` on four timestamps, `strftime`) is",
        "  10-18% of the CPU; `isoformat(timespec='milliseconds')` with `+00:00` -> `Z` is several times",
        "  faster. Together with the per-request fix the handler would be within 1.5x of the floor at",
        "  batches of 25 and 100.",
    ]
    lines += ["", "Top functions by own time:", "", "| function | own % | cumulative % |", "|---|---:|---:|"]
    lines += [f"| `{name}` | {own:.1f}% | {cum:.1f}% |" for name, own, cum in top]
    return "\n".join(lines)
