"""The feeds an HTML page advertises (``<link rel="alternate" type="application/rss+xml">``).

Used when a configured feed URL serves a web page instead of a feed, so the
error says which feed URL to configure, and by ``rightswatch feeds discover``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from worker.core.errors import ParseError
from worker.ingest.sources.html_tree import read_html, select

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
}
MAX_ADVERTISED = 20
"""A page advertising more feeds than this is listed by its first ones."""


@dataclass(frozen=True, slots=True)
class Advertised:
    """One feed a page links to."""

    url: str
    """Absolute, resolved against the page's URL (and its ``<base href>``)."""
    type: str
    """rss, atom or json."""
    title: str | None


def advertised_feeds(body: bytes, url: str, content_type: str | None = None) -> list[Advertised]:
    """The feeds in the page's ``<link rel="alternate">`` elements, in page order, once each."""
    try:
        root = read_html(body, content_type).root
    except ParseError:
        return []
    base = url
    for element in select(root, "base[href]")[:1]:
        base = urljoin(url, (element.get("href") or "").strip())
    found: dict[str, Advertised] = {}
    for link in select(root, "link[rel][type][href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((link.get("type") or "").split(";")[0].strip().lower())
        href = urljoin(base, (link.get("href") or "").strip())
        if "alternate" not in rel or kind is None or urlsplit(href).scheme not in ("http", "https"):
            continue
        title = " ".join((link.get("title") or "").split()) or None
        found.setdefault(href, Advertised(href, kind, title))
        if len(found) == MAX_ADVERTISED:
            break
    return list(found.values())


def describe(feeds: list[Advertised], limit: int = 3) -> str:
    """``https://…/feed (rss), https://…/atom (atom)`` for an error message."""
    listed = ", ".join(f"{f.url} ({f.type})" for f in feeds[:limit])
    more = len(feeds) - limit
    return listed + (f" and {more} more" if more > 0 else "")
