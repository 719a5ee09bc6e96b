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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from activitylog.dal.events import digest
from activitylog.logic.ingest import IngestPorts, ingest
from activitylog.models.env import IngestEnv
from activitylog.models.events import EventIn
from activitylog.models.query import target_value
from activitylog.models.settings import TenantSettings
from activitylog.models.text import format_time
from boto3.dynamodb.types import TypeSerializer

from bench import report
from bench.workload import raw_events
from tests.fakes import FakeControl, FakeEventStore

TENANT = "acme-corp"
BATCHES = (1, 25, 100)
GOAL = 1.5
ENV = tuple(str(f.alias) for f in IngestEnv.model_fields.values() if f.is_required())  # validated at import
VARIANTS = ("handler", "logic", "floor", "resolver")
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


@dataclass
class Warm:
    """What a warm Lambda container keeps between requests: the control table's contents (fake) and
    the catalogue's memory of what it recorded. Shared by the rounds of one batch size, so the
    counted rounds see the steady state production runs in (the uncounted first round is the cold
    container that records every actor and target once)."""

    control: FakeControl = field(default_factory=FakeControl)
    memory: Any = field(default_factory=lambda: _catalogue_memory())


def _catalogue_memory() -> Any:
    from activitylog.logic.catalogue import CatalogueMemory

    return CatalogueMemory()


class HandlerRunner:
    """The real handler on a container of its own whose stores are the fakes (`close` puts the
    process's container and environment back)."""

    def __init__(self, warm: Warm | None = None) -> None:
        from activitylog.handlers import wiring

        self.environ = {name: os.environ.get(name) for name in ENV}
        for name in ENV:
            os.environ.setdefault(name, f"bench-{name.lower()}")
        from activitylog.handlers import ingest as module  # validates its environment when it loads

        self.module = module
        warm = warm or Warm()
        self.store, self.control = FakeEventStore(), warm.control
        container = wiring.Container(environ=dict(os.environ)).override(
            events=self.store, control=self.control, catalogue_memory=warm.memory
        )
        self.previous = wiring.use(container)

    def __call__(self, event: dict[str, Any]) -> int:
        answer = self.module.handler(event, _Context())
        assert answer["statusCode"] == 200, answer
        return 1

    def close(self) -> None:
        from activitylog.handlers import wiring

        wiring.use(self.previous)
        for name, value in self.environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class ResolverRunner(HandlerRunner):
    """The real handler with ingestion itself (`logic.ingest.ingest`, as the route calls it)
    answering a ready-made result: what is left is the Powertools resolver, validation, logging
    context and our glue, per request."""

    def __init__(self) -> None:
        super().__init__()
        from activitylog.handlers.routes import ingest as routes
        from activitylog.models.events import EventResult, IngestResponse

        answers: dict[int, IngestResponse] = {}

        def answer(raw_events: list[Any], **_: Any) -> IngestResponse:
            n = len(raw_events)
            if n not in answers:
                results = [EventResult(index=i, id=f"e{i}", status="accepted") for i in range(n)]
                answers[n] = IngestResponse(accepted=n, skipped=0, rejected=0, failed=0, results=results)
            return answers[n]

        self.patch = mock.patch.object(routes, "ingest", answer)
        self.patch.start()

    def close(self) -> None:
        self.patch.stop()
        super().close()


# --- measurement -----------------------------------------------------------------------------------


def cpu_per_event(run: Callable[[Any], int], inputs: list[Any], events: int) -> float:
    started = time.process_time()
    for item in inputs:
        run(item)
    return (time.process_time() - started) / events


def _through(runner: HandlerRunner, events: list[dict[str, Any]], total: int) -> float:
    try:
        return cpu_per_event(runner, events, total)
    finally:
        runner.close()


def measure(config: Config, batches: tuple[int, ...] = BATCHES) -> dict[int, dict[str, float]]:
    print(f"ingest: CPU per event, batches {batches} ...", flush=True)
    results: dict[int, dict[str, float]] = {}
    for batch in batches:
        total = max(batch, config.events_per_size - config.events_per_size % batch)
        best = dict.fromkeys(VARIANTS, float("inf"))
        warm = Warm()  # one warm container per batch size (the handler's steady state)
        for repeat in range(config.repeats + 1):  # the first round warms caches and is not counted
            tag = f"b{batch}r{repeat}"
            plain = bodies(batch, total, tag)
            events = [api_event(b) for b in bodies(batch, total, tag + "h")]
            samples = {
                "floor": cpu_per_event(floor, plain, total),
                "logic": cpu_per_event(LogicRunner(), bodies(batch, total, tag + "l"), total),
                "handler": _through(HandlerRunner(warm), events, total),
                "resolver": _through(ResolverRunner(), events, total),
            }
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
    "logic/ingest.py:stored_document",
    "dal/events.py:to_items",
    "ulid/__init__.py:from_datetime",
]


def run(config: Config | None = None) -> str:
    config = config or Config()
    return render(config, measure(config))


