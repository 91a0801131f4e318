"""Fetching one feed: conditional GET, redirects, per-host politeness, timeouts, size caps.

The only module that asks feed servers for anything. It follows redirects itself
(to spot loops and permanent moves), asks a :class:`~worker.ingest.host_gate.HostGate`
before each request so many feeds on one small site do not hammer it, and turns
every failure into a :class:`~worker.core.errors.FetchError` with a message an
operator understands. The wire format lives in :mod:`worker.ingest.http`.

A redirect from a feed on a public address to a loopback, private, link-local
or metadata address is refused (SSRF): a hostile feed could otherwise make the
service GET internal admin pages, or move the feed there with a 301. Without a
proxy the target is resolved here; through a proxy, only a target given as an
address can be checked (the proxy resolves names). Without a proxy a redirect's
host is resolved once, checked, and connected to at the very addresses checked, so
a DNS answer that changes between check and connect (rebinding) cannot move it.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import ssl
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from worker.core.errors import FetchError
from worker.core.types import FetchResult
from worker.core.websub import link_rels
from worker.ingest.host_gate import HostGate, default_gate, host_key
from worker.ingest.http import (
    Connections,
    Inflater,
    describe,
    fresh_for_seconds,
    send,
    status_error,
)
from worker.security.destinations import Resolver, redirect_addresses, system_resolver
from worker.security.proxy import Proxy
from worker.settings import Settings

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
_CHUNK = 64 * 1024
_MAX_DISCARD = 64 * 1024
"""A redirect's or a 304's body is read (to reuse the connection) up to this much."""
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?[]"


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
    require_proxy: bool = False
    """``fetch.require_proxy``: a request without a proxy is refused, not sent directly."""


class Fetcher:
    """Fetches feed bodies; one instance per process keeps a connection pool."""

    def __init__(
        self, settings: Settings, gate: HostGate | None = None, resolve: Resolver = system_resolver
    ) -> None:
        self._resolve = resolve
        self._read_timeout = settings.fetch_timeout
        self._total_timeout = settings.fetch_timeout * 2
        self._max_bytes = settings.max_feed_bytes
        self._gate = gate if gate is not None else default_gate(settings)
        self._connections = Connections(min(10.0, settings.fetch_timeout), settings.fetch_timeout)
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
        if limits.require_proxy and not limits.proxy:
            raise FetchError(
                "fetch.require_proxy is on and no proxy is configured for this URL "
                "(set fetch.proxy, or use the configured feed's exact URL)"
            )
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
        pinned: tuple[str, ...] | None = None
        connected: str | None = None
        while True:
            current = chain[-1]
            with self._gate.slot(
                host_key(current),
                concurrency=limits.host_concurrency,
                delay=limits.host_delay,
                wait=limits.host_wait,
                lease=self._total_timeout + 30,
            ):
                target, status, peer = self._get(
                    current, headers, etag, last_modified, moved_to, proxy, pinned
                )
            if isinstance(target, FetchResult):
                return target
            connected = connected or peer
            permanent = permanent and status in PERMANENT_REDIRECTS
            if permanent:
                moved_to = target
            if target in chain:
                raise FetchError(
                    "redirect loop: " + " → ".join([*chain[chain.index(target) :], target])
                )
            if len(chain) > limits.max_redirects:
                raise FetchError(f"more than {limits.max_redirects} redirects (last to {target})")
            pinned = self._check_redirect(url, target, proxy, connected)
            chain.append(target)

    def _check_redirect(
        self, origin: str, target: str, proxy: Proxy | None, connected: str | None
    ) -> tuple[str, ...] | None:
        """The addresses the redirect's next request connects to (None: through the proxy,
        which resolves the name itself); ``connected``: where the feed's answer came from."""
        origin_host = urlsplit(origin).hostname or ""
        parts = urlsplit(target)
        target_host = parts.hostname or ""
        if proxy is not None and not _is_address(target_host):
            return None  # the proxy resolves the name; we cannot know where it points
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise FetchError(f"invalid URL: {target[:200]}") from e
        addresses = redirect_addresses(
            origin_host, target_host, port, self._resolve, connected=connected
        )
        return None if proxy is not None else addresses

    def _get(
        self,
        url: str,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
        moved_to: str | None,
        proxy: Proxy | None = None,
        pinned: tuple[str, ...] | None = None,
    ) -> tuple[FetchResult | str, int, str | None]:
        """One request: a result, or where it redirects to and with which status; and the
        address that answered (None through a proxy)."""
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
        connection, reused = self._connections.take(parts.scheme, host, port, proxy, pinned)
        keep = False
        try:
            try:
                peer = _peer(connection, proxy)
                response = send(connection, target, headers)
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                if not reused:
                    raise
                connection.close()  # the server closed the idle connection: one fresh try
                connection, _ = self._connections.take(parts.scheme, host, port, proxy, pinned)
                peer = _peer(connection, proxy)
                response = send(connection, target, headers)
            result, status = self._handle(url, response, deadline, etag, last_modified, moved_to)
            keep = not response.will_close and response.isclosed()
            return result, status, peer
        except TimeoutError as e:
            raise FetchError(f"timed out after {self._read_timeout:g}s waiting for data") from e
        except http.client.HTTPException as e:
            raise FetchError(f"the server broke the HTTP protocol: {describe(e)}") from e
        except ssl.SSLError as e:
            raise FetchError(f"TLS failed: {e.reason or e}") from e
        except OSError as e:
            raise FetchError(f"connection failed: {e.strerror or e}") from e
        except zlib.error as e:
            raise FetchError(f"the response could not be decompressed: {e}") from e
        finally:
            if keep:
                self._connections.give_back(parts.scheme, host, port, proxy, connection, pinned)
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
            raise status_error(status, response.reason, headers)
        body = self._read_body(response, deadline)
        links = link_rels(", ".join(headers.get_all("Link") or ()))
        return FetchResult(
            url=url,
            status=status,
            body=body,
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            content_type=headers.get("Content-Type"),
            fresh_for=fresh_for_seconds(headers),
            moved_to=moved_to,
            hub=urljoin(url, links["hub"]) if "hub" in links else None,
            self_url=urljoin(url, links["self"]) if "self" in links else None,
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
        inflater = Inflater(encodings[0], self._max_bytes) if encodings else None
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


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _peer(connection: http.client.HTTPConnection, proxy: Proxy | None) -> str | None:
    """The address a direct connection is connected to (None through a proxy)."""
    if proxy is not None or connection.sock is None:
        return None
    try:
        return str(connection.sock.getpeername()[0])
    except OSError:
        return None
