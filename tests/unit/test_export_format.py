"""Export file formats: CSV (RFC 4180, BOM, CRLF, formula neutralisation) and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activitylog.logic import export_format as fmt
from activitylog.models.events import StoredEvent

NOW = datetime(2026, 11, 23, 10, 0, 0, 123000, tzinfo=UTC)
API_COLUMNS = [
    "id",
    "occurred_at",
    "received_at",
    "action",
    "outcome",
    "actor_id",
    "actor_type",
    "actor_name",
    "actor_email",
    "target_type",
    "target_id",
    "target_name",
    "targets",
    "ip",
    "user_agent",
    "location",
    "session_id",
    "description",
    "changes",
    "metadata",
]


def make_event(**overrides: Any) -> StoredEvent:
    data: dict[str, Any] = {
        "id": "evt-1",
        "action": "asset.downloaded",
        "occurred_at": NOW,
        "received_at": NOW + timedelta(seconds=1),
        "expires_at": NOW + timedelta(days=90),
        "actor": {"id": "user-42", "name": "Ada Lovelace", "email": "ada@example.com"},
        "targets": [{"type": "asset", "id": "7", "name": "Q3 report.pdf"}, {"type": "folder", "id": "9"}],
        "context": {"ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "session_id": "s-1"},
        "metadata": {"plan": "enterprise", "size": 1234, "ratio": 0.5, "flag": True, "none": None},
    }
    data.update(overrides)
    return StoredEvent.model_validate(data)


TRICKY = [
    make_event(),
    make_event(id="evt-2", actor={"id": "u"}, targets=[], context={}, metadata={}),
    make_event(
        id="evt-3",
        description='He said "hi", then\r\nleft; tabs\tand commas, all',
        actor={"id": "user,1", "name": 'Zoë "Z" Ørsted 日本 😀', "email": "zoe@example.com"},
        changes=[
            {"field": "title", "before": "old", "after": {"nested": [1, 2.5, None, "x\ny"]}},
            {"field": "flag"},
        ],
        metadata={"small": 1e-05, "big": 1e16, "neg": -3, "text": "=1+1", "ctrl": "\x01\u2028\x7f"},
    ),
    make_event(id="evt-4", outcome="failure", context={"ip": "2001:db8::1", "location": "Zürich, CH"}),
]


def stored_document(event: StoredEvent) -> str:
    """What ingestion writes into the events table (logic/ingest.py)."""
    return event.model_dump_json(exclude_none=True)


def expected_cells(event: StoredEvent) -> list[str]:
    """The CSV cells, derived independently from the API's JSON of the event."""
    api = json.loads(event.model_dump_json())
    first = api["targets"][0] if api["targets"] else {}

    def text(value: Any) -> str:
        value = "" if value is None else value
        return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    row = {
        "id": text(api["id"]),
        "occurred_at": api["occurred_at"],
        "received_at": api["received_at"],
        "action": api["action"],
        "outcome": api["outcome"],
        "actor_id": text(api["actor"]["id"]),
        "actor_type": text(api["actor"]["type"]),
        "actor_name": text(api["actor"]["name"]),
        "actor_email": text(api["actor"]["email"]),
        "target_type": text(first.get("type")),
        "target_id": text(first.get("id")),
        "target_name": text(first.get("name")),
        "targets": compact(api["targets"]),
        "ip": text(api["context"]["ip"]),
        "user_agent": text(api["context"]["user_agent"]),
        "location": text(api["context"]["location"]),
        "session_id": text(api["context"]["session_id"]),
        "description": text(api["description"]),
        "changes": compact(api["changes"]),
        "metadata": compact(api["metadata"]),
    }
    return [row[c] for c in API_COLUMNS]


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True))


def csv_file(events: list[StoredEvent]) -> bytes:
    return fmt.header("csv") + b"".join(fmt.render(events, "csv"))


def test_header_has_bom_api_column_order_and_crlf() -> None:
    header = fmt.csv_header()
    assert list(fmt.CSV_COLUMNS) == API_COLUMNS
    assert header == b"\xef\xbb\xbf" + ",".join(API_COLUMNS).encode() + b"\r\n"
    assert fmt.header("jsonl") == b""


def test_csv_parses_back_cell_by_cell() -> None:
    rows = parse_csv(csv_file(TRICKY))
    assert rows[0] == API_COLUMNS
    assert len(rows) == len(TRICKY) + 1
    for event, row in zip(TRICKY, rows[1:], strict=True):
        assert row == expected_cells(event)


def test_every_row_is_one_chunk_ending_in_crlf_and_embedded_newlines_are_quoted() -> None:
    chunks = list(fmt.render(TRICKY, "csv"))
    assert len(chunks) == len(TRICKY)
    assert all(c.endswith(b"\r\n") for c in chunks)
    tricky = chunks[2].decode("utf-8")
    assert '"He said ""hi"", then\r\nleft; tabs\tand commas, all"' in tricky
    assert '"user,1"' in tricky
    assert '"Zoë ""Z"" Ørsted 日本 😀"' in tricky
    assert "Zoë".encode() in chunks[2]  # raw UTF-8, not escaped
    # A field without comma, quote, CR or LF is not quoted.
    assert ",evt-1," not in chunks[0].decode() and chunks[0].startswith(b"evt-1,2026-11-23T10:00:00.123Z,")


