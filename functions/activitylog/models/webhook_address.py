"""Where a webhook may point (API.md "Streaming destinations"): the SSRF rules, in one place.

A webhook URL is checked when a destination is created or changed (`check_url`, then `allowed` on
every address its host resolves to), and again at every delivery against the address actually
connected to (`dal/webhook_client.py` resolves, checks every answer, connects to one checked address
and checks the socket's peer): a name that resolved to a public address at creation and to a private
one later (DNS rebinding) is refused at the connection.

Refused: loopback, private, link-local (169.254.0.0/16 with the instance metadata address, fe80::/10),
carrier-grade NAT (100.64.0.0/10), multicast, unspecified (0.0.0.0, ::), reserved and every other
address Python's `ipaddress` does not call global, in IPv4 and IPv6, with the IPv6 forms that carry
an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4
2002::/16, Teredo 2001::/32) judged by that IPv4 address. Local mode also allows the loopback
forms of the contract: `http://127.0.0.1:<port>` and `http://localhost:<port>`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from activitylog.models.errors import DestinationNotAllowedError

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
# IANA's special-purpose registries, "not globally reachable" (and the blocks no webhook lives in),
# spelled out so the rules do not depend on the Python version's `is_global`.
SPECIAL_PURPOSE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24",
        "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
        "224.0.0.0/4", "240.0.0.0/4",
        "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20",
        "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL: where to connect and what to say in the request line and Host header."""

    scheme: str
    host: str  # a name (lowercase, IDNA) or an address literal without brackets
    port: int
    path: str  # path and query, as sent in the request line
    loopback_allowed: bool  # local mode's http://127.0.0.1 / localhost

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is public by definition)
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    value = int(address)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d (deprecated IPv4-compatible); not :: or ::1
        return ipaddress.IPv4Address(value)
    return None


def refusal(address: IPAddress, *, loopback_allowed: bool = False) -> str | None:
    """Why a connection to `address` is refused, or None when it is allowed."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = refusal(inner, loopback_allowed=False)
        return f"{reason} (inside {address})" if reason else None
    if loopback_allowed and address.is_loopback:
        return None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("carrier-grade NAT", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("special-purpose", any(address in net for net in SPECIAL_PURPOSE if net.version == address.version)),
        ("not global", not address.is_global),
    )
    return next((f"a {name} address" for name, hit in checks if hit), None)


def parse_address(host: str) -> IPAddress | None:
    """`host` as an address literal (IPv6 without brackets, no zone), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, *, local_mode: bool = False) -> WebhookTarget:
    """The URL's own rules (scheme, host, port, no credentials); addresses are checked by the caller
    on what the host resolves to. Raises DestinationNotAllowedError with the reason."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise DestinationNotAllowedError(f"url must be 1-{MAX_URL_LENGTH} characters")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise DestinationNotAllowedError("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise DestinationNotAllowedError(f"url is not valid: {err}") from None
    host = (parts.hostname or "").rstrip(".")
    if parts.username is not None or parts.password is not None:
        raise DestinationNotAllowedError("url must not carry credentials")
    if not host:
        raise DestinationNotAllowedError("url needs a host")
    if "%" in host:
        raise DestinationNotAllowedError("url must not carry an IPv6 zone")
    loopback = local_mode and parts.scheme == "http" and host in LOCAL_HOSTS and port is not None
    if parts.scheme != "https" and not loopback:
        allowed = "https (local mode also http://127.0.0.1:<port> and http://localhost:<port>)"
        raise DestinationNotAllowedError(f"url must use {allowed if local_mode else 'https'}")
    try:
        host = host.encode("idna").decode("ascii").lower() if parse_address(host) is None else host
    except UnicodeError:
        raise DestinationNotAllowedError("url's host is not a valid name") from None
    literal = parse_address(host)
    last_label = host.rsplit(".", 1)[-1]
    if literal is None and (last_label.isdigit() or last_label.startswith("0x")):
        # 2130706433, 0x7f.1, 127.1, 017700000001...: inet_aton spellings that some resolvers turn
        # into addresses (no real name ends in a numeric label)
        raise DestinationNotAllowedError("url's host must be a name or a standard address literal")
    if literal is not None and (reason := refusal(literal, loopback_allowed=loopback)):
        raise DestinationNotAllowedError(f"url points at {reason}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = 443 if parts.scheme == "https" else 80
    return WebhookTarget(parts.scheme, host, port or default, path, loopback)


def check_addresses(target: WebhookTarget, addresses: list[IPAddress]) -> list[IPAddress]:
    """Every address the host resolved to must be allowed (a client could connect to any of them)."""
    if not addresses:
        raise DestinationNotAllowedError(f"{target.host} does not resolve")
    for address in addresses:
        if reason := refusal(address, loopback_allowed=target.loopback_allowed):
            raise DestinationNotAllowedError(f"{target.host} resolves to {reason}")
    return addresses
