"""Every kind of source as a feed: fetch it, parse it into the same :class:`ParsedFeed`.

RSS and Atom (:mod:`worker.ingest.parse`), JSON Feed (:mod:`.json_feed`), pages
without a feed read with CSS selectors (:mod:`.page`) and public Telegram
channels (:mod:`.telegram`) all come out as :class:`ParsedFeed` values, so
dedup, matching, storage and the outbox do not know which kind they read. The
poll chooses by the feed's :class:`SourceSpec` (from its configuration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from worker.core.errors import ParseError
from worker.core.types import FetchResult, ParsedFeed
from worker.ingest.fetch import Fetcher, FetchLimits
from worker.ingest.host_gate import LocalHostGate
from worker.ingest.parse import parse_feed
from worker.ingest.sources import discovery, json_feed, page, telegram
from worker.settings import Settings

SourceKind = Literal["auto", "rss", "atom", "json", "html", "telegram"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What a feed's URL serves and how to read it."""

    kind: SourceKind = "auto"
    """``auto``: RSS, Atom or JSON Feed, told apart by the content type and the body."""
    html: page.HtmlRules | None = None
    """The selectors of an ``html`` source."""
    telegram_backfill: int = 50
    """A Telegram channel's first poll reads back this many posts; later polls at most
    this many, back to the newest one seen before."""


def fetch_source(
    fetcher: Fetcher,
    spec: SourceSpec,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits | None = None,
    cursor: str | None = None,
) -> FetchResult:
    """One poll's body: one request, or for a Telegram channel a walk over its pages."""
    limits = limits or FetchLimits()
    if spec.kind == "telegram":
        return telegram.fetch_channel(
            fetcher,
            url,
            etag=etag,
            last_modified=last_modified,
            limits=limits,
            last_seen=int(cursor) if cursor and cursor.isdigit() else None,
            backfill=spec.telegram_backfill,
        )
    return fetcher.fetch(url, etag=etag, last_modified=last_modified, limits=limits)


def fetch_once(
    settings: Settings, spec: SourceSpec, url: str, limits: FetchLimits | None = None
) -> FetchResult:
    """One-off fetch for the CLI (``rightswatch match URL``, ``feeds discover``), through
    ``limits.proxy`` if set; the poll's host gate is not consulted."""
    fetcher = Fetcher(settings, gate=LocalHostGate())
    try:
        return fetch_source(fetcher, spec, url, limits=limits)
    finally:
        fetcher.close()


def parse_source(
    spec: SourceSpec, body: bytes, url: str = "", content_type: str | None = None
) -> ParsedFeed:
    """The body as entries; ParseError saying what was received when it cannot be read.

    A web page where a feed was expected names the feeds it advertises.
    """
    if spec.kind == "telegram":
        return telegram.parse_channel(body, url, content_type, spec.telegram_backfill)
    if spec.kind == "html":
        if spec.html is None:
            raise ParseError("an html source needs its selectors")
        return page.parse_page(body, url, content_type, spec.html)
    if spec.kind == "json" or (
        spec.kind == "auto" and json_feed.looks_like_json(body, content_type)
    ):
        return json_feed.parse_json_feed(body, url)
    try:
        return parse_feed(body, url, content_type)
    except ParseError as e:
        if not _looks_like_html(body, content_type):
            raise
        advertised = discovery.advertised_feeds(body, url, content_type)
        if not advertised:
            raise
        raise ParseError(f"{e}; it advertises {discovery.describe(advertised)}") from e


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/xhtml+xml") or b"<html" in body[:4096].lower()
