"""Where we may connect: the SSRF guard for webhooks (and any URL a subscriber gives us),
and for the redirects of feeds.

A webhook URL is attacker-controlled input once subscribers register
themselves, so the destination is checked where the connection is made: the
transport resolves the host once, refuses loopback, private, link-local,
multicast, reserved and cloud-metadata addresses (unless
RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE is set) and connects to the very address it
checked, keeping the Host header and the TLS server name (SNI and certificate
check) of the URL. A DNS answer that changes between check and connect (DNS
rebinding) therefore cannot redirect the request.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence

import httpx

from worker.core.errors import DeliveryError, FetchError, UnsafeDestinationError

_METADATA = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)

Resolver = Callable[[str, int], Sequence[str]]
"""host, port → IP addresses (as text), in the order to try them."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
"""NAT64 prefixes (RFC 6052 well-known, RFC 8215 local-use): the last 32 bits are IPv4."""


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped and -compatible, 6to4
    (2002::/16), Teredo (2001::/32: server and client) and NAT64. A relay or
    translator on the path may deliver to them, so they are checked as well."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    low = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if any(address in network for network in _NAT64) or int(address) >> 32 == 0:
        found.append(low)  # NAT64, or IPv4-compatible ::a.b.c.d (deprecated)
    return found


def refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, reserved or cloud metadata, or an IPv6
    address embedding such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if any(refused_address(ipv4) for ipv4 in inner):
            return True
        if any(address in network for network in _NAT64):
            return False  # a DNS64 network's name for a public IPv4 address
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address in _METADATA
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def pick_address(host: str, port: int, *, allow_private: bool, resolve: Resolver) -> str:
    """Resolve ``host`` once and return the address to connect to.

    Refuses the host if any of its addresses is internal: an attacker who
    controls DNS could otherwise list a public address next to a private one.
    """
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, port)]
    except (OSError, UnicodeError) as e:
        raise DeliveryError(f"cannot resolve webhook host {host}: {e}") from e
    except ValueError as e:
        raise DeliveryError(f"webhook host {host} resolved to an invalid address: {e}") from e
    if not addresses:
        raise DeliveryError(f"cannot resolve webhook host {host}: no addresses")
    if not allow_private:
        for address in addresses:
            if refused_address(address):
                where = (
                    f"webhook address {address} is"
                    if host.strip("[]") == str(address)
                    else f"webhook host {host} resolves to {address},"
                )
                raise UnsafeDestinationError(
                    f"{where} a private or internal address; set "
                    "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE=true to allow it"
                )
    return str(addresses[0])


class PinnedTransport(httpx.BaseTransport):
    """Checks each request's destination after DNS and connects to the checked address."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        # No keep-alive: a pooled connection is keyed by IP, and must not carry a
        # request for another host name (whose certificate was never checked).
        self._inner = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        address = pick_address(host, port, allow_private=self._allow_private, resolve=self._resolve)
        request.url = request.url.copy_with(host=address)
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def internal_host(host: str, resolve: Resolver = system_resolver) -> bool | None:
    """Whether ``host`` (a name or an address) has an internal address; None if it does
    not resolve (the connection will fail on its own)."""
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(host, 80)]
    except (OSError, UnicodeError, ValueError):
        return None
    return any(refused_address(address) for address in addresses) if addresses else None


class RedirectRefused(FetchError):
    """A redirect from a public host to an internal address."""


def redirect_addresses(
    origin_host: str,
    target_host: str,
    port: int,
    resolve: Resolver = system_resolver,
    *,
    connected: str | None = None,
) -> tuple[str, ...]:
    """The addresses a redirect from ``origin_host`` to ``target_host`` may connect to.

    The target is resolved once, here, and the caller connects only to what this
    returns, so a DNS answer that changes after the check (rebinding) cannot move the
    connection. Refused (:class:`RedirectRefused`): a public origin redirecting to a
    host with an internal address (a feed must not turn us into a client of the local
    network). A feed configured with an internal URL on purpose (a local RSS-Bridge)
    may still redirect within the network; ``connected``, the address the origin's
    answer came from, must then be internal too, so the origin's own name cannot
    rebind to pass for internal.
    """
    try:
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolve(target_host, port)]
    except (OSError, UnicodeError, ValueError) as e:
        raise FetchError(f"cannot resolve the redirect's host {target_host}: {e}") from e
    if not addresses:
        raise FetchError(f"cannot resolve the redirect's host {target_host}: no addresses")
    origin_internal = internal_host(origin_host, resolve) is not False and (
        connected is None or refused_address(ipaddress.ip_address(connected.split("%", 1)[0]))
    )
    if not origin_internal and any(refused_address(a) for a in addresses):
        raise RedirectRefused(
            "refused a redirect from a public address to an internal one "
            f"({target_host}); configure the feed with its real URL if this is meant"
        )
    return tuple(dict.fromkeys(str(a) for a in addresses))
