"""The local HTTP gateway: API Gateway REST (Lambda proxy + TOKEN authorizer) for the template's routes.

Gateway-level refusals carry the API's error envelope, as the deployed gateway responses do:
unknown route → 404, a method the path's resource does not define → 405 with `Allow`, missing key
→ 401, authorizer "Unauthorized" → 401, denied → 403, body over 10 MB → 413 (decided from
Content-Length, the body is never read), handler crash → 502.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from activitylog_ops.local import cors
from activitylog_ops.local.console_files import ConsoleFiles, is_console_path
from activitylog_ops.local.invoker import InProcessInvoker
from activitylog_ops.local.loopback import ListeningServer
from activitylog_ops.local.proxy import (
    Request,
    RouteTable,
    authorizer_context,
    error_body,
    method_arn,
    policy_allows,
    proxy_event,
)
from activitylog_ops.local.rate_limits import Admission, LocalRateLimits
from activitylog_ops.local.schedules import FIRE_PREFIX, ScheduleNotFound
from activitylog_ops.local.template import Route

log = logging.getLogger(__name__)
_TOKEN_IN_PATH = re.compile(r"(/v1/downloads/)[^\s?\"]+")

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous response limit
MAIL_PATH = "/_local/mail"


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False


def json_response(status: int, body: Any, *, close: bool = False) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(body).encode(), close)


def refusal(status: int, code: str, message: str, *, close: bool = False) -> Response:
    answer = json_response(status, error_body(code, message), close=close)
    answer.headers.extend(cors.GATEWAY_HEADERS)  # as every gateway response of the API carries them
    return answer


class Gateway(ListeningServer):
    what = "the gateway"

    def __init__(
        self,
        routes: list[Route],
        invoker: InProcessInvoker,
        *,
        stage: str = "prod",
        mail: Callable[[], list[dict[str, Any]]] | None = None,
        fire: Callable[[str, str | None], dict[str, Any]] | None = None,
        rate_limits: LocalRateLimits | None = None,  # None: no usage plans (the gateway's own tests)
        console: ConsoleFiles | None = None,  # the built web console at /console/ (console_files.py)
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.table = RouteTable(routes)
        self.invoker = invoker
        self.stage = stage
        self._mail = mail or (lambda: [])
        self._fire = fire
        self.rate_limits = rate_limits
        self.console = console
        self._address = (host, port)
        self._host = host
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._server = ThreadingHTTPServer(self._address, _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    # -- requests --------------------------------------------------------------------------------
    def precheck(self, method: str, headers: list[tuple[str, str]]) -> Response | None:
        """Refusals decided from the request line and headers alone (before reading any body)."""
        lengths = [v for k, v in headers if k.lower() == "content-length"]
        chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)
        if chunked:
            return refusal(411, "bad_request", "Send the body with a Content-Length", close=True)
        try:
            length = int(lengths[-1]) if lengths else 0
        except ValueError:
            return refusal(400, "bad_request", "Invalid Content-Length", close=True)
        if length > MAX_REQUEST_BYTES:
            return refusal(413, "payload_too_large", "Request body exceeds 10 MB", close=True)
        return None

    def handle(self, request: Request) -> Response:
        if request.path == MAIL_PATH and request.method == "GET":
            return json_response(200, self._mail())
        if request.path.startswith(FIRE_PREFIX) and request.method == "POST" and self._fire is not None:
            return self._fire_schedule(request)
        if self.console is not None and is_console_path(request.path):
            served = self.console.answer(request.method, request.path)
            return Response(served.status, served.headers, served.body)
        match = self.table.match(request.method, request.path)
        if match is None:
            allowed = self.table.allowed(request.path)
            if allowed and request.method == "OPTIONS":  # the CORS preflight (api.py's OPTIONS MOCK)
                return Response(204, cors.preflight_headers(allowed))
            if allowed:
                allow = ", ".join(cors.methods(allowed))  # as infra/constructs/api.py's MOCK answer says it
                answer = refusal(
                    405, "method_not_allowed", f"{request.path} answers {allow} only; see the Allow header."
                )
                answer.headers.append(("Allow", allow))
                return answer
            return refusal(404, "not_found", f"No route for {request.method} {request.path}")
        authorizer = None
        if match.route.authorizer is not None:
            denied, authorizer = self._authorize(request, match.route)
            if denied is not None:
                return denied
        event = proxy_event(request, match, stage=self.stage, authorizer=authorizer)
        try:
            result = self.invoker.invoke(match.route.function, event)
        except Exception:
            log.exception("%s crashed on %s %s", match.route.function, request.method, request.path)
            return refusal(502, "internal_error", "Internal server error")
        return self._proxy_response(match.route.function, result)

    def _fire_schedule(self, request: Request) -> Response:
        """Local only: fire an EventBridge Scheduler schedule now (moto never fires them)."""
        key = request.path.removeprefix(FIRE_PREFIX).removesuffix("/fire")
        at = dict(parse_qsl(request.query)).get("at")
        assert self._fire is not None
        try:
            return json_response(200, self._fire(unquote(key), at))
        except ScheduleNotFound:
            return refusal(404, "not_found", f"No schedule {key!r}")
        except ValueError as err:
            return refusal(422, "validation_error", str(err))
        except Exception:
            log.exception("firing schedule %s failed", key)
            return refusal(502, "internal_error", "The schedule's target failed")

    def _authorize(self, request: Request, route: Route) -> tuple[Response | None, dict[str, Any] | None]:
        assert route.authorizer is not None
        wanted = route.identity_header.lower()
        token = next((v for k, v in request.headers if k.lower() == wanted), "")
        if not token.strip():
            return refusal(401, "unauthorized", "Unauthorized"), None
        arn = method_arn(self.stage, request.method, request.path)
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
        try:
            result = self.invoker.invoke(route.authorizer, event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return refusal(401, "unauthorized", "Unauthorized"), None
            log.exception("authorizer %s failed", route.authorizer)
            return refusal(500, "internal_error", "Authorizer failure"), None
        if not isinstance(result, dict) or not policy_allows(result.get("policyDocument") or {}, arn):
            return refusal(403, "forbidden", "User is not authorized to access this resource"), None
        if route.api_key_required and self.rate_limits is not None:
            refused = self._throttle(result.get("usageIdentifierKey"))
            if refused is not None:
                return refused, None
        return None, authorizer_context(result)

    def _throttle(self, usage_key: Any) -> Response | None:
        """The usage plan's bucket of the tenant's key, as API Gateway applies it after authorizing
        (infra/constructs/gateway_responses.py: THROTTLED and INVALID_API_KEY)."""
        assert self.rate_limits is not None
        admission = self.rate_limits.admit(usage_key if isinstance(usage_key, str) else None)
        if admission is Admission.THROTTLED:
            answer = refusal(
                429, "rate_limited", "Too many requests; retry after the number of seconds in Retry-After."
            )
            answer.headers.append(("Retry-After", "1"))
            return answer
        if admission is Admission.INVALID_KEY:
            return refusal(
                403, "forbidden", "This tenant has no rate limit configured; ask the service's operator."
            )
        return None

    def _proxy_response(self, function: str, result: Any) -> Response:
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            log.error("%s returned a malformed proxy response: %.200r", function, result)
            return refusal(502, "internal_error", "Internal server error")
        if len(json.dumps(result, default=str)) > MAX_LAMBDA_RESPONSE_BYTES:
            log.error("%s returned more than Lambda's 6 MB response limit", function)
            return refusal(502, "internal_error", "Internal server error")
        headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(v)) for v in values)
        body = result.get("body") or ""
        raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
        return Response(result["statusCode"], headers, raw)


def _handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ActivityLogLocalGateway"

        def _serve(self) -> None:
            headers = [(str(k), str(v)) for k, v in self.headers.items()]
            early = gateway.precheck(self.command, headers)
            if early is not None:
                self._send(early)
                return
            length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=url.path or "/",
                query=url.query,
                headers=headers,
                body=body,
                source_ip=self.client_address[0],
            )
            self._send(gateway.handle(request))

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the route table (TRACE, CONNECT, made-up ones): a method a route
            # does not define is a 405 in the envelope, as on API Gateway, not http.server's 501 page.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if response.close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
            if response.close:
                self._linger()

        def _linger(self) -> None:
            """Let the client read the refusal: stop writing, then drain (and discard) what it is still
            sending for a moment, so that closing does not reset the connection under its reply."""
            try:
                self.connection.shutdown(socket.SHUT_WR)
                self.connection.settimeout(0.5)
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline and self.connection.recv(65536):
                    pass
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            # Like the deployed access log (which logs $context.resourcePath): never the token itself.
            log.info("%s %s", self.address_string(), _TOKEN_IN_PATH.sub(r"\1{token}", format % args))

    return Handler
