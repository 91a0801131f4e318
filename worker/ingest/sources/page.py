"""A page without a feed → entries, with the operator's CSS selectors.

Each element the ``item`` selector matches is an entry: its title from the
``title`` selector (else its first heading, else its first link's text), its
link from ``link`` (else its first ``a@href``), resolved against the page's URL,
its date from ``date``, and its whole text as the entry's content, so a name
anywhere in a court list's row is matched. A link that several items share (a
"details" page) identifies none of them: such items, and items without a link,
get a GUID from their text, so reordering the rows makes nothing new. A
selector that matches nothing is an error, never an empty feed.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from worker.core.errors import ParseError
from worker.core.selectors import Pick
from worker.core.types import ParsedEntry, ParsedFeed
from worker.ingest.parse import MAX_ENTRIES
from worker.ingest.sources.html_tree import (
    Element,
    first,
    outer_html,
    pick,
    read_html,
    select,
    shorten,
    text_of,
)

_HEADINGS = "h1, h2, h3, h4, h5, h6"
_DEFAULT_LINK = Pick("a", "href")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")
"""Day first, as court and NGO sites of the region write dates (25.11.2026, 25/11/2026)."""


@dataclass(frozen=True, slots=True)
class HtmlRules:
    """The selectors of one page (from the feed's ``html:`` mapping)."""

    item: str
    title: Pick | None = None
    link: Pick | None = None
    date: Pick | None = None
    summary: Pick | None = None


def parse_page(body: bytes, url: str, content_type: str | None, rules: HtmlRules) -> ParsedFeed:
    page = read_html(body, content_type)
    items = select(page.root, rules.item)
    if not items:
        reason = f" ({page.problem})" if page.problem else ""
        raise ParseError(f"selector {rules.item!r} matched no items{reason}")
    base = _base_url(page.root, url)
    read = [_entry(item, rules, base) for item in items[:MAX_ENTRIES]]
    shared = {link for link, n in Counter(e.link for e, _ in read if e.link).items() if n > 1}
    entries = [_with_guid(e, text) if not e.link or e.link in shared else e for e, text in read]
    title = first(page.root, "title")
    problem = page.problem
    if len(items) > MAX_ENTRIES:
        problem = f"the selector matched {len(items):,} items; the first {MAX_ENTRIES:,} were read"
    return ParsedFeed(
        title=text_of(title) or None if title is not None else None,
        entries=tuple(e for e in entries if e.title or e.content_html),
        language=_language(page.root),
        problem=problem,
    )


def _entry(item: Element, rules: HtmlRules, base: str) -> tuple[ParsedEntry, str]:
    """The item as an entry, and its text."""
    text = text_of(item)
    title = pick(item, rules.title) if rules.title else _default_title(item)
    href = pick(item, rules.link or _DEFAULT_LINK)
    link = urljoin(base, href) if href else None
    when = pick(item, rules.date) if rules.date else None
    summary = first(item, rules.summary.css) if rules.summary else None
    entry = ParsedEntry(
        guid=None,
        link=link if link and urlsplit(link).scheme in ("http", "https") else None,
        title=shorten(title or text),
        summary_html=outer_html(summary) if summary is not None else "",
        content_html=outer_html(item) if text else "",
        published=parse_date(when) if when else None,
    )
    return entry, text


def _default_title(item: Element) -> str | None:
    for css in (_HEADINGS, "a"):
        found = first(item, css)
        if found is not None and (text := text_of(found)):
            return text
    return None


def _with_guid(entry: ParsedEntry, text: str) -> ParsedEntry:
    """No link of its own: the entry is known by its text (not its markup, which a
    site's row striping changes when rows move)."""
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return replace(entry, guid=f"text:{digest}")


def _base_url(root: Element, url: str) -> str:
    base = first(root, "base[href]")
    href = base.get("href") if base is not None else None
    return urljoin(url, href.strip()) if href else url


def _language(root: Element) -> str | None:
    lang = root.get("lang") or root.get("xml:lang")
    return lang.strip() or None if lang else None


def parse_date(text: str) -> datetime | None:
    """A date as pages write it: ISO 8601, RFC 822, or day.month.year; None if unreadable."""
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if numeric := _NUMERIC_DATE.search(text):
        day, month, year = (int(g) for g in numeric.groups())
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):  # email.utils on bad dates
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
