"""Emails sent through the emulated SES, captured for `GET /_local/mail`.

moto's SES backend keeps only the HTML part of a message that has both parts, so the recorder reads
the SendEmail request itself (SES v1 query API, SES v2 JSON API, raw MIME) as it passes through the
emulation, and records it once moto has accepted it (2xx).
"""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_V2_SEND_PATH = "/v2/email/outbound-emails"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _mail(to: list[str], subject: str, text: str | None, html: str | None) -> dict[str, Any]:
    return {"to": to, "subject": subject, "text": text, "html": html, "sent_at": _now()}


def _from_mime(raw: bytes, to: list[str]) -> dict[str, Any]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    parts: dict[str, str | None] = {"plain": None, "html": None}
    for part in message.walk():
        subtype = part.get_content_subtype()
        if part.get_content_maintype() == "text" and subtype in parts and parts[subtype] is None:
            parts[subtype] = str(part.get_content())
    recipients = to or [
        address.strip()
        for header in ("To", "Cc")
        for address in str(message.get(header, "")).split(",")
        if address.strip()
    ]
    return _mail(recipients, str(message.get("Subject", "")), parts["plain"], parts["html"])


def parse_ses_v1(form: dict[str, list[str]]) -> dict[str, Any] | None:
    """A SES v1 query-API SendEmail / SendRawEmail request, as a mail record."""

    def first(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    def members(prefix: str) -> list[str]:
        keys = sorted((k for k in form if k.startswith(prefix)), key=lambda k: int(k.rsplit(".", 1)[1]))
        return [form[k][0] for k in keys]

    action = first("Action")
    if action == "SendEmail":
        to = [
            *members("Destination.ToAddresses.member."),
            *members("Destination.CcAddresses.member."),
            *members("Destination.BccAddresses.member."),
        ]
        return _mail(
            to,
            first("Message.Subject.Data") or "",
            first("Message.Body.Text.Data"),
            first("Message.Body.Html.Data"),
        )
    if action == "SendRawEmail":
        raw = base64.b64decode(first("RawMessage.Data") or "")
        return _from_mime(raw, members("Destinations.member."))
    return None


def parse_ses_v2(body: dict[str, Any]) -> dict[str, Any] | None:
    """A SES v2 SendEmail request body, as a mail record."""
    destination = body.get("Destination", {})
    to = [
        *destination.get("ToAddresses", []),
        *destination.get("CcAddresses", []),
        *destination.get("BccAddresses", []),
    ]
    content = body.get("Content", {})
    if "Simple" in content:
        simple = content["Simple"]
        parts = simple.get("Body", {})
        return _mail(
            to,
            simple.get("Subject", {}).get("Data", ""),
            parts.get("Text", {}).get("Data"),
            parts.get("Html", {}).get("Data"),
        )
    if "Raw" in content:
        return _from_mime(base64.b64decode(content["Raw"]["Data"]), to)
    return None


class MailRecorder:
    """WSGI middleware in front of moto recording the mail SES accepted, newest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mail: list[dict[str, Any]] = []

    def messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(reversed(self._mail))

    def wrap(self, app: WsgiApp) -> WsgiApp:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            if "/ses/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
                return app(environ, start_response)
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            status: list[str] = []

            def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
                status.append(code)
                return start_response(code, headers, exc_info) if exc_info else start_response(code, headers)

            result = app(environ, recording_start_response)
            if status and status[0].startswith("2"):
                self._record(environ, body)
            return result

        return middleware

    def _record(self, environ: dict[str, Any], body: bytes) -> None:
        try:
            if environ.get("PATH_INFO", "").startswith(_V2_SEND_PATH):
                record = parse_ses_v2(json.loads(body or b"{}"))
            else:
                form = parse_qs(body.decode(), keep_blank_values=True)
                if environ.get("QUERY_STRING"):
                    form.update(parse_qs(environ["QUERY_STRING"]))
                record = parse_ses_v1(form)
        except (ValueError, KeyError, TypeError):
            record = None  # not a send request we understand: nothing to show
        if record is not None:
            with self._lock:
                self._mail.append(record)
