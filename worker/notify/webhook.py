"""Webhook alerts: a signed JSON POST (Standard Webhooks), never to internal addresses.

The destination is checked where the connection is made
(:class:`~worker.security.destinations.PinnedTransport`). Redirects are not
followed, proxies from the environment are not used, and replies are read to a
small cap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from worker.core.clock import utcnow
from worker.core.errors import DeliveryError
from worker.core.http_headers import retry_after_seconds
from worker.core.types import Message, VerificationPing
from worker.notify import render
from worker.notify.base import Recipient
from worker.security.destinations import PinnedTransport, Resolver, system_resolver
from worker.settings import Settings

RETRYABLE_4XX = frozenset({408, 409, 425, 429})
MAX_REPLY_BYTES = 16 * 1024
"""How much of a receiver's reply is read (the rest is discarded unread)."""
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 15.0


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


def answers_challenge(reply: str, challenge: str) -> bool:
    """Whether the reply is a JSON object whose top-level ``challenge`` is the challenge.

    The request carries it only as ``data.challenge``, so an endpoint that
    echoes whatever it is sent (a request bin, a logging proxy) does not pass:
    the receiver must have read the ping and built the answer.
    """
    try:
        answer = json.loads(reply)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("challenge") == challenge


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

    def probe(self, url: str) -> int:
        """The status an unsigned OPTIONS request to ``url`` gets through the same guarded
        client (address checks, no redirects): says whether something answers there,
        without sending a message. For ``check-config --online``."""
        try:
            response = self._client.request("OPTIONS", url)
        except httpx.TimeoutException as e:
            raise DeliveryError(f"webhook timed out ({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise DeliveryError(f"webhook request failed: {type(e).__name__}: {e}") from e
        return response.status_code

    def send(self, message: Message, recipient: Recipient) -> None:
        try:
            reply = self._post(
                recipient, message.delivery_id, lambda now: render.payload(message, now)
            )
        except DeliveryError as e:
            if isinstance(message, VerificationPing) and e.status is not None and not e.retryable:
                # A new receiver may refuse the ping until its operator has stored the secret
                # from the 201 response: retried with backoff until the subscription expires.
                raise DeliveryError(str(e), retry_after=e.retry_after, status=e.status) from e
            raise
        if isinstance(message, VerificationPing) and not answers_challenge(
            reply, message.challenge
        ):
            raise DeliveryError(
                "the webhook answered the verification ping without its challenge "
                '(reply with a JSON object {"challenge": "<data.challenge>"})'
            )

    def _post(
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
