"""Where a webhook may point (issue 15, item 3): the address rules of API.md, over whole networks."""

from __future__ import annotations

import ipaddress

import pytest
from activitylog.models.errors import DestinationNotAllowedError
from activitylog.models.webhook_address import check_addresses, check_url, embedded_ipv4, refusal
from hypothesis import given
from hypothesis import strategies as st

REFUSED_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
]
REFUSED_V6 = ["::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "2001:db8::/32", "100::/64"]
PUBLIC = ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]


def addresses_in(network: str) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    net = ipaddress.ip_network(network)
    return st.integers(0, net.num_addresses - 1).map(lambda i: net[i])


@given(st.sampled_from(REFUSED_V4 + REFUSED_V6).flatmap(addresses_in))
def test_every_address_of_a_refused_network_is_refused(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    assert refusal(address) is not None


@given(st.sampled_from(REFUSED_V4).flatmap(addresses_in))
def test_ipv6_forms_carrying_a_refused_ipv4_address_are_refused(address: ipaddress.IPv4Address) -> None:
    value = int(address)
    forms = [
        ipaddress.IPv6Address((0xFFFF << 32) | value),  # ::ffff:a.b.c.d
        ipaddress.IPv6Address(f"64:ff9b::{address}"),  # NAT64
        ipaddress.IPv6Address((0x2002 << 112) | (value << 80)),  # 6to4
    ]
    if value > 1:
        forms.append(ipaddress.IPv6Address(value))  # ::a.b.c.d
    for form in forms:
        assert embedded_ipv4(form) == address, form
        assert refusal(form) is not None, form


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None
    assert (
        refusal(
            ipaddress.IPv6Address(f"::ffff:{address}") if "." in address else ipaddress.ip_address(address)
        )
        is None
    )


def test_the_metadata_address_and_loopback_in_local_mode() -> None:
    assert "link-local" in (refusal(ipaddress.ip_address("169.254.169.254")) or "")
    assert refusal(ipaddress.ip_address("fd00:ec2::254")) is not None  # the IPv6 metadata address
    assert refusal(ipaddress.ip_address("127.0.0.1"), loopback_allowed=True) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), loopback_allowed=True) is not None
    assert (
        refusal(ipaddress.ip_address("::ffff:127.0.0.1"), loopback_allowed=True) is not None
    )  # only the plain forms


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # not https
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "https://@example.com/",
        "https:///path",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0.0.0.0/",
        "https://[::]/",
        "https://2130706433/",  # 127.0.0.1 as one number
        "https://0x7f.1/",
        "https://127.1/",
        "https://017700000001/",
        "https://[fe80::1%25eth0]/",
        "https://exa mple.com/",
        "https://example.com/\r\nX-Injected: 1",
        "https://example.com:99999/",
        "https://" + "a" * 2100 + ".com/",
        "http://127.0.0.1:8080/hook",  # loopback only in local mode
        "http://localhost:8080/hook",
    ],
)
def test_urls_refused_by_their_own_rules(url: str) -> None:
    with pytest.raises(DestinationNotAllowedError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1:8080/",
        "http://example.com:8080/",
        "https://[::1]:8080/",
        "http://[::1]:80/",
    ],
)
def test_local_mode_allows_only_the_contracts_loopback_forms(url: str) -> None:
    with pytest.raises(DestinationNotAllowedError):
        check_url(url, local_mode=True)


def test_accepted_urls_keep_host_port_and_path() -> None:
    target = check_url("https://SIEM.Example.com./hook?x=1")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "siem.example.com",
        443,
        "/hook?x=1",
    )
    assert target.host_header == "siem.example.com"
    assert check_url("https://[2606:4700:4700::1111]:8443/").host_header == "[2606:4700:4700::1111]:8443"
    assert check_url("https://bücher.example/").host == "xn--bcher-kva.example"
    local = check_url("http://localhost:8123/in", local_mode=True)
    assert (local.loopback_allowed, local.port, local.host_header) == (True, 8123, "localhost:8123")


def test_every_resolved_address_must_be_allowed() -> None:
    target = check_url("https://hooks.example.com/")
    public = ipaddress.ip_address("93.184.216.34")
    assert check_addresses(target, [public]) == [public]
    with pytest.raises(DestinationNotAllowedError, match="private"):
        check_addresses(target, [public, ipaddress.ip_address("10.1.2.3")])
    with pytest.raises(DestinationNotAllowedError, match="does not resolve"):
        check_addresses(target, [])
