"""Tokens, the operator's bearer token and rate limits.

Tokens are 256-bit HMACs under RIGHTSWATCH_SECRET_KEY of a purpose and the
subscriber's id (which carries 128 random bits); the database keeps only their
SHA-256. A presented token is looked up by that hash and then compared, in
constant time, with the one rebuilt from the key, so neither a database dump
nor a timing side channel yields a working link.

Rate limits count requests in fixed windows, per client address and per
e-mail address, in Redis when a broker is configured (shared by every API
process) and in the database otherwise. Subjects are stored only as an HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import redis
from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from worker.db.models import RateLimit
from worker.outbox.delivery import subscriber_token, token_hash


def token_matches(secret_key: str, purpose: str, subscriber_id: str, given: str) -> bool:
    """Whether ``given`` is the subscriber's token for ``purpose`` (constant time)."""
    expected = subscriber_token(secret_key, purpose, subscriber_id)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def hash_of(token: str) -> str:
    return token_hash(token)


def bearer_matches(expected: str | None, authorization: str | None) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time."""
    if not expected or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


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

    def __init__(self, sessions: sessionmaker[Session], secret: str) -> None:
        self._sessions = sessions
        self._secret = secret

    def hit(self, limit: Limit, subject: str, now: datetime) -> bool:
        start = _window_start(limit, now)
        with self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = insert(RateLimit).values(
                key=_key(self._secret, limit, subject), window_start=start, count=1
            )
            upsert = statement.on_conflict_do_update(
                index_elements=[RateLimit.key],
                set_={
                    "count": case((RateLimit.window_start == start, RateLimit.count + 1), else_=1),
                    "window_start": start,
                },
            ).returning(RateLimit.count)
            count = session.execute(upsert).scalar_one()
        return int(count) <= limit.requests

    def close(self) -> None:
        return None


def purge_rate_limits(session: Session, before: datetime) -> None:
    """Forget counters of windows that ended long ago."""
    session.execute(delete(RateLimit).where(RateLimit.window_start < before))
