"""The local gateway serves the built console at /console/ (a fixture dist here, not the real build),
with CloudFront's security headers, no way out of the directory, and the API's CORS answers:
preflights and the gateway's own refusals (a hand-made template and fake handlers, no emulation)."""

from __future__ import annotations

import http.client
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from activitylog_ops.local import cors
from activitylog_ops.local.console_files import ConsoleFiles
from activitylog_ops.local.gateway import Gateway
from activitylog_ops.local.invoker import InProcessInvoker
from activitylog_ops.local.template import Deployment
from local_fakes import templates

FILES = {
    "index.html": b"<!doctype html><title>console</title>",
    "embed.html": b"<!doctype html><title>embed</title>",
    "embed.js": b"customElements.define('activitylog-feed', class extends HTMLElement {});",
    "app.js": b"console.log('app');",
    "app.css": b"body { color: black; }",
    "favicon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "pages/index.html": b"<!doctype html><title>nested</title>",
}
PAGE_CSP = "default-src 'self'; frame-ancestors 'none'"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("console")
    root = base / "dist"
    for name, content in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    (base / "secret.txt").write_text("outside the console")
    (root / ".hidden").write_text("a dot file")
    (root / "escape.txt").symlink_to(base / "secret.txt")
    return root


@pytest.fixture(scope="module")
def gateway(dist: Path) -> Iterator[Gateway]:
    environ = dict(os.environ)
    deployment = Deployment(templates())
    server = Gateway(
        deployment.routes(), InProcessInvoker(deployment.functions()), console=ConsoleFiles(dist)
    )
    server.start()
    yield server
    server.stop()
    os.environ.clear()
    os.environ.update(environ)


def raw(gateway: Gateway, method: str, path: str) -> http.client.HTTPResponse:
    """The path exactly as written (requests and browsers would normalise `..` away)."""
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, path, skip_accept_encoding=True)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def assert_not_found(response: requests.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


# --- files, types and headers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "name", "kind"),
    [
        ("/console/", "index.html", "text/html; charset=utf-8"),
        ("/console/index.html", "index.html", "text/html; charset=utf-8"),
        ("/console/app.js", "app.js", "text/javascript; charset=utf-8"),
        ("/console/embed.js", "embed.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "app.css", "text/css; charset=utf-8"),
        ("/console/favicon.svg", "favicon.svg", "image/svg+xml"),
        ("/console/pages/", "pages/index.html", "text/html; charset=utf-8"),
    ],
)
def test_console_files_are_served_with_their_type_and_the_page_headers(
    gateway: Gateway, path: str, name: str, kind: str
) -> None:
    # When a console file is asked for
    response = requests.get(gateway.url + path + "?page=exports", timeout=10)

    # Then it is served as it is, with its content type and every page's security headers
    assert response.status_code == 200
    assert response.content == FILES[name]
    assert response.headers["Content-Type"] == kind
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_embed_html_may_be_framed_by_any_site(gateway: Gateway) -> None:
    response = requests.get(gateway.url + "/console/embed.html", timeout=10)

    assert response.status_code == 200 and response.content == FILES["embed.html"]
    csp = response.headers["Content-Security-Policy"]
    assert csp == "default-src 'self'" and "frame-ancestors" not in csp
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    # And only the page itself: its script is served with the ordinary headers
    script = requests.get(gateway.url + "/console/embed.js", timeout=10)
    assert script.headers["Content-Security-Policy"] == PAGE_CSP


def test_console_without_slash_redirects_and_head_sends_no_body(gateway: Gateway) -> None:
    response = requests.get(gateway.url + "/console", allow_redirects=False, timeout=10)
    assert response.status_code == 301 and response.headers["Location"] == "/console/"
    assert requests.get(gateway.url + "/console", timeout=10).content == FILES["index.html"]

    head = requests.head(gateway.url + "/console/app.js", timeout=10)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(FILES["app.js"]))


def test_missing_files_are_404_in_the_envelope(gateway: Gateway) -> None:
    for path in ("/console/nope.js", "/console/pages/nope/", "/console/app.js/", "/consolex/"):
        assert_not_found(requests.get(gateway.url + path, timeout=10))


