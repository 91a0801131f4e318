"""HTTP/1.1 on the wire for feed fetching: pooled connections, capped decompression, and
the response headers that say when to come back.

Why the standard library's ``http.client`` and not httpx: a poll is mostly a
conditional GET answered 304, and at hundreds of feeds a minute the client's own
cost per request dominates — http.client costs a fraction of httpx's (measured in
the ingest benchmark's 304 path). Every hop of a redirect chain must go through
the feed's own proxy circuit (SOCKS5 with a per-feed user name, or an HTTP proxy),
which :mod:`worker.security.proxy` builds as a connected socket for http.client; and
the body is decompressed here, chunk by chunk, so the size cap holds after
decompression (a gzip bomb is stopped, not inflated). Webhooks, where these
costs do not matter and the SSRF guard does, use httpx (:mod:`worker.notify.webhook`).
"""

from __future__ import annotations

import http.client
import ssl
import threading
import zlib
from datetime import UTC, datetime
from typing import Protocol

from worker.core.errors import FetchError, FetchStatusError
from worker.core.http_headers import fresh_for_seconds as _fresh_for
from worker.core.http_headers import http_date
from worker.core.http_headers import retry_after_seconds as _retry_after
from worker.security.proxy import Proxy, connect, connect_pinned, connect_through


class Headers(Protocol):
    """Case-insensitive header lookup (http.client's message, httpx's headers…)."""

    def get(self, name: str, /) -> str | None: ...


def _server_now(headers: Headers) -> datetime:
    return http_date(headers.get("Date")) or datetime.now(UTC)


def retry_after_seconds(headers: Headers) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date relative to the server's Date."""
    return _retry_after(headers.get("Retry-After"), _server_now(headers))


def fresh_for_seconds(headers: Headers) -> float | None:
    """How long the server says the body stays fresh: max-age, else Expires minus Date."""
    return _fresh_for(headers.get("Cache-Control"), headers.get("Expires"), _server_now(headers))


def status_error(status: int, reason: str, headers: Headers) -> FetchStatusError:
    retry_after = retry_after_seconds(headers)
    message = f"HTTP {status} {reason}".strip()
    if status == 410:
        message += ": the server says this feed was removed for good"
    elif status < 200 or 300 <= status < 400:
        message = f"unexpected HTTP {status} {reason}".strip()
    if retry_after is not None:
        message += f" (asked to come back in {retry_after:g}s)"
    return FetchStatusError(message, status=status, retry_after=retry_after)


# --- decompression with a cap ------------------------------------------------------


class Inflater:
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


# --- connections ------------------------------------------------------------------


_Key = tuple[str, str, int, Proxy | None, tuple[str, ...] | None]
"""scheme, host, port, proxy, and the addresses a redirect's check pinned the host to."""


class Connections:
    """Idle keep-alive connections per (scheme, host, port, proxy, pinned address), shared
    by threads.

    The standard library's http.client costs a fraction of a general-purpose
    client per request, which matters when hundreds of feeds answer 304.
    """

    def __init__(self, connect_timeout: float, read_timeout: float) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._tls = ssl.create_default_context()
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def take(
        self,
        scheme: str,
        host: str,
        port: int,
        proxy: Proxy | None = None,
        pinned: tuple[str, ...] | None = None,
    ) -> tuple[http.client.HTTPConnection, bool]:
        """A connection (reused if one is idle) and whether it was reused; ``pinned``:
        connect to one of these addresses, not wherever ``host`` resolves now."""
        with self._lock:
            idle = self._idle.get((scheme, host, port, proxy, pinned))
            if idle:
                return idle.pop(), True
        connection: http.client.HTTPConnection
        if proxy is not None:
            connection = connect_through(
                proxy, scheme, host, port, timeout=self._connect_timeout, tls=self._tls
            )
        elif pinned is not None:
            connection = connect_pinned(
                pinned, scheme, host, port, timeout=self._connect_timeout, tls=self._tls
            )
        elif scheme == "https":
            connection = connect(
                http.client.HTTPSConnection(
                    host, port, timeout=self._connect_timeout, context=self._tls
                ),
                self._connect_timeout,
            )
        else:
            connection = connect(
                http.client.HTTPConnection(host, port, timeout=self._connect_timeout),
                self._connect_timeout,
            )
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
        pinned: tuple[str, ...] | None = None,
    ) -> None:
        with self._lock:
            self._idle.setdefault((scheme, host, port, proxy, pinned), []).append(connection)

    def close(self) -> None:
        with self._lock:
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()


def describe(error: http.client.HTTPException) -> str:
    """The error in a few printable words (servers can answer with any bytes)."""
    if isinstance(error, http.client.RemoteDisconnected):
        return "it closed the connection without answering"
    if isinstance(error, http.client.IncompleteRead):
        return f"the body ended after {len(error.partial):,} bytes"
    detail = "".join(c if c.isprintable() else "?" for c in str(error))[:80]
    return f"{type(error).__name__} {detail!r}" if detail else type(error).__name__


def send(
    connection: http.client.HTTPConnection, target: str, headers: dict[str, str]
) -> http.client.HTTPResponse:
    connection.request("GET", target, headers=headers)
    return connection.getresponse()
