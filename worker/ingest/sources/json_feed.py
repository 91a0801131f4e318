"""JSON Feed (1.0 and 1.1, https://jsonfeed.org/version/1.1) → :class:`ParsedFeed`.

The body is already capped in size by the fetch; nesting deep enough to exhaust
the parser's recursion, numbers too long to convert and values of the wrong
type end as a :class:`ParseError` or are skipped, never as a crash. Text fields
(``content_text``, ``summary``) are escaped, so that a ``<`` in them stays text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urljoin

from worker.core.errors import ParseError
from worker.core.types import ParsedEntry, ParsedFeed
from worker.ingest.parse import MAX_ENTRIES

VERSION_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """Served as JSON, or starting like a JSON object."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind.endswith(("/json", "+json")) or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as e:  # JSONDecodeError, UnicodeDecodeError: ValueError
        raise ParseError(f"the server returned broken JSON ({_reason(e)})") from e
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise ParseError("the server returned JSON, not a feed (no jsonfeed.org version)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("the JSON Feed has no items list")
    base = _text(document.get("feed_url")) or _text(document.get("home_page_url")) or url
    base = urljoin(url, base)
    entries = tuple(
        entry
        for item in items[:MAX_ENTRIES]
        if isinstance(item, dict) and (entry := _entry(item, base)) is not None
    )
    many = len(items) > MAX_ENTRIES
    return ParsedFeed(
        title=_text(document.get("title")),
        entries=entries,
        language=_text(document.get("language")),
        problem=(
            f"the feed lists {len(items):,} items; only the first {MAX_ENTRIES:,} were read"
            if many
            else None
        ),
        hub=_websub_hub(document.get("hubs"), url),
        self_url=urljoin(url, feed_url) if (feed_url := _text(document.get("feed_url"))) else None,
    )


def _websub_hub(hubs: Any, url: str) -> str | None:
    """The first ``{"type": "WebSub", "url": …}`` of the feed's ``hubs`` (JSON Feed 1.1)."""
    for hub in hubs if isinstance(hubs, list) else ():
        websub = isinstance(hub, dict) and str(hub.get("type", "")).lower() == "websub"
        if websub and (found := _text(hub.get("url"))):
            return urljoin(url, found)
    return None


def _reason(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).splitlines()[0][:200]


def _text(value: Any) -> str | None:
    """A string field; anything else (a number, a list) counts as absent."""
    return value.strip() or None if isinstance(value, str) else None


def _entry(item: dict[str, Any], base: str) -> ParsedEntry | None:
    raw_id = item.get("id")
    usable_id = isinstance(raw_id, str | int) and not isinstance(raw_id, bool)
    guid = str(raw_id).strip() if usable_id else None
    link = _text(item.get("url")) or _text(item.get("external_url"))
    html = _text(item.get("content_html"))
    text = _text(item.get("content_text"))
    summary = _text(item.get("summary"))
    content = html or (escape(text) if text else "")
    title = _text(item.get("title")) or ""
    if not (title or content or summary):  # nothing to read, nothing to match
        return None
    return ParsedEntry(
        guid=guid or None,
        link=urljoin(base, link) if link else None,
        title=escape(title),
        summary_html=escape(summary) if summary else content,
        content_html=content,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        language=_text(item.get("language")),
    )


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date; anything unreadable is no date."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
