"""Webhook alerts: a signed JSON POST (Standard Webhooks), never to internal addresses.

A webhook URL is attacker-controlled input once subscribers register
themselves, so the destination is checked where the connection is made: the
transport resolves the host once, refuses loopback, private, link-local,
multicast, reserved and cloud-metadata addresses (unless
RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE is set) and connects to the very address it
checked, keeping the Host header and the TLS server name (SNI and certificate
check) of the URL. A DNS answer that changes between check and connect (DNS
rebinding) therefore cannot redirect the request. Redirects are not followed,
proxies from the environment are not used, and replies are read to a small cap.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from worker.core.errors import DeliveryError, UnsafeDestinationError
from worker.core.http_headers import retry_after_seconds
from worker.core.types import Notification
from worker.db.models import utcnow
from worker.notify import render
from worker.notify.base import Recipient
from worker.settings import Settings

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_REPLY_BYTES = 16 * 1024
"""How much of a receiver's reply is read (the rest is discarded unread)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0
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


def refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, reserved or cloud metadata."""
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
                    f"webhook address {address}"
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


def signature_header(secrets: str, message_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<sig>`` per secret, space-separated: two secrets are active during a rotation."""
    signatures = []
    for secret in secrets.split():
        try:
            signatures.append(Webhook(secret).sign(message_id, timestamp, body))
        except Exception as e:  # the library raises plain errors for a malformed secret
            raise DeliveryError(
                f"webhook secret is not a valid whsec_ secret: {type(e).__name__}",
                retryable=False,
            ) from e
    return " ".join(signatures)


class WebhookNotifier:
    def __init__(self, settings: Settings, resolve: Resolver = system_resolver) -> None:
        self._client = httpx.Client(
            transport=PinnedTransport(
                allow_private=settings.webhook_allow_private, resolve=resolve
            ),
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def send(self, message: Notification, recipient: Recipient) -> None:
        self.post(recipient, message.delivery_id, lambda now: render.payload(message, now))

    def post(
        self,
        recipient: Recipient,
        message_id: str,
        payload: Callable[[datetime], dict[str, Any]],
    ) -> str:
        """POST ``payload(now)`` signed as message ``message_id``; the 2xx reply's text."""
        if not recipient.secret:
            raise DeliveryError("webhook secret is not set in the environment", retryable=True)
        now = utcnow()
        body = json.dumps(payload(now), ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature_header(recipient.secret, message_id, now, body),
        }
        try:
            with self._client.stream(
                "POST", recipient.address, content=body.encode(), headers=headers
            ) as response:
                reply = _read_capped(response)
        except httpx.TimeoutException as e:
            raise DeliveryError(f"webhook timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise DeliveryError(f"webhook request failed: {type(e).__name__}: {e}") from e
        status = response.status_code
        if 200 <= status < 300:
            return reply
        if 300 <= status < 400:
            raise DeliveryError(
                f"webhook answered HTTP {status} (redirects are not followed)",
                retryable=False,
                status=status,
            )
        reply = render.one_line(reply, 200)
        raise DeliveryError(
            f"webhook answered HTTP {status}" + (f": {reply}" if reply else ""),
            retryable=status >= 500 or status in RETRYABLE_4XX,
            retry_after=retry_after_seconds(response.headers.get("Retry-After"), now),
            status=status,
        )


def _read_capped(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_raw():
        data += chunk
        if len(data) >= MAX_REPLY_BYTES:
            break
    return data[:MAX_REPLY_BYTES].decode("utf-8", errors="replace")
