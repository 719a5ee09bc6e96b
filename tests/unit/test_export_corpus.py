"""The export's fast path against the model path, byte for byte, on what the hostile-input corpus
(tests/corpus/hostile_payloads.jsonl) gets past ingestion.

The export slice renders stored documents without building models (`iter_documents` ->
`render_parsed`); the API's events are models (`iter_events` -> `render`, which the slice ran
before). Every event of the corpus that `logic.ingest.prepare` accepts is stored exactly as ingestion
stores it, and so is a typical event carrying each string and number of the corpus in each of its
fields (those that ingestion accepts).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from activitylog.logic import export_format as fmt
from activitylog.logic.export_workflow import event_filters
from activitylog.logic.ingest import Rules, prepare
from activitylog.logic.query import QueryPorts, iter_events
from activitylog.models.events import StoredEvent
from activitylog.models.query import EventRecord, WriteOutcome
from activitylog.models.settings import TenantSettings

from tests.fakes import FakeEventStore
from tests.unit.test_export_slice import TENANT, an_export, sliced

CORPUS = Path(__file__).parents[1] / "corpus" / "hostile_payloads.jsonl"
NOW = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "action": "user.login",
    "actor": {"id": "u1", "name": "Ada", "email": "ada@example.com"},
    "targets": [{"type": "asset", "id": "7", "name": "Q3.pdf"}],
    "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "location": "Oslo", "session_id": "s1"},
    "description": "signed in",
    "changes": [{"field": "plan", "before": "free", "after": "pro"}],
    "metadata": {"plan": "pro"},
}
# The corpus holds no float that Python and pydantic spell differently (it holds 1.5); these do
# (1e-05, 1e16, ...) or sit at the edges of the float range.
FLOATS = [1e-05, 1e-07, 1e16, 1.5e300, 5e-324, -0.0, 0.1, 123456789012345.67, 2.5]


def bodies() -> Iterator[tuple[str, Any]]:
    """(path, parsed body) of every payload whose body is JSON in UTF-8."""
    for line in CORPUS.read_text().splitlines():
        payload = json.loads(line)
        if payload["body_b64"] is None:
            continue
        try:
            yield payload["path"], json.loads(base64.b64decode(payload["body_b64"]).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            continue


def sent_events() -> Iterator[Any]:
    """Each event of each POST /v1/events body (envelopes, and lists of envelopes)."""
    for path, body in bodies():
        if path != "/v1/events":
            continue
        for envelope in body if isinstance(body, list) else [body]:
            if isinstance(envelope, dict) and isinstance(envelope.get("events"), list):
                yield from envelope["events"]


def values(body: Any) -> Iterator[Any]:
    """Every string (keys too) and number in a JSON value."""
    if isinstance(body, dict):
        for key, value in body.items():
            yield key
            yield from values(value)
    elif isinstance(body, list):
        for value in body:
            yield from values(value)
    elif isinstance(body, str | int | float) and not isinstance(body, bool):
        yield body


PLACES: list[tuple[str | int, ...]] = [
    ("id",),
    ("action",),
    ("actor", "id"),
    ("actor", "type"),
    ("actor", "name"),
    ("actor", "email"),
    ("targets", 0, "type"),
    ("targets", 0, "id"),
    ("targets", 0, "name"),
    ("context", "ip"),
    ("context", "user_agent"),
    ("context", "location"),
    ("context", "session_id"),
    ("description",),
    ("changes", 0, "field"),
    ("changes", 0, "before"),
    ("metadata", "v"),
]


def planted(value: Any) -> Iterator[dict[str, Any]]:
    """GOOD with `value` in one place at a time (and nested in a change, and as a metadata key)."""
    for *path, last in PLACES:
        event = json.loads(json.dumps(GOOD))
        holder = event
        for step in path:
            holder = holder[step]
        holder[last] = value
        yield event
    yield {**GOOD, "changes": [{"field": "f", "after": {"nested": [value, [value]]}}]}
    if isinstance(value, str):
        yield {**GOOD, "metadata": {value: 1}}


def candidates() -> list[Any]:
    planted_values = sorted({json.dumps(v) for _, body in bodies() for v in values(body)}) + [
        json.dumps(f) for f in FLOATS
    ]
    return [*sent_events()] + [e for v in planted_values for e in planted(json.loads(v))]


@pytest.fixture(scope="module")
def records() -> list[EventRecord]:
    """What ingestion stores for every candidate it accepts (one request's worth of rules)."""
    settings = TenantSettings()
    rules = Rules.of(NOW, settings)
    seen: set[str] = set()
    accepted = []
    for index, raw in enumerate(candidates()):
        _rejection, record = prepare(
            index, raw, tenant=TENANT, now=NOW, settings=settings, seen=seen, rules=rules
        )
        if record is not None:
            accepted.append(record)
    return accepted


def test_the_accepted_part_of_the_corpus_is_large_and_hostile(records: list[EventRecord]) -> None:
    docs = "\n".join(r.document for r in records)
    assert len(records) > 1_000
    for hostile in ("=1+1", "\\r\\nBcc:", "../../etc/passwd", "%00", "0.00001", "1e+16"):
        assert hostile in docs, hostile


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_stored_documents_render_exactly_as_their_models(
    records: list[EventRecord], kind: fmt.Format
) -> None:
    docs = [r.document for r in records]
    from_models = list(fmt.render((StoredEvent.model_validate_json(d) for d in docs), kind))
    assert list(fmt.render_documents(docs, kind)) == from_models
    assert list(fmt.render_parsed(((d, json.loads(d)) for d in docs), kind)) == from_models


@pytest.mark.parametrize("filters", [{}, {"q": "=1", "actions": ["user.*"], "outcome": "success"}])
@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_the_slice_writes_what_the_model_path_wrote(
    records: list[EventRecord], kind: fmt.Format, filters: dict[str, Any]
) -> None:
    # Given the accepted corpus stored, and an export over it
    store = FakeEventStore()
    assert store.put_events(records) == WriteOutcome()
    ports = QueryPorts(events=store, known_actions=lambda: {r.action for r in records})
    export = an_export(filters, kind)
    start, end = NOW - timedelta(days=100), NOW + timedelta(hours=1)
    # When the slice is written
    later = NOW + timedelta(minutes=10)
    data, rows = sliced(export, ports, start=start, end=end, now=later)
    # Then its bytes are those the model path (iter_events -> render) wrote for the same slice
    models = list(iter_events(TENANT, event_filters(export, start, end), now=later, ports=ports))
    assert models and rows == len(models)
    assert data == b"".join(fmt.render(models, kind))
