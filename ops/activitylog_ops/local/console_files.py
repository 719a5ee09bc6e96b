"""The built web console (`console/dist/`) at `/console/` of the local gateway, as CloudFront serves it.

In AWS the console is a private S3 bucket behind CloudFront (infra/constructs/console_site.py): a
viewer-request function maps `/console` to a redirect and `/console/` to `index.html`, and
response-headers policies add the security headers. This module answers the same way, with the
same headers (tests/infrastructure/test_console_site.py pins them against the synthesized
policies): every page refuses to be framed (`frame-ancestors 'none'`) except `embed.html`, which any
site may frame. One difference: local mode speaks plain HTTP, and browsers ignore
`Strict-Transport-Security` on a response that did not come over HTTPS (RFC 6797 §8.1), so the
header is sent as CloudFront sends it but has no effect here.

A request path is resolved against the directory's real path, after percent-decoding, and anything
that is not a plain file inside it (`..`, an encoded `%2e%2e` or `%2f`, a backslash, a NUL, a
symbolic link out of the directory, a dot file) is a 404 in the API's error envelope, like a
missing file: S3 has no such key either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

# `make console` builds it (before `make local`); the gateway serves whatever is there when asked.
DIST = Path(__file__).resolve().parents[3] / "console" / "dist"
PREFIX = "/console"
INDEX = "index.html"
EMBED = "embed.html"  # the one page any site may frame (API.md "Console", Embedding)

# The response-headers policies of infra/constructs/console_site.py, header by header.
CSP = "default-src 'self'; frame-ancestors 'none'"
EMBED_CSP = "default-src 'self'"
HSTS = "max-age=63072000; includeSubDomains"
REFERRER_POLICY = "no-referrer"
_COMMON = (
    ("Strict-Transport-Security", HSTS),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", REFERRER_POLICY),
)
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Frame-Options", "DENY"),
    *_COMMON,
)
EMBED_HEADERS: tuple[tuple[str, str], ...] = (("Content-Security-Policy", EMBED_CSP), *_COMMON)

# What S3 stores for each file of the build (BucketDeployment sets Content-Type by extension).
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def headers_for(name: str) -> Sequence[tuple[str, str]]:
    """The response-headers policy of a file: the embed page's, or every other page's."""
    return EMBED_HEADERS if name == EMBED else PAGE_HEADERS


def _not_found(path: str) -> Answer:
    body = {"error": {"code": "not_found", "message": f"No console file at {path[:200]}", "details": []}}
    return Answer(404, [("Content-Type", "application/json"), *PAGE_HEADERS], json.dumps(body).encode())


@dataclass(frozen=True)
class ConsoleFiles:
    """Serves `root` (console/dist) under `/console/`; GET and HEAD only, as the distribution's
    default behaviour allows."""

    root: Path

    def answer(self, method: str, raw_path: str) -> Answer:
        """`raw_path` as the request line has it (percent-encoded, without the query string)."""
        if method not in ("GET", "HEAD"):
            body = {
                "error": {
                    "code": "method_not_allowed",
                    "message": "The console answers GET, HEAD only; see the Allow header.",
                    "details": [],
                }
            }
            headers = [("Content-Type", "application/json"), ("Allow", "GET, HEAD"), *PAGE_HEADERS]
            return Answer(405, headers, json.dumps(body).encode())
        if raw_path == PREFIX:
            return Answer(301, [("Location", PREFIX + "/"), *PAGE_HEADERS])
        file = self.resolve(raw_path)
        if file is None:
            return _not_found(unquote(raw_path))
        kind = CONTENT_TYPES.get(file.suffix.lower(), DEFAULT_CONTENT_TYPE)
        headers = [("Content-Type", kind), ("Cache-Control", "no-cache"), *headers_for(file.name)]
        return Answer(200, headers, file.read_bytes())

    def resolve(self, raw_path: str) -> Path | None:
        """The file a `/console/...` path names, or None when it names nothing servable."""
        relative = raw_path.removeprefix(PREFIX + "/")
        if relative == raw_path:
            return None
        try:
            decoded = unquote(relative, errors="strict")
        except UnicodeDecodeError:
            return None
        if not decoded:
            decoded = INDEX
        elif decoded.endswith("/"):
            decoded += INDEX  # as the viewer-request function does for a directory
        parts = decoded.split("/")
        if any(
            not part or part in (".", "..") or part.startswith(".") or "\\" in part or "\x00" in part
            for part in parts
        ):
            return None
        try:
            root = self.root.resolve(strict=True)
            candidate = root.joinpath(*parts).resolve(strict=True)
        except (OSError, ValueError, RuntimeError):
            return None
        if not candidate.is_relative_to(root) or not candidate.is_file():
            return None
        return candidate