def test_times_use_the_api_format() -> None:
    row = parse_csv(csv_file([TRICKY[0]]))[1]
    assert row[1:3] == ["2026-11-23T10:00:00.123Z", "2026-11-23T10:00:01.123Z"]


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("column", ["actor_name", "description", "target_name", "user_agent", "actor_id"])
def test_formula_triggers_are_neutralised(trigger: str, column: str) -> None:
    value = f'{trigger}HYPERLINK("http://evil")'
    cases: dict[str, dict[str, Any]] = {
        "actor_name": {"actor": {"id": "u", "name": value}},
        "actor_id": {"actor": {"id": value}},
        "description": {"description": value},
        "target_name": {"targets": [{"type": "asset", "id": "1", "name": value}]},
        "user_agent": {"context": {"user_agent": value}},
    }
    overrides = cases[column]
    row = parse_csv(csv_file([make_event(**overrides)]))[1]
    assert row[API_COLUMNS.index(column)] == "'" + value


def test_id_starting_with_minus_is_neutralised_but_harmless_cells_are_not() -> None:
    event = make_event(id="-1", description="a=b, 1+1", metadata={"x": "=cmd", "n": -5})
    row = parse_csv(csv_file([event]))[1]
    assert row[0] == "'-1"
    assert row[API_COLUMNS.index("description")] == "a=b, 1+1"
    # JSON cells start with `{` or `[`: their contents never start a cell.
    assert row[API_COLUMNS.index("metadata")] == '{"x":"=cmd","n":-5}'


def test_jsonl_is_the_api_json_of_each_event() -> None:
    lines = list(fmt.render(TRICKY, "jsonl"))
    assert len(lines) == len(TRICKY)
    for event, line in zip(TRICKY, lines, strict=True):
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        # the API's JSON, with the line breaks other than \n escaped (one record, one line)
        api = event.model_dump_json()
        escaped = api.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\u0085", "\\u0085")
        assert line[:-1].decode("utf-8") == escaped
        assert StoredEvent.model_validate_json(line) == event


@pytest.mark.parametrize("kind", ["csv", "jsonl"])
def test_rendering_stored_documents_gives_identical_bytes(kind: fmt.Format) -> None:
    docs = [stored_document(e) for e in TRICKY]
    assert any("0.00001" in d for d in docs)  # the float Python spells differently is really there
    assert list(fmt.render_documents(docs, kind)) == list(fmt.render(TRICKY, kind))


def test_document_jsonl_keeps_pydantic_number_spelling() -> None:
    [line] = fmt.render_documents([stored_document(TRICKY[2])], "jsonl")
    assert b'"small":0.00001' in line and b'"big":1e+16' in line


def test_api_dict_matches_the_model_dump() -> None:
    for event in TRICKY:
        rebuilt = fmt.api_dict(json.loads(stored_document(event)))
        assert rebuilt == event.model_dump(mode="json")
        assert list(rebuilt) == list(event.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Downloads last week", "downloads-last-week"),
        ("Zoë's Ümlaut Report!", "zoe-s-umlaut-report"),
        ('a"b;c\r\nd/../e', "a-b-c-d-e"),
        ("日本語", "export"),
        ("---", "export"),
        ("x" * 500, "x" * fmt.MAX_SLUG),
    ],
)
def test_file_name_slug(name: str, expected: str) -> None:
    assert fmt.file_name(name, "01JD8X", "csv", "none") == f"{expected}-01JD8X.csv"


def test_file_name_extensions_and_content_types() -> None:
    assert fmt.file_name("A", "r1", "jsonl", "gzip") == "a-r1.jsonl.gz"
    assert fmt.file_name("A", "r1", "csv", "gzip") == "a-r1.csv.gz"
    assert fmt.file_name("A", "r/1:x", "jsonl", "none") == "a-r-1-x.jsonl"
    assert fmt.content_type("csv", "none") == "text/csv; charset=utf-8"
    assert fmt.content_type("jsonl", "none") == "application/x-ndjson"
    assert fmt.content_type("csv", "gzip") == "application/gzip"
    assert fmt.content_type("jsonl", "gzip") == "application/gzip"


def test_a_jsonl_record_is_one_line_for_every_line_splitter() -> None:
    # Given an event whose text holds every line break Python's splitlines() knows besides \n
    breaks = "\u2028\u2029\u0085\r\x0b\x0c\x1c\x1d\x1e"
    event = make_event(description=f"a{breaks}b", metadata={"k": breaks}, actor={"id": f"u{breaks}"})
    for lines in (
        list(fmt.jsonl_rows([event])),
        list(fmt.render_documents([event.model_dump_json()], "jsonl")),
    ):
        (line,) = lines
        text = line.decode("utf-8")
        # Then it is one line however it is split, and parses back to the same values
        assert text.splitlines() == [text.rstrip("\n")]
        assert json.loads(text)["description"] == f"a{breaks}b"
        assert "\\u2028" in text and "\u2028" not in text
