"""One webhook delivery over the network, safe against SSRF (API.md "Streaming destinations").

Every call checks the URL (`models/webhook_address.py`), resolves its host itself, refuses the URL
when any resolved address is refused, connects to a checked address (never letting a library resolve
the name again), checks the connected socket's peer, then speaks HTTP/1.1 over that socket (TLS with
the URL's host name as SNI and for certificate verification). Redirects are answers, not followed.
The whole exchange has one deadline (15 s): a timer shuts the socket when it passes, so a server
that trickles bytes cannot stretch it; at most `max_response_bytes` of the answer are read.
Only 2xx within the deadline is `delivered`.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from activitylog.models.errors import DestinationNotAllowedError
from activitylog.models.webhook_address import (
    IPAddress,
    WebhookTarget,
    check_addresses,
    check_url,
    parse_address,
    refusal,
)

TIMEOUT_SECONDS = 15.0  # API.md: any 2xx within 15 seconds is success
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "ActivityLog-Webhooks/1"

Resolver = Callable[[str, int], list[IPAddress]]


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6), in its order."""
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True)
class WebhookAnswer:
    delivered: bool
    http_status: int | None
    error: str | None
    duration_ms: int
    address: str | None = None  # the address connected to


class _Deadline:
    """Shuts the socket when the exchange's time is up (blocked reads and writes then fail)."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.ends = clock() + seconds
        self.passed = False
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.ends - self._clock()
        if left <= 0:
            self.passed = True
            raise TimeoutError("the deadline passed")
        return left

    def guard(self, sock: socket.socket) -> None:
        def expire() -> None:
            self.passed = True
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        self._timer = threading.Timer(self.remaining(), expire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class WebhookClient:
    def __init__(
        self,
        *,
        resolver: Resolver = system_resolver,
        local_mode: bool = False,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        socket_factory: Callable[[int], socket.socket] | None = None,
    ) -> None:
        self._resolve = resolver
        self._socket = socket_factory or (lambda family: socket.socket(family, socket.SOCK_STREAM))
        self._local_mode = local_mode
        self._timeout = timeout_seconds
        self._max_response = max_response_bytes
        self._ssl = ssl_context or ssl.create_default_context()
        self._clock = clock

    def check(self, url: str) -> WebhookTarget:
        """Creation-time check: the URL's rules and every address its host resolves to now."""
        target = check_url(url, local_mode=self._local_mode)
        self._addresses(target)
        return target

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> WebhookAnswer:
        started = self._clock()
        deadline = _Deadline(self._timeout, self._clock)

        def answer(status: int | None, error: str | None, address: str | None = None) -> WebhookAnswer:
            delivered = error is None and status is not None and 200 <= status < 300 and not deadline.passed
            if status is not None and error is None and not delivered:
                error = _status_error(status) if not deadline.passed else "timed out"
            duration = int((self._clock() - started) * 1000)
            return WebhookAnswer(delivered, status, error, duration, address)

        try:
            target = check_url(url, local_mode=self._local_mode)
            addresses = self._addresses(target)
        except DestinationNotAllowedError as err:
            return answer(None, f"destination_not_allowed: {err.message}")
        except OSError as err:
            return answer(None, f"cannot resolve {url!r}: {err}")
        sock: socket.socket | None = None
        try:
            sock, peer = self._connect(target, addresses, deadline)
            deadline.guard(sock)
            if target.scheme == "https":
                sock.settimeout(deadline.remaining())
                sock = self._ssl.wrap_socket(sock, server_hostname=target.host)
            status = self._exchange(sock, target, body, headers, deadline)
            return answer(status, None, peer)
        except DestinationNotAllowedError as err:
            return answer(None, f"destination_not_allowed: {err.message}")
        except (OSError, http.client.HTTPException, ValueError) as err:
            reason = (
                f"timed out after {self._timeout:g} s" if deadline.passed else f"{type(err).__name__}: {err}"
            )
            return answer(None, reason)
        finally:
            deadline.cancel()
            if sock is not None:
                sock.close()

    # -- steps ---------------------------------------------------------------------------------------
    def _addresses(self, target: WebhookTarget) -> list[IPAddress]:
        literal = parse_address(target.host)
        addresses = [literal] if literal is not None else self._resolve(target.host, target.port)
        return check_addresses(target, addresses)

    def _connect(
        self, target: WebhookTarget, addresses: list[IPAddress], deadline: _Deadline
    ) -> tuple[socket.socket, str]:
        last: OSError | None = None
        for address in addresses:
            family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
            sock = self._socket(family)
            try:
                sock.settimeout(deadline.remaining())
                sock.connect((str(address), target.port))
                peer = parse_address(str(sock.getpeername()[0]).split("%", 1)[0])
                reason = (
                    refusal(peer, loopback_allowed=target.loopback_allowed) if peer else "an unknown address"
                )
                if reason:  # the address actually connected to
                    raise DestinationNotAllowedError(f"{target.host} connected to {reason}")
                return sock, str(peer)
            except DestinationNotAllowedError:
                sock.close()
                raise
            except OSError as err:
                sock.close()
                last = err
        raise last or OSError("no address to connect to")

    def _exchange(
        self,
        sock: socket.socket,
        target: WebhookTarget,
        body: bytes,
        headers: Mapping[str, str],
        deadline: _Deadline,
    ) -> int:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=deadline.remaining())
        connection.sock = sock  # the checked, connected socket: http.client never resolves the name
        sock.settimeout(deadline.remaining())
        sent = {
            "Host": target.host_header,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Connection": "close",
            **headers,
        }
        connection.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        sock.settimeout(deadline.remaining())
        response = connection.getresponse()
        sock.settimeout(deadline.remaining())
        response.read(self._max_response)  # bounded: the rest is never read
        deadline.remaining()  # a 2xx after the deadline is no success
        return response.status


def _status_error(status: int) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirects are not followed"
    return f"HTTP {status}"
