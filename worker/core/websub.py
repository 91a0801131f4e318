"""WebSub (W3C Recommendation, https://www.w3.org/TR/websub/): the pure parts.

Reading ``Link`` headers for a hub and a topic, checking a content distribution's
``X-Hub-Signature``, and when a lease should be renewed. No I/O here: the
subscribe request is sent by :mod:`worker.ingest.websub`, verification and
distributions are answered by :mod:`worker.api.routes_websub`.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

LEASE = timedelta(days=10)
"""The lease rightswatch asks for (hubs may grant less; WordPress's hub grants 10 days)."""
VERIFY_WAIT = timedelta(minutes=10)
"""A request the hub has not verified within this is sent again."""
UNSUBSCRIBE_TRIES = 5
"""Unsubscribe requests sent before giving up on a hub that never verifies one."""
SIGNATURE_METHODS = ("sha1", "sha256", "sha384", "sha512")
"""The HMAC digests a hub may sign with (WebSub §8: sha1 for compatibility)."""

_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r";\s*rel\s*=\s*(?:\"([^\"]*)\"|([^\s;,]+))", re.IGNORECASE)


def link_rels(value: str | None) -> dict[str, str]:
    """``Link: <https://hub>; rel="hub", <https://self>; rel=self`` → {rel: first URL}.

    Several relations in one ``rel`` (``rel="hub self"``) each count; the first
    link of a relation wins, as WebSub discovery asks.
    """
    found: dict[str, str] = {}
    for match in _LINK.finditer(value or ""):
        url, params = match.group(1).strip(), match.group(2)
        for rel in _REL.finditer(params):
            for name in (rel.group(1) or rel.group(2) or "").lower().split():
                found.setdefault(name, url)
    return found


def signature_valid(header: str | None, secret: str, body: bytes) -> bool:
    """Whether ``X-Hub-Signature: method=hex`` is the HMAC of the raw body under ``secret``.

    Compared in constant time; an unknown method, a missing or malformed header is invalid.
    """
    method, _, given = (header or "").strip().partition("=")
    method = method.strip().lower()
    if method not in SIGNATURE_METHODS or not given:
        return False
    expected = hmac.new(secret.encode(), body, method).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def sign(secret: str, body: bytes, method: str = "sha256") -> str:
    """The ``X-Hub-Signature`` value a hub sends for ``body`` (for tests and tools)."""
    return f"{method}={hmac.new(secret.encode(), body, method).hexdigest()}"


def renew_at(verified_at: datetime, lease: timedelta, tick: timedelta) -> datetime:
    """When to ask again: a tenth of the lease before it ends, at least two scheduler
    ticks before, and never in the first half of the lease."""
    margin = min(max(lease / 10, 2 * tick), lease / 2)
    return verified_at + lease - margin


def retry_after(attempts: int) -> timedelta:
    """Wait before asking a hub again that refused or failed: 1 minute doubling to 1 day."""
    doublings = max(0, min(attempts - 1, 20))
    return min(timedelta(minutes=2**doublings), timedelta(days=1))
