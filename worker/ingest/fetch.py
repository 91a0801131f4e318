"""HTTP (and file://) fetching of feeds: conditional GET, redirects, timeouts, size caps.

The only module that talks HTTP to feed servers. It follows redirects itself
(to spot loops and permanent moves), decompresses the body itself (so the size
cap holds after decompression and a gzip bomb is stopped, not inflated), and
asks a :class:`HostGate` before each request, so many feeds on one small site
do not hammer it. Every failure becomes a :class:`FetchError` with a message an
operator understands.
"""

from __future__ import annotations

import email.utils
import http.client
import logging
import re
import ssl
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote, urljoin, urlsplit

import redis

from worker.core.errors import FetchError
from worker.core.types import FetchResult
from worker.security.proxy import Proxy, connect_through
from worker.settings import Settings

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024
_MAX_DISCARD = 64 * 1024
"""A redirect's or a 304's body is read (to reuse the connection) up to this much."""
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?[]"
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


class FetchStatusError(FetchError):
    """The server answered with an error status; it may have said when to come back."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class HostBusyError(FetchError):
    """The feed's host already has as many requests in flight as it may: try again soon."""


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Per-request politeness and redirect bounds (from the config's ``defaults``)."""

    max_redirects: int = 5
    host_concurrency: int = 2
    host_delay: float = 1.0
    """Seconds between the starts of two requests to the same host."""
    host_wait: float = 20.0
    """How long a poll waits for its host before it is deferred (not failed)."""
    proxy: str | None = field(default=None, repr=False)
    """Every request of the poll, redirects included, goes through this proxy URL."""
    circuit: str | None = None
    """The feed id: a SOCKS proxy without a user of its own gets one derived from it."""
    user_agent: str | None = None
    """Instead of the process-wide User-Agent."""


# --- per-host politeness -------------------------------------------------------


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


# --- response headers ------------------------------------------------------------


class _Headers(Protocol):
    """Case-insensitive header lookup (http.client's message, httpx's headers…)."""

    def get(self, name: str, /) -> str | None: ...


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _server_now(headers: _Headers) -> datetime:
    return _http_date(headers.get("Date")) or datetime.now(UTC)


def retry_after_seconds(headers: _Headers) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date relative to the server's Date."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = _http_date(value)
    if when is None:
        return None
    return max(0.0, (when - _server_now(headers)).total_seconds())


def fresh_for_seconds(headers: _Headers) -> float | None:
    """How long the server says the body stays fresh: max-age, else Expires minus Date."""
    cache_control = headers.get("Cache-Control") or ""
    if _NO_CACHE.search(cache_control):
        return None
    if m := _MAX_AGE.search(cache_control):
        return float(m.group(1))
    expires = _http_date(headers.get("Expires"))
    if expires is None:
        return None
    return max(0.0, (expires - _server_now(headers)).total_seconds())


def host_key(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    return f"{host}:{port}" if port else host


# --- decompression with a cap ------------------------------------------------------


class _Inflater:
    """Streaming gzip/deflate decoder that never produces more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._limit = limit
        self._size = 0
        self._started = False
        self._decoder = self._new()

    def _new(self, raw_deflate: bool = False) -> zlib._Decompress:
        if self._gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        while data:
            try:
                chunk = self._decoder.decompress(data, self._limit - self._size + 1)
            except zlib.error:
                if self._gzip or self._started:
                    raise
                # "deflate" is often sent raw, without the zlib header.
                self._decoder = self._new(raw_deflate=True)
                chunk = self._decoder.decompress(data, self._limit - self._size + 1)
            self._started = True
            self._size += len(chunk)
            if self._size > self._limit:
                raise FetchError(f"response larger than {self._limit:,} bytes after decompression")
            out.append(chunk)
            data = self._decoder.unconsumed_tail
            if not data and self._decoder.eof and self._decoder.unused_data[:2] == b"\x1f\x8b":
                data = self._decoder.unused_data  # another gzip member follows
                self._decoder = self._new()
        return b"".join(out)

    def flush(self) -> bytes:
        return self._decoder.flush()[: self._limit - self._size]


# --- the fetcher --------------------------------------------------------------------


class _Connections:
    """Idle keep-alive connections per (scheme, host, port), shared by threads.

    The standard library's http.client costs a fraction of a general-purpose
    client per request, which matters when hundreds of feeds answer 304.
    """

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls = ssl.create_default_context()
        self._idle: dict[tuple[str, str, int, Proxy | None], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def take(
        self, scheme: str, host: str, port: int, proxy: Proxy | None = None
    ) -> tuple[http.client.HTTPConnection, bool]:
        """A connection (reused if one is idle) and whether it was reused."""
        with self._lock:
            idle = self._idle.get((scheme, host, port, proxy))
            if idle:
                return idle.pop(), True
        connection: http.client.HTTPConnection
        if proxy is not None:
            connection = connect_through(
                proxy, scheme, host, port, timeout=self._connect_timeout, tls=self._tls
            )
            assert connection.sock is not None
            connection.sock.settimeout(self._read_timeout)
            return connection, False
        if scheme == "https":
            connection = http.client.HTTPSConnection(
                host, port, timeout=self._connect_timeout, context=self._tls
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        try:
            connection.connect()
        except TimeoutError as e:
            connection.close()
            raise FetchError(f"timed out after {self._connect_timeout:g}s connecting") from e
        except ssl.SSLError as e:
            connection.close()
            raise FetchError(f"TLS failed: {e.reason or e}") from e
        except OSError as e:
            connection.close()
            raise FetchError(f"cannot connect: {e.strerror or e}") from e
        assert connection.sock is not None
        connection.sock.settimeout(self._read_timeout)
        return connection, False

    def give_back(
        self,
        scheme: str,
        host: str,
        port: int,
        proxy: Proxy | None,
        connection: http.client.HTTPConnection,
    ) -> None:
        with self._lock:
            self._idle.setdefault((scheme, host, port, proxy), []).append(connection)

    def close(self) -> None:
        with self._lock:
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()


class Fetcher:
    """Fetches feed bodies; one instance per process keeps a connection pool."""

    def __init__(self, settings: Settings, gate: HostGate | None = None) -> None:
        self._read_timeout = settings.fetch_timeout
        self._total_timeout = settings.fetch_timeout * 2
        self._max_bytes = settings.max_feed_bytes
        self._gate = gate if gate is not None else default_gate(settings)
        self._connections = _Connections(min(10.0, settings.fetch_timeout), settings.fetch_timeout)
        self._headers = {
            "User-Agent": settings.user_agent,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
            "text/xml;q=0.9, */*;q=0.5",
            "Accept-Encoding": "gzip, deflate",
        }

    def close(self) -> None:
        self._connections.close()
        close = getattr(self._gate, "close", None)
        if close is not None:
            close()

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        limits: FetchLimits | None = None,
    ) -> FetchResult:
        """GET ``url``; a 304 comes back as a result with ``not_modified`` set.

        Raises :class:`FetchStatusError` for an error status,
        :class:`HostBusyError` when the host has no free slot, and
        :class:`FetchError` for everything else that went wrong.
        """
        if urlsplit(url).scheme == "file":
            return FetchResult(url=url, status=200, body=self._read_file(url))
        limits = limits or FetchLimits()
        headers = dict(self._headers)
        if limits.user_agent:
            headers["User-Agent"] = limits.user_agent
        proxy = Proxy.parse(limits.proxy).for_feed(limits.circuit) if limits.proxy else None
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        chain = [url]
        moved_to: str | None = None
        permanent = True
        while True:
            current = chain[-1]
            with self._gate.slot(
                host_key(current),
                concurrency=limits.host_concurrency,
                delay=limits.host_delay,
                wait=limits.host_wait,
                lease=self._total_timeout + 30,
            ):
                target, status = self._get(current, headers, etag, last_modified, moved_to, proxy)
            if isinstance(target, FetchResult):
                return target
            permanent = permanent and status in PERMANENT_REDIRECTS
            if permanent:
                moved_to = target
            if target in chain:
                raise FetchError(
                    "redirect loop: " + " → ".join([*chain[chain.index(target) :], target])
                )
            if len(chain) > limits.max_redirects:
                raise FetchError(f"more than {limits.max_redirects} redirects (last to {target})")
            chain.append(target)

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
        moved_to: str | None,
        proxy: Proxy | None = None,
    ) -> tuple[FetchResult | str, int]:
        """One request: a result, or where it redirects to and with which status."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise FetchError(f"invalid URL: {url[:200]}") from e
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"invalid URL: {url[:200]}")
        try:
            host = parts.hostname.encode("idna").decode("ascii")  # internationalised names
        except UnicodeError as e:
            raise FetchError(f"invalid host name in {url[:200]}") from e
        target = quote(parts.path or "/", safe=_SAFE_PATH) + (
            "?" + quote(parts.query, safe=_SAFE_QUERY) if parts.query else ""
        )
        if proxy is not None and proxy.absolute_uri and parts.scheme == "http":
            target = f"http://{parts.netloc.rpartition('@')[2]}{target}"
            headers = {**headers, **proxy.authorization()}
        deadline = time.monotonic() + self._total_timeout
        connection, reused = self._connections.take(parts.scheme, host, port, proxy)
        keep = False
        try:
            try:
                response = _send(connection, target, headers)
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                if not reused:
                    raise
                connection.close()  # the server closed the idle connection: one fresh try
                connection, _ = self._connections.take(parts.scheme, host, port, proxy)
                response = _send(connection, target, headers)
            result = self._handle(url, response, deadline, etag, last_modified, moved_to)
            keep = not response.will_close and response.isclosed()
            return result
        except TimeoutError as e:
            raise FetchError(f"timed out after {self._read_timeout:g}s waiting for data") from e
        except http.client.HTTPException as e:
            raise FetchError(f"the server broke the HTTP protocol: {_describe(e)}") from e
        except ssl.SSLError as e:
            raise FetchError(f"TLS failed: {e.reason or e}") from e
        except OSError as e:
            raise FetchError(f"connection failed: {e.strerror or e}") from e
        except zlib.error as e:
            raise FetchError(f"the response could not be decompressed: {e}") from e
        finally:
            if keep:
                self._connections.give_back(parts.scheme, host, port, proxy, connection)
            else:
                connection.close()

    def _handle(
        self,
        url: str,
        response: http.client.HTTPResponse,
        deadline: float,
        etag: str | None,
        last_modified: str | None,
        moved_to: str | None,
    ) -> tuple[FetchResult | str, int]:
        status = response.status
        headers = response.headers
        if status in REDIRECT_STATUSES:
            location = headers.get("Location")
            response.read(_MAX_DISCARD)
            if not location:
                raise FetchError(f"HTTP {status} redirect without a Location header")
            target = urljoin(url, location.strip())
            if urlsplit(target).scheme not in ("http", "https"):
                raise FetchError(f"redirect to an unsupported URL: {target[:200]}")
            return target, status
        if status == 304:
            response.read(_MAX_DISCARD)
            return FetchResult(
                url=url,
                status=304,
                etag=headers.get("ETag") or etag,
                last_modified=headers.get("Last-Modified") or last_modified,
                fresh_for=fresh_for_seconds(headers),
                moved_to=moved_to,
            ), status
        if not 200 <= status < 300:
            raise _status_error(status, response.reason, headers)
        body = self._read_body(response, deadline)
        return FetchResult(
            url=url,
            status=status,
            body=body,
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            content_type=headers.get("Content-Type"),
            fresh_for=fresh_for_seconds(headers),
            moved_to=moved_to,
        ), status

    def _read_body(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        encodings = [
            e.strip().lower()
            for e in (response.headers.get("Content-Encoding") or "").split(",")
            if e.strip() and e.strip().lower() != "identity"
        ]
        if len(encodings) > 1 or (encodings and encodings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"unsupported Content-Encoding {', '.join(encodings)!r}")
        length = response.headers.get("Content-Length") or ""
        if length.isdigit() and int(length) > self._max_bytes:
            raise FetchError(
                f"response larger than {self._max_bytes:,} bytes (Content-Length {int(length):,})"
            )
        inflater = _Inflater(encodings[0], self._max_bytes) if encodings else None
        chunks: list[bytes] = []
        size = received = 0
        while raw := response.read1(_CHUNK):
            if time.monotonic() > deadline:
                raise FetchError(f"download took longer than {self._total_timeout:g}s")
            received += len(raw)
            chunk = inflater.feed(raw) if inflater else raw
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(f"response larger than {self._max_bytes:,} bytes")
            chunks.append(chunk)
        if length.isdigit() and received < int(length):
            raise FetchError(
                f"the server broke the HTTP protocol: the body ended after {received:,} of "
                f"{int(length):,} bytes"
            )
        if inflater:
            chunks.append(inflater.flush())
        return b"".join(chunks)

    def _read_file(self, url: str) -> bytes:
        path = Path(unquote(urlsplit(url).path))
        try:
            size = path.stat().st_size
            if size > self._max_bytes:
                raise FetchError(f"file larger than {self._max_bytes:,} bytes")
            return path.read_bytes()
        except FileNotFoundError as e:
            raise FetchError(f"file not found: {path}") from e
        except OSError as e:
            raise FetchError(f"cannot read {path}: {e.strerror}") from e


def _describe(error: http.client.HTTPException) -> str:
    """The error in a few printable words (servers can answer with any bytes)."""
    if isinstance(error, http.client.RemoteDisconnected):
        return "it closed the connection without answering"
    if isinstance(error, http.client.IncompleteRead):
        return f"the body ended after {len(error.partial):,} bytes"
    detail = "".join(c if c.isprintable() else "?" for c in str(error))[:80]
    return f"{type(error).__name__} {detail!r}" if detail else type(error).__name__


def _send(
    connection: http.client.HTTPConnection, target: str, headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection.request("GET", target, headers=headers)
    return connection.getresponse()


def _status_error(status: int, reason: str, headers: _Headers) -> FetchStatusError:
    retry_after = retry_after_seconds(headers)
    message = f"HTTP {status} {reason}".strip()
    if status == 410:
        message += ": the server says this feed was removed for good"
    elif status < 200 or 300 <= status < 400:
        message = f"unexpected HTTP {status} {reason}".strip()
    if retry_after is not None:
        message += f" (asked to come back in {retry_after:g}s)"
    return FetchStatusError(message, status=status, retry_after=retry_after)


def fetch_url(
    url: str, settings: Settings | None = None, limits: FetchLimits | None = None
) -> bytes:
    """One-off GET for the CLI (``rightswatch match URL``), through ``limits.proxy`` if set."""
    from worker.settings import load_settings

    fetcher = Fetcher(settings or load_settings(), gate=LocalHostGate())
    try:
        return fetcher.fetch(url, limits=limits).body
    finally:
        fetcher.close()