def test_other_methods_than_get_and_head_are_405(gateway: Gateway) -> None:
    response = requests.post(gateway.url + "/console/index.html", data=b"x", timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- no way out of console/dist ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/console/../secret.txt",
        "/console/pages/../../secret.txt",
        "/console/%2e%2e/secret.txt",
        "/console/%2E%2E/secret.txt",
        "/console/.%2e/secret.txt",
        "/console/%2e%2e%2fsecret.txt",
        "/console/..%2fsecret.txt",
        "/console/..%5csecret.txt",
        "/console/..\\secret.txt",
        "/console/pages\\..\\..\\secret.txt",
        "/console/%00",
        "/console/index.html%00.js",
        "/console/%2fetc/passwd",
        "/console//etc/passwd",
        "/console/escape.txt",  # a symbolic link out of the directory
        "/console/.hidden",
        "/console/%ff",
        "/console/..",
        "/console/.",
    ],
)
def test_traversal_is_a_404_and_never_reads_outside(gateway: Gateway, path: str) -> None:
    response = raw(gateway, "GET", path)
    assert response.status == 404, path
    assert response.getheader("Content-Type") == "application/json"


def test_a_raw_nul_in_the_request_line_is_refused(gateway: Gateway) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            b"GET /console/index.html\x00/../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status = answer.split(b"\r\n", 1)[0]
    assert b" 404 " in status or b" 400 " in status, status
    assert b"outside the console" not in answer


def test_resolve_keeps_to_the_directory(dist: Path) -> None:
    files = ConsoleFiles(dist)
    assert files.resolve("/console/app.js") == (dist / "app.js").resolve()
    assert files.resolve("/console/") == (dist / "index.html").resolve()
    assert files.resolve("/consoleapp.js") is None
    assert files.resolve("/console/escape.txt") is None
    assert files.resolve("/console/%2e%2e/secret.txt") is None
    assert ConsoleFiles(dist / "missing").resolve("/console/") is None


# --- CORS: preflights and the gateway's own refusals --------------------------------------------------


def test_options_on_a_route_path_is_the_cors_preflight(gateway: Gateway) -> None:
    # Given a browser's preflight from another origin (no key: browsers send none)
    response = requests.options(
        gateway.url + "/v1/events",
        headers={
            "Origin": "https://vendor.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
        timeout=10,
    )

    # Then the gateway answers it itself, for any origin, without credentials
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    methods = response.headers["Access-Control-Allow-Methods"].split(", ")
    assert "POST" in methods and "OPTIONS" in methods
    assert response.headers["Allow"] == response.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_options_is_never_a_405_and_the_405_names_it(gateway: Gateway) -> None:
    answer = requests.request("TRACE", gateway.url + "/v1/events", timeout=10)
    assert answer.status_code == 405
    assert "OPTIONS" in answer.headers["Allow"].split(", ")
    preflight = requests.options(gateway.url + "/v1/events", timeout=10)
    assert preflight.status_code == 204
    assert preflight.headers["Allow"] == answer.headers["Allow"]


def test_options_on_an_unknown_path_is_the_404(gateway: Gateway) -> None:
    response = requests.options(
        gateway.url + "/v1/nothing-here", headers={"Origin": "https://a.example"}, timeout=10
    )
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/v1/nothing-here", {}, 404),
        ("TRACE", "/v1/events", {}, 405),
        ("POST", "/v1/events", {}, 401),  # no key
        ("POST", "/v1/events", {"Content-Length": str(11 * 1024 * 1024)}, 413),
    ],
)
def test_the_gateways_own_refusals_carry_the_cors_headers(
    gateway: Gateway, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest(method, path)
    connection.putheader("Origin", "https://vendor.example")
    for name, value in headers.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()

    assert response.status == status
    assert body["error"]["code"]
    assert response.getheader("Access-Control-Allow-Origin") == "*"
    assert response.getheader("Access-Control-Expose-Headers") == cors.EXPOSE_HEADERS
    exposed = cors.EXPOSE_HEADERS.split(", ")
    assert {"Retry-After", "Location", "Allow", "WWW-Authenticate"} <= set(exposed)
