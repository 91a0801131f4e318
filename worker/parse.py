"""Feed bodies → :class:`ParsedFeed`, through feedparser.

The only module that imports feedparser. feedparser's SAX parser does not
resolve external entities, and the expat it runs on refuses billion-laughs
expansion; a body that is not a feed (an HTML page, JSON, nothing) becomes a
:class:`ParseError` that says what was received instead.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from typing import Any

import feedparser

from worker.errors import ParseError
from worker.types import ParsedEntry, ParsedFeed

# Warnings feedparser raises for feeds it read correctly (a text/plain content
# type, an encoding declared one way and served another).
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    head = body[:512].lstrip().lower()
    return (content_type or "").startswith("text/html") or head.startswith(
        (b"<!doctype html", b"<html")
    )


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError):
                continue
    return None


def _content_html(entry: Any) -> str:
    parts = [c.get("value", "") for c in entry.get("content", []) or []]
    return "\n".join(p for p in parts if p)


def parse_feed(body: bytes, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse RSS/Atom bytes; raise ParseError when nothing feed-like is there."""
    if not body.strip():
        raise ParseError("the response was empty")
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    result = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    version = result.get("version") or ""
    entries = tuple(
        entry
        for entry in (
            ParsedEntry(
                guid=(e.get("id") or None),
                link=(e.get("link") or None),
                title=e.get("title", "") or "",
                summary_html=e.get("summary", "") or "",
                content_html=_content_html(e),
                published=_when(e),
                language=(e.get("language") or None),
            )
            for e in result.entries
        )
        if entry.guid or entry.link or entry.title.strip() or entry.summary_html.strip()
    )
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(bozo, _BENIGN):
        bozo = None
    problem = f"malformed feed: {bozo}" if bozo else None
    if not entries and (problem or not version):
        if _looks_like_html(body, content_type):
            raise ParseError("the server returned an HTML page, not a feed")
        if body.lstrip()[:1] in (b"{", b"["):
            raise ParseError("the server returned JSON, not an RSS or Atom feed")
        reason = f" ({bozo})" if bozo else ""
        raise ParseError(f"not an RSS or Atom feed{reason}")
    feed = result.get("feed", {})
    return ParsedFeed(
        title=feed.get("title") or None,
        entries=entries,
        language=(feed.get("language") or None),
        problem=problem,
    )
