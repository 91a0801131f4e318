"""IPv6 addresses that embed an internal IPv4 address are refused like it: 6to4,
Teredo, NAT64, IPv4-mapped and -compatible (issue 15, item 17). The filter is
called directly (and through the API's check); nothing is sent anywhere."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest

from tests.support.api import Stack
from worker.core.errors import UnsafeDestinationError
from worker.security.destinations import pick_address, refused_address


def teredo(server: str, client: str) -> str:
    """A Teredo address: prefix, server IPv4, flags, obfuscated port and client IPv4."""
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64)
    value |= (0xFFFF ^ 40000) << 32 | (int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF)
    return str(ipaddress.IPv6Address(value))


INTERNAL = [
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::",  # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of the metadata address 169.254.169.254
    teredo("192.0.2.1", "127.0.0.1"),
    teredo("8.8.8.8", "10.1.2.3"),
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::c0a8:101",  # NAT64 of 192.168.1.1
    "::ffff:127.0.0.1",
    "::127.0.0.1",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_embedded_internal_ipv4_is_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address))
    with pytest.raises(UnsafeDestinationError):
        pick_address(f"[{address}]", 443, allow_private=False, resolve=lambda h, p: [address])
    with pytest.raises(UnsafeDestinationError):
        pick_address("hook.example.org", 443, allow_private=False, resolve=lambda h, p: [address])


@pytest.mark.parametrize(
    "address", ["2002:808:808::1", "64:ff9b::808:808", "2606:4700:4700::1111", "8.8.8.8"]
)
def test_public_addresses_stay_allowed(address: str) -> None:
    assert not refused_address(ipaddress.ip_address(address))


def test_the_api_refuses_a_6to4_loopback_webhook(make_stack: Callable[..., Stack]) -> None:
    strict = make_stack(RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="false")
    refused = strict.api.post(
        "/subscriptions", json={"webhook": "http://[2002:7f00:1::1]:9/hook", "watchlists": ["kg"]}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.webhook"
