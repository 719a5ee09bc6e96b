"""One webhook delivery against receivers on 127.0.0.1 (local mode's loopback rule), with a resolver
the test controls: success, failures, redirects, slow and trickling receivers, bounded reads,
names resolving to refused addresses (several addresses, changed between check and connect)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from activitylog.dal.webhook_client import MAX_RESPONSE_BYTES, TIMEOUT_SECONDS, WebhookClient
from activitylog.logic.webhook_signing import delivery_headers, new_secret
from standardwebhooks import Webhook, WebhookVerificationError

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Receiver:
    def __init__(self, behaviour: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers.items()), body))
                behaviour(self)

            def do_GET(self) -> None:
                receiver.requests.append((dict(self.headers.items()), b""))
                behaviour(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def url(self, host: str = "127.0.0.1", path: str = "/hook") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answering(
    status: int, body: bytes = b"ok", delay: float = 0.0, headers: dict[str, str] | None = None
) -> Any:
    def behave(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)

    return behave


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(behaviour: Callable[[BaseHTTPRequestHandler], None]) -> Receiver:
        made.append(Receiver(behaviour))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def client(**kwargs: Any) -> WebhookClient:
    return WebhookClient(local_mode=True, **kwargs)


def test_the_contracts_numbers() -> None:
    assert TIMEOUT_SECONDS == 15.0
    assert MAX_RESPONSE_BYTES <= 1024 * 1024


def test_a_2xx_is_delivered_with_the_standard_webhooks_signature(receivers: Callable[..., Receiver]) -> None:
    receiver = receivers(answering(204, b""))
    old, new = new_secret(), new_secret()
    body = '{"type":"activitylog.events","data":{"events":[]}}'
    headers = delivery_headers([new, old], msg_id="dlv_1", timestamp=datetime.now(UTC), body=body)
    answer = client().post(receiver.url(), body.encode(), headers)
    assert answer.delivered and answer.http_status == 204 and answer.error is None, answer
    assert answer.address == "127.0.0.1"
    ((sent, got),) = receiver.requests
    assert got == body.encode()
    assert sent["Host"] == f"127.0.0.1:{receiver.port}"
    for secret in (old, new):  # either valid secret verifies (rotation)
        assert Webhook(secret).verify(got, sent) == {"type": "activitylog.events", "data": {"events": []}}
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got, sent)


@pytest.mark.parametrize("status", [400, 404, 410, 500, 503])
def test_other_statuses_are_failures_with_the_status(receivers: Callable[..., Receiver], status: int) -> None:
    answer = client().post(receivers(answering(status)).url(), b"{}", {})
    assert not answer.delivered and answer.http_status == status and answer.error == f"HTTP {status}"


def test_redirects_are_not_followed(receivers: Callable[..., Receiver]) -> None:
    target = receivers(answering(200))
    redirecting = receivers(answering(307, headers={"Location": target.url()}))
    answer = client().post(redirecting.url(), b"{}", {})
    assert not answer.delivered and answer.http_status == 307 and "not followed" in (answer.error or "")
    assert target.requests == []


def test_a_2xx_after_the_deadline_is_not_delivered(receivers: Callable[..., Receiver]) -> None:
    slow = receivers(answering(200, delay=1.5))
    started = time.monotonic()
    answer = client(timeout_seconds=1.0).post(slow.url(), b"{}", {})
    assert not answer.delivered and "timed out" in (answer.error or ""), answer
    assert time.monotonic() - started < 1.4


def test_a_trickling_receiver_cannot_stretch_the_deadline(receivers: Callable[..., Receiver]) -> None:
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for _ in range(40):  # one header byte every 0.1 s: each read is quick, the whole is not
                handler.wfile.write(b"X")
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    started = time.monotonic()
    answer = client(timeout_seconds=1.0).post(receivers(trickle).url(), b"{}", {})
    assert not answer.delivered and "timed out" in (answer.error or ""), answer
    assert time.monotonic() - started < 1.6


def test_a_huge_answer_is_read_only_up_to_the_bound(receivers: Callable[..., Receiver]) -> None:
    answer = client(max_response_bytes=1024).post(
        receivers(answering(200, b"x" * 20_000_000)).url(), b"{}", {}
    )
    assert answer.delivered and answer.duration_ms < 5_000


def test_a_closed_port_is_a_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answer = client().post(f"http://127.0.0.1:{port}/", b"{}", {})
    assert not answer.delivered and answer.http_status is None and answer.error


def test_a_name_with_one_refused_address_among_several_is_refused_without_connecting(
    receivers: Callable[..., Receiver],
) -> None:
    receiver = receivers(answering(200))
    resolver = lambda host, port: [LOOPBACK, ipaddress.ip_address("10.0.0.7")]  # noqa: E731
    answer = client(resolver=resolver).post(receiver.url("localhost"), b"{}", {})
    assert not answer.delivered and "destination_not_allowed" in (answer.error or "")
    assert receiver.requests == []


def test_a_name_rebound_to_a_private_address_after_the_check_is_refused_at_delivery() -> None:
    answers = iter([[ipaddress.ip_address("93.184.216.34")], [ipaddress.ip_address("169.254.169.254")]])
    connected: list[Any] = []

    def factory(family: int) -> socket.socket:
        connected.append(family)
        raise AssertionError("no connection may be attempted")

    webhook = WebhookClient(resolver=lambda host, port: next(answers), socket_factory=factory)
    webhook.check("https://hooks.example.com/in")  # creation: resolves to a public address
    answer = webhook.post("https://hooks.example.com/in", b"{}", {})
    assert not answer.delivered and "link-local" in (answer.error or "")
    assert connected == []


def test_the_address_actually_connected_to_is_checked() -> None:
    class Socket:
        def __init__(self) -> None:
            self.closed = False

        def settimeout(self, value: float) -> None:
            pass

        def connect(self, address: tuple[str, int]) -> None:
            pass

        def getpeername(self) -> tuple[str, int]:
            return ("10.9.9.9", 443)  # a transparent proxy or a racing resolver put us elsewhere

        def close(self) -> None:
            self.closed = True

    made: list[Socket] = []

    def factory(family: int) -> Any:
        made.append(Socket())
        return made[-1]

    webhook = WebhookClient(
        resolver=lambda host, port: [ipaddress.ip_address("93.184.216.34")], socket_factory=factory
    )
    answer = webhook.post("https://hooks.example.com/in", b"{}", {})
    assert not answer.delivered and "connected to a private address" in (answer.error or ""), answer
    assert made and all(s.closed for s in made)


def test_local_mode_rules_apply_to_names_too(receivers: Callable[..., Receiver]) -> None:
    receiver = receivers(answering(200))
    # localhost is allowed in local mode only when it resolves to loopback
    assert client(resolver=lambda h, p: [LOOPBACK]).post(receiver.url("localhost"), b"{}", {}).delivered
    refused = WebhookClient().post(receiver.url(), b"{}", {})  # the deployed rules: no http, no loopback
    assert not refused.delivered and "destination_not_allowed" in (refused.error or "")
    assert len(receiver.requests) == 1
