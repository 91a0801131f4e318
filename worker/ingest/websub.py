"""Asking a WebSub hub to push a feed to us, or to stop: the (un)subscription request
(WebSub §5.1).

The hub URL comes from the feed, which anyone may write, so the request goes
through the same SSRF guard as webhooks (no internal addresses unless
RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE is set). Feeds read through a proxy are never
subscribed (:func:`worker.jobs.subscribe`): the callback would tell their hub where
this server is, so no request here needs a proxy. The hub then verifies the
request at the callback (:mod:`worker.api.routes_websub`), possibly before it
answers this one, so the row was committed as asked before this is called.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from worker.core.websub import LEASE
from worker.db import websub
from worker.db.session import SessionFactory
from worker.security.destinations import PinnedTransport, refused_address
from worker.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def push_possible(settings: Settings) -> bool:
    """Whether a hub could reach our callbacks: RIGHTSWATCH_PUBLIC_URL is set, and names no
    loopback or private address (unless RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE: tests, intranets).

    The example ``.env``'s ``http://localhost:8000`` must not send hubs on the Internet
    requests they can never verify.
    """
    if not settings.public_url:
        return False
    if settings.webhook_allow_private:
        return True
    host = (urlsplit(settings.public_url).hostname or "").rstrip(".").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        return not refused_address(ipaddress.ip_address(host))
    except ValueError:
        return True  # a name: the operator's DNS is trusted


def callback_url(public_url: str, subscription_id: str) -> str:
    return f"{public_url.rstrip('/')}/websub/{subscription_id}"


def subscribe(
    settings: Settings, sessions: SessionFactory, subscription_id: str, now: datetime
) -> str:
    """Send the subscription request, or the unsubscription of a retired subscription;
    "requested", "unsubscribe requested", "failed", or "skipped" when there is nothing to
    ask (no public URL, verified meanwhile, or a duplicate task)."""
    public_url = settings.public_url
    if public_url is None or not push_possible(settings):
        return "skipped"
    with sessions() as session:
        row = websub.get(session, subscription_id)
        if row is None or row.requested_at is None:
            return "skipped"
        hub, topic, secret, feed_id = row.hub, row.topic, row.secret, row.feed_id
        mode = "unsubscribe" if row.state == "unsubscribing" else "subscribe"
    form = {
        "hub.mode": mode,
        "hub.topic": topic,
        "hub.callback": callback_url(public_url, subscription_id),
    }
    if mode == "subscribe":
        form["hub.secret"] = secret
        form["hub.lease_seconds"] = str(int(LEASE.total_seconds()))
    error = _post(settings, hub, form)
    if error is None:
        log.info("feed %s: asked the WebSub hub %s to %s %s", feed_id, hub, mode, topic)
        return "requested" if mode == "subscribe" else "unsubscribe requested"
    log.warning("feed %s: WebSub hub %s: %s (polling goes on)", feed_id, hub, error)
    with sessions() as session, session.begin():
        websub.request_failed(session, subscription_id, error, now)
    return "failed"


def _post(settings: Settings, hub: str, form: dict[str, str]) -> str | None:
    """POST the form to the hub; None when it accepted (2xx), else what went wrong."""
    try:
        with httpx.Client(
            transport=PinnedTransport(allow_private=settings.webhook_allow_private),
            timeout=TIMEOUT,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent},
        ) as client:
            response = client.post(hub, data=form)
    except Exception as e:  # the SSRF guard's refusal, DNS, TLS, timeouts…
        return f"request failed: {e}"
    if 200 <= response.status_code < 300:
        return None
    reply = " ".join(response.text[:200].split())
    return f"HTTP {response.status_code}" + (f": {reply}" if reply else "")
