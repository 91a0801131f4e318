"""Webhook alerts: a signed JSON POST (Standard Webhooks), never to private addresses."""

from __future__ import annotations

import ipaddress
import json
import socket
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook

from worker.db.models import utcnow
from worker.errors import DeliveryError, UnsafeDestinationError
from worker.notify import render
from worker.notify.base import Recipient
from worker.settings import Settings
from worker.types import Alert

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_METADATA = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)


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


def check_destination(url: str) -> None:
    """Resolve the host and refuse internal addresses (SSRF guard)."""
    host = urlsplit(url).hostname
    if not host:
        raise UnsafeDestinationError("webhook URL has no host")
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        raise DeliveryError(f"cannot resolve webhook host: {e}") from e
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if refused_address(address):
            raise UnsafeDestinationError(
                f"webhook host resolves to {address}, a private or internal address; set "
                "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE=true to allow it"
            )


class WebhookNotifier:
    def __init__(self, settings: Settings) -> None:
        self._allow_private = settings.webhook_allow_private
        self._client = httpx.Client(
            timeout=httpx.Timeout(15.0, connect=5.0),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def send(self, alert: Alert, recipient: Recipient) -> None:
        if not self._allow_private:
            check_destination(recipient.address)
        if not recipient.secret:
            raise DeliveryError("webhook secret is not set in the environment", retryable=True)
        now = utcnow()
        body = json.dumps(render.payload(alert, now), ensure_ascii=False, separators=(",", ":"))
        try:
            signature = Webhook(recipient.secret).sign(alert.delivery_id, now, body)
        except Exception as e:  # the library raises plain errors for a malformed secret
            raise DeliveryError(
                f"webhook secret is not a valid whsec_ secret: {type(e).__name__}", retryable=False
            ) from e
        headers = {
            "Content-Type": "application/json",
            "webhook-id": alert.delivery_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = self._client.post(recipient.address, content=body.encode(), headers=headers)
        except httpx.TimeoutException as e:
            raise DeliveryError(f"webhook timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise DeliveryError(f"webhook request failed: {type(e).__name__}: {e}") from e
        status = response.status_code
        if 200 <= status < 300:
            return
        reply = response.text[:200]
        retry_after = _retry_after(response.headers.get("Retry-After"))
        retryable = status >= 500 or status in RETRYABLE_4XX
        if 300 <= status < 400:
            raise DeliveryError(
                f"webhook answered HTTP {status} (redirects are not followed)", retryable=False
            )
        raise DeliveryError(
            f"webhook answered HTTP {status}: {reply}", retryable=retryable, retry_after=retry_after
        )


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