def render(config: Config, results: dict[int, dict[str, float]]) -> str:
    shares = cumulative(BREAKDOWN, total=min(config.events_per_size, 1_000))
    top = profile(total=min(config.events_per_size, 1_000))
    ratios = {b: r["handler"] / r["floor"] for b, r in results.items()}
    met = [b for b, ratio in ratios.items() if ratio <= GOAL]
    per_request = {b: r["resolver"] * b * 1e6 for b, r in results.items()}
    single = results.get(1)
    lines = [
        "## Ingest: CPU per event",
        "",
        report.stamp(),
        "",
        f"`time.process_time` per event, best of {config.repeats} (after one warm-up round), "
        f"{config.events_per_size:,} events per measurement, same bodies shape for every variant. Storage is",
        "in memory (`tests/fakes.py`). *handler*: the real Lambda handler with an API Gateway REST event,",
        "on a warm container (the catalogue's memory and the control table carry over between rounds,",
        "as in a container serving one tenant; the uncounted first round records every actor and target);",
        "*logic*: `json.loads` + `logic.ingest.ingest`; *floor*: `json.loads` + `EventIn.model_validate` +",
        "the item built by hand + boto3's `TypeSerializer` (see `bench/ingest.py`); *resolver*: the real",
        "handler with ingestion replaced by a ready answer (routing, Powertools request validation,",
        "logging context, body parse, response), per request.",
        "",
        "| batch | handler µs/event | logic µs/event | floor µs/event | handler / floor | logic / floor "
        "| resolver µs/request |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for batch, r in results.items():
        lines.append(
            f"| {batch} | {r['handler'] * 1e6:,.0f} | {r['logic'] * 1e6:,.0f} | {r['floor'] * 1e6:,.0f} | "
            f"{ratios[batch]:.2f}x | {r['logic'] / r['floor']:.2f}x | {per_request[batch]:,.0f} |"
        )
    verdict = report.verdict(len(met) == len(ratios))
    if met and len(met) < len(ratios):
        missed = ", ".join(str(b) for b in ratios if b not in met)
        verdict = f"**not met** at batch {missed}, met at batch " + ", ".join(str(b) for b in met)
    lines += [
        "",
        f"Goal handler ≤ {GOAL}x floor: {verdict} ("
        + ", ".join(f"batch {b}: {ratio:.2f}x" for b, ratio in ratios.items())
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
        "What was changed, and what is left:",
        "",
        "- Earlier in this issue: `prepare` stopped validating every event twice; `dal/events.py` builds",
        "  each event's items once (handler 390 -> 292 µs/event at batches of 100 on a slower run).",
        "- Then (`logic/ingest.py`, `handlers/ingest.py`, `models/`): the stored document is the",
        "  validated event's own JSON with the two service times appended (no `StoredEvent` built;",
        "  a unit test pins it to `StoredEvent`'s serialisation byte for byte); times are formatted",
        "  with `isoformat` (half of `strftime`); what every event of a request is checked against",
        "  (`Rules`: time bounds, retention, selections) is worked out once per request, and the default",
        "  selections skip the per-name checks; the answer is serialised once by the handler instead of",
        "  dumped, validated again and encoded by the resolver; and the request model's `repr` is short:",
        "  Powertools formats the route's arguments into a debug f-string on every request (even with",
        "  debug logging off), which for 100 events cost more than routing them. Before these, on the",
        "  machine of the 2026-12-01 run: handler 226 / 76 / 73 µs per event at batches of 1 / 25 / 100",
        "  (6.88x / 2.41x / 2.31x the floor).",
    ]
    if single is not None:
        floor_1 = single["floor"] * 1e6
        lines += [
            f"- Batches of 1 cannot meet the goal with a web framework in front: the resolver alone costs "
            f"{per_request[1]:,.0f} µs",
            f"  per request, {per_request[1] / floor_1:.1f}x the floor's whole event ({floor_1:,.0f} µs), "
            "and ingestion's own per-request work",
            "  (identity check, quota reservation, catalogue, answer) adds about "
            f"{max(0.0, single['logic'] * 1e6 - floor_1):,.0f} µs more. Meeting it would take",
            "  routing and validating `POST /v1/events` by hand instead of through Powertools' event handler",
            "  (and still not reach 1.5x); on AWS each request also waits for DynamoDB, so clients should",
            "  send events in batches (up to 100 per request).",
        ]
    for batch, r in results.items():
        if batch == 1 or ratios[batch] <= GOAL:
            continue
        excess = (r["handler"] - GOAL * r["floor"]) * 1e6
        lines += [
            f"- Batches of {batch}: {excess:,.1f} µs per event over the goal ({GOAL}x the floor is "
            f"{GOAL * r['floor'] * 1e6:,.1f} µs); the resolver's",
            f"  {per_request[batch]:,.0f} µs per request are {per_request[batch] / batch:,.1f} µs of each "
            "event here (less the body parse the floor does too).",
            "  Meeting it: fewer per-request costs (the same hand-routing as for batches of 1, or a leaner",
            "  Powertools request validation), or bigger batches; our per-event work is within the goal at",
            "  batches of 100.",
        ]
    lines += ["", "Top functions by own time:", "", "| function | own % | cumulative % |", "|---|---:|---:|"]
    lines += [f"| `{name}` | {own:.1f}% | {cum:.1f}% |" for name, own, cum in top]
    return "\n".join(lines)
