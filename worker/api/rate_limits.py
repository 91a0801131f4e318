"""Rate limits of the API: fixed windows per client address and per e-mail address.

Counted in Redis when a broker is configured (shared by every API process) and
in the database otherwise. Subjects are stored only as an HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis

from worker.db import rate_limits
from worker.db.session import SessionFactory


@dataclass(frozen=True, slots=True)
class Limit:
    scope: str
    """What is limited, e.g. ``subscribe-client``; part of the key and of the metric."""
    requests: int
    window: timedelta


class RateLimiter(Protocol):
    def hit(self, limit: Limit, subject: str, now: datetime) -> bool:
        """Count one request of ``subject``; False if it goes over the limit."""
        ...

    def close(self) -> None: ...


def email_bucket(address: str) -> str:
    """The mailbox an address reaches: sub-addressing (``victim+1@``) does not make a new
    one, so it must not make a new counter either."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address.casefold()
    return f"{local.split('+', 1)[0]}@{domain}".casefold()


def client_bucket(host: str) -> str:
    """An IPv6 client's /64 (one customer's network; a host picks any address in it at
    will), an IPv4 client's address (IPv4-mapped IPv6 counts as IPv4)."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _key(secret: str, limit: Limit, subject: str) -> str:
    message = f"{limit.scope}:{subject.casefold()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _window_start(limit: Limit, now: datetime) -> datetime:
    seconds = int(limit.window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


class RedisRateLimiter:
    def __init__(self, url: str, secret: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self._secret = secret

    def hit(self, limit: Limit, subject: str, now: datetime) -> bool:
        start = _window_start(limit, now)
        key = f"rightswatch:ratelimit:{_key(self._secret, limit, subject)}:{int(start.timestamp())}"
        pipe = self._client.pipeline()
        pipe.incr(key)
        pipe.expire(key, int(limit.window.total_seconds()) + 1)
        count, _ = pipe.execute()
        return int(count) <= limit.requests

    def close(self) -> None:
        self._client.close()


class DatabaseRateLimiter:
    """Counters in the ``rate_limits`` table: one upsert per request."""

    def __init__(self, sessions: SessionFactory, secret: str) -> None:
        self._sessions = sessions
        self._secret = secret

    def hit(self, limit: Limit, subject: str, now: datetime) -> bool:
        start = _window_start(limit, now)
        with self._sessions() as session, session.begin():
            count = rate_limits.count_hit(session, _key(self._secret, limit, subject), start)
        return count <= limit.requests

    def close(self) -> None:
        return None
