"""HTTP (and file://) fetching of feeds: conditional GET, timeouts, a size cap.

The only module that talks HTTP to feed servers. Every failure becomes a
:class:`FetchError` with a message an operator understands.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from worker.errors import FetchError
from worker.settings import Settings
from worker.types import FetchResult

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class Fetcher:
    """Fetches feed bodies; one instance per process keeps a connection pool."""

    def __init__(self, settings: Settings) -> None:
        self._timeout = settings.fetch_timeout
        self._max_bytes = settings.max_feed_bytes
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                settings.fetch_timeout, connect=min(10.0, settings.fetch_timeout)
            ),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                "text/xml;q=0.9, */*;q=0.5",
            },
        )

    def close(self) -> None:
        self._client.close()

    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url``; a 304 comes back as a result with ``not_modified`` set."""
        if urlsplit(url).scheme == "file":
            return FetchResult(url=url, status=200, body=self._read_file(url))
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        deadline = time.monotonic() + self._timeout * 2
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return FetchResult(
                        url=str(response.url), status=304, etag=etag, last_modified=last_modified
                    )
                if response.status_code >= 400:
                    raise FetchError(
                        f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                        status=response.status_code,
                    )
                body = self._read_capped(response, deadline)
                return FetchResult(
                    url=str(response.url),
                    status=response.status_code,
                    body=body,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                    content_type=response.headers.get("Content-Type"),
                )
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out after {self._timeout:g}s ({type(e).__name__})") from e
        except httpx.TooManyRedirects as e:
            raise FetchError(f"more than {MAX_REDIRECTS} redirects") from e
        except httpx.ConnectError as e:
            raise FetchError(f"cannot connect: {e}") from e
        except httpx.DecodingError as e:
            raise FetchError(f"the response could not be decompressed: {e}") from e
        except httpx.HTTPError as e:
            raise FetchError(f"{type(e).__name__}: {e}") from e

    def _read_capped(self, response: httpx.Response, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes(_CHUNK):
            size += len(chunk)
            if size > self._max_bytes:
                raise FetchError(f"response larger than {self._max_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise FetchError(f"download took longer than {self._timeout * 2:g}s")
            chunks.append(chunk)
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


def fetch_url(url: str, settings: Settings | None = None) -> bytes:
    """One-off GET for the CLI (``rightswatch match URL``)."""
    from worker.settings import load_settings

    fetcher = Fetcher(settings or load_settings())
    try:
        return fetcher.fetch(url).body
    finally:
        fetcher.close()
