"""Per-host politeness: at most N requests in flight to one host, starts spaced apart.

Many feeds live on one small NGO site (and every Telegram channel on t.me), so
the limit is per host, not per feed, and across every worker process: in Redis
when the broker is Redis, else within this process.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol
from urllib.parse import urlsplit

import redis

from worker.core.errors import HostBusyError
from worker.settings import Settings

log = logging.getLogger(__name__)


class HostGate(Protocol):
    """At most ``concurrency`` requests in flight per host, starts ``delay`` seconds apart."""

    def slot(
        self, host: str, *, concurrency: int, delay: float, wait: float, lease: float
    ) -> AbstractContextManager[None]: ...


class LocalHostGate:
    """The limit within one process (the embedded mode, or no Redis)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active: Counter[str] = Counter()
        self._next_start: dict[str, float] = {}

    @contextmanager
    def slot(
        self, host: str, *, concurrency: int, delay: float, wait: float, lease: float
    ) -> Iterator[None]:
        deadline = time.monotonic() + wait
        with self._condition:
            while True:
                now = time.monotonic()
                pause = self._next_start.get(host, 0.0) - now
                if self._active[host] < concurrency and pause <= 0:
                    break
                if now >= deadline:
                    raise HostBusyError(f"{host} is busy (waited {wait:g}s for a free slot)")
                self._condition.wait(min(deadline - now, pause if pause > 0 else deadline - now))
            self._active[host] += 1
            self._next_start[host] = now + delay
        try:
            yield
        finally:
            with self._condition:
                self._active[host] -= 1
                self._condition.notify_all()


_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local next_start = tonumber(redis.call('GET', KEYS[2]) or '0')
if next_start > now then return next_start - now end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return -1 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[2], now + tonumber(ARGV[2]), 'PX', tonumber(ARGV[2]))
end
return 0
"""


class RedisHostGate:
    """The limit across every worker process and machine, kept in Redis.

    Each request holds a lease (a sorted-set member that expires, so a killed
    worker's slot comes back); the Redis server's clock spaces the starts.
    If Redis cannot be reached the gate falls back to the in-process limit.
    """

    def __init__(self, url: str, prefix: str = "rightswatch:host:") -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._acquire = self._client.register_script(_ACQUIRE)
        self._prefix = prefix
        self._fallback = LocalHostGate()

    @contextmanager
    def slot(
        self, host: str, *, concurrency: int, delay: float, wait: float, lease: float
    ) -> Iterator[None]:
        keys = [f"{self._prefix}{host}:leases", f"{self._prefix}{host}:next"]
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        try:
            while True:
                pause_ms = int(
                    self._acquire(keys, [concurrency, int(delay * 1000), int(lease * 1000), token])
                )
                if pause_ms == 0:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HostBusyError(f"{host} is busy (waited {wait:g}s for a free slot)")
                time.sleep(min(remaining, pause_ms / 1000 if pause_ms > 0 else 0.05))
        except redis.RedisError as e:
            log.warning("per-host limit falls back to this process: Redis: %s", e)
            with self._fallback.slot(
                host, concurrency=concurrency, delay=delay, wait=wait, lease=lease
            ):
                yield
            return
        try:
            yield
        finally:
            try:
                self._client.zrem(keys[0], token)
            except redis.RedisError as e:
                log.warning("could not release the slot for %s (it expires): %s", host, e)

    def close(self) -> None:
        self._client.close()


def default_gate(settings: Settings) -> HostGate:
    """Redis when the broker is Redis (all workers share the limit), else this process."""
    url = settings.broker_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHostGate(url)
    return LocalHostGate()


def host_key(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return f"{host}:{port}" if port else host
