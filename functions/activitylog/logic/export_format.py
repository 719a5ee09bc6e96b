"""Export file formats: CSV and JSON Lines rows, file names and content types (docs/exports.md).

Pure functions, no I/O. Three entry points produce identical bytes:

- `render_parsed(documents, fmt)` takes stored documents with their `json.loads` parse, as
  `logic.query.iter_documents` yields them, and never builds a model: the export slice renders
  through this (the hot loop of a 3,000,000-row export);
- `render_documents(documents, fmt)` takes the stored JSON documents as the events table holds them
  (`StoredEvent.model_dump_json(exclude_none=True)`) and parses them for `render_parsed`;
- `render(events, fmt)` takes StoredEvent models (what GET /v1/events returns).

Tests prove all give the API's bytes for the same event.

Every chunk yielded holds exactly one row (CSV ends with CRLF, JSONL with LF).
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

from activitylog.models.events import StoredEvent

Format = Literal["csv", "jsonl", "pdf"]
# The formats written row by row (and concatenated by the assembly); a PDF is drawn from JSON Lines
# parts by logic/export_pdf.py.
RowFormat = Literal["csv", "jsonl"]
Compression = Literal["none", "gzip"]

CSV_COLUMNS: tuple[str, ...] = (
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
)
BOM = "\ufeff".encode()
# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR, strips
# them and reads what follows). A leading apostrophe makes it text (OWASP "CSV injection").
FORMULA_TRIGGERS = frozenset("=+-@\t\r")
# Only these cells hold free text. Times, action, outcome and ip cannot start with a trigger, and the
# JSON cells (targets, changes, metadata) always start with `[` or `{`.
_FREE_TEXT = (0, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17)
MAX_SLUG = 60
CONTENT_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "pdf": "application/pdf",
}
EXTENSIONS: dict[Format, str] = {"csv": ".csv", "jsonl": ".jsonl", "pdf": ".pdf"}

_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _not_serialisable(value: object) -> object:
    raise TypeError(f"not JSON: {type(value).__name__}")


def _json_encoder() -> Callable[[Any], str]:
    """Compact JSON, raw UTF-8: `json.dumps(separators=(",", ":"), ensure_ascii=False)`.

    json.dumps builds a new C encoder on every call, which costs more than encoding a small
    metadata object; values parsed from JSON cannot be circular, so one encoder without the
    circularity check is reused.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return _ENCODER.encode
    encode = make(
        None, _not_serialisable, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


_dumps = _json_encoder()


class _NotCanonical(Exception):
    """A stored number whose Python spelling differs from pydantic's (`1e-05` vs `0.00001`)."""


def _canonical_float(text: str) -> float:
    value = float(text)
    if repr(value) != text:
        raise _NotCanonical(text)
    return value


_loads = json.JSONDecoder(parse_float=_canonical_float).decode


class _Lines:
    """csv.writer's file: keeps the last line it wrote."""

    __slots__ = ("line",)

    def __init__(self) -> None:
        self.line = ""

    def write(self, line: str) -> None:
        self.line = line


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would read as a formula becomes text: `'` in front of it."""
    return "'" + cell if cell[:1] in FORMULA_TRIGGERS else cell


# --- the API shape of a stored document, without pydantic ---------------------------------------


def api_dict(doc: dict[str, Any]) -> dict[str, Any]:
    """The StoredEvent JSON object the API returns, rebuilt from a stored document (nulls dropped).

    Same keys in the same order as `StoredEvent.model_dump(mode="json")`.
    """
    actor = doc["actor"]
    context = doc.get("context") or {}
    return {
        "id": doc["id"],
        "action": doc["action"],
        "occurred_at": doc["occurred_at"],
        "actor": {
            "id": actor["id"],
            "type": actor.get("type", "user"),
            "name": actor.get("name"),
            "email": actor.get("email"),
        },
        "targets": [
            {"type": t["type"], "id": t["id"], "name": t.get("name")} for t in doc.get("targets", ())
        ],
        "context": {
            "ip": context.get("ip"),
            "user_agent": context.get("user_agent"),
            "location": context.get("location"),
            "session_id": context.get("session_id"),
        },
        "changes": [
            {"field": c["field"], "before": c.get("before"), "after": c.get("after")}
            for c in doc.get("changes", ())
        ],
        "description": doc.get("description"),
        "outcome": doc.get("outcome", "success"),
        "metadata": doc.get("metadata", {}),
        "received_at": doc["received_at"],
        "expires_at": doc["expires_at"],
    }


def _cells(event: dict[str, Any]) -> list[str]:
    actor = event["actor"]
    context = event["context"]
    targets = event["targets"]
    first = targets[0] if targets else {}
    cells = [
        event["id"],
        event["occurred_at"],
        event["received_at"],
        event["action"],
        event["outcome"],
        actor["id"],
        actor["type"],
        actor["name"] or "",
        actor["email"] or "",
        first.get("type") or "",
        first.get("id") or "",
        first.get("name") or "",
        _dumps(targets),
        context["ip"] or "",
        context["user_agent"] or "",
        context["location"] or "",
        context["session_id"] or "",
        event["description"] or "",
        _dumps(event["changes"]),
        _dumps(event["metadata"]),
    ]
    for i in _FREE_TEXT:
        if cells[i][:1] in FORMULA_TRIGGERS:
            cells[i] = "'" + cells[i]
    return cells


def _csv_lines(events: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    # csv.writer (C) quotes exactly the RFC 4180 cases here: a field holding a comma, a quote, CR or
    # LF is quoted and its quotes doubled. It is several times faster than escaping in Python.
    out = _Lines()
    writerow = csv.writer(out, lineterminator="\r\n").writerow
    for event in events:
        writerow(_cells(event))
        yield out.line.encode("utf-8")


def _model_dict(event: StoredEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")


# --- public interface ----------------------------------------------------------------------------


def csv_header() -> bytes:
    """UTF-8 byte-order mark (Excel then reads the file as UTF-8), the header row, CRLF."""
    return BOM + (",".join(CSV_COLUMNS) + "\r\n").encode("ascii")


def header(fmt: Format) -> bytes:
    return csv_header() if fmt == "csv" else b""


def csv_rows(events: Iterable[StoredEvent]) -> Iterator[bytes]:
    return _csv_lines(map(_model_dict, events))


# Line separators other than \n that `str.splitlines()` (and many line readers) split on: inside a
# JSON string they may stand raw, so one record would read as several lines. Written as \u escapes
# (API.md, JSONL): the same JSON value, one line per event for every line splitter. They only ever
# occur inside strings (JSON's own syntax is ASCII), so the replacement keeps the JSON valid.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"})


def _one_line(line: str) -> bytes:
    return line.translate(_LINE_BREAKS).encode("utf-8") + b"\n"


def jsonl_rows(events: Iterable[StoredEvent]) -> Iterator[bytes]:
    for event in events:
        yield _one_line(event.model_dump_json())


def render(events: Iterable[StoredEvent], fmt: RowFormat) -> Iterator[bytes]:
    """The rows of a file (no header), one chunk per event, in the order given."""
    return csv_rows(events) if fmt == "csv" else jsonl_rows(events)


def _has_float(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(map(_has_float, value.values()))
    return kind is list and any(map(_has_float, value))


def _jsonl_line(document: str, parsed: dict[str, Any]) -> str:
    # Floats (only metadata and changes hold them) are spelled as the API spells them, pydantic's way,
    # which the stored text has; Python's differs for some (`1e-05`). Only then does pydantic spell it.
    if _has_float(parsed.get("metadata")) or _has_float(parsed.get("changes")):
        try:
            parsed = _loads(document)
        except _NotCanonical:
            return StoredEvent.model_validate_json(document).model_dump_json()
    return _dumps(api_dict(parsed))


def _csv_rows_parsed(documents: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    # The CSV's JSON cells spell numbers the Python way on every path (`_model_dict` too).
    return _csv_lines(api_dict(parsed) for _document, parsed in documents)


def _jsonl_rows_parsed(documents: Iterable[tuple[str, dict[str, Any]]]) -> Iterator[bytes]:
    for document, parsed in documents:
        yield _one_line(_jsonl_line(document, parsed))


def render_parsed(documents: Iterable[tuple[str, dict[str, Any]]], fmt: RowFormat) -> Iterator[bytes]:
    """Like `render`, from (stored JSON document, its `json.loads`) pairs: `query.Document`s."""
    return _csv_rows_parsed(documents) if fmt == "csv" else _jsonl_rows_parsed(documents)


def _parsed(documents: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    for document in documents:
        yield document, json.loads(document)


def csv_rows_from_documents(documents: Iterable[str]) -> Iterator[bytes]:
    return _csv_rows_parsed(_parsed(documents))


def jsonl_rows_from_documents(documents: Iterable[str]) -> Iterator[bytes]:
    return _jsonl_rows_parsed(_parsed(documents))


def render_documents(documents: Iterable[str], fmt: RowFormat) -> Iterator[bytes]:
    """Like `render`, from the stored JSON documents (the `d` attribute of event items)."""
    return render_parsed(_parsed(documents), fmt)


_NON_SLUG = re.compile(r"[^a-z0-9]+")
_NON_RUN_ID = re.compile(r"[^A-Za-z0-9_-]+")


def slug(name: str) -> str:
    """Lowercase ASCII words joined by `-`: safe in a URL, a file system and Content-Disposition."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = _NON_SLUG.sub("-", ascii_name.lower()).strip("-")
    return words[:MAX_SLUG].rstrip("-") or "export"


def file_name(export_name: str, run_id: str, fmt: Format, compression: Compression) -> str:
    """`<slug>-<run id>.csv|.jsonl|.pdf`, plus `.gz` with gzip."""
    run = _NON_RUN_ID.sub("-", run_id).strip("-")[:128] or "run"
    suffix = EXTENSIONS[fmt] + (".gz" if compression == "gzip" else "")
    return f"{slug(export_name)}-{run}{suffix}"


def content_type(fmt: Format, compression: Compression) -> str:
    """Stored without Content-Encoding: a gzip download is the .gz file itself."""
    return "application/gzip" if compression == "gzip" else CONTENT_TYPES[fmt]


__all__ = [
    "CSV_COLUMNS",
    "RowFormat",
    "content_type",
    "csv_header",
    "csv_rows",
    "csv_rows_from_documents",
    "file_name",
    "header",
    "jsonl_rows",
    "jsonl_rows_from_documents",
    "neutralise",
    "render",
    "render_documents",
    "render_parsed",
]
