"""Feed bodies → :class:`ParsedFeed`, through feedparser.

The only module that imports feedparser. feedparser's SAX parser does not
resolve external entities, and the expat it runs on refuses billion-laughs
expansion; a body that is not a feed (an HTML page, JSON, nothing) becomes a
:class:`ParseError` that says what was received instead. Encodings are found as
feedparser finds them (HTTP charset, XML declaration, BOM, then fallbacks), so
windows-1251, KOI8-R and UTF-16 feeds read and a mis-declared one does not crash.
A plain RSS document in another encoding is transcoded to UTF-8 and read by the
fast path, which gives what feedparser gives (the tests compare the two).

HTML inside entries is neither sanitised nor rewritten here: the normaliser
turns it into plain text and nothing downstream renders it, and skipping both
makes parsing several times faster.
"""

from __future__ import annotations

import calendar
import codecs
import contextlib
import re
import urllib.parse
import xml.etree.ElementTree as ET
import xml.sax
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import feedparser
from feedparser import datetimes as feedparser_datetimes
from feedparser import urls as feedparser_urls

from worker.core.errors import ParseError
from worker.core.types import ParsedEntry, ParsedFeed

# Warnings feedparser raises for feeds it read correctly (a text/plain content
# type, an encoding declared one way and served another).
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
MAX_ENTRIES = 1000
"""A document with more items is cut to its first MAX_ENTRIES (feeds list the newest first)."""
MAX_ATTRIBUTES = 1000
"""feedparser reads an element's attributes in quadratic time: more is refused."""
_LONG_TAG = re.compile(rb"<[^<>]{8000,}>")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=\s*[\"']([\w.:-]+)", re.IGNORECASE)
_UTF8_NAMES = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
_CYRILLIC_LOWER = frozenset(range(0x0430, 0x0450))
_CYRILLIC = frozenset(range(0x0410, 0x0450))


def _hostile_structure(body: bytes) -> str | None:
    """Why feedparser must not be given this body, or None."""
    for tag in _LONG_TAG.finditer(body):
        attributes = tag.group().count(b"=")
        if attributes > MAX_ATTRIBUTES:
            return f"an element has {attributes:,} attributes (more than {MAX_ATTRIBUTES:,})"
    return None


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32le"),
    (b"\x00\x00\xfe\xff", "utf-32be"),
    (b"\xff\xfe", "utf-16le"),
    (b"\xfe\xff", "utf-16be"),
)


def _bom_charset(body: bytes) -> str | None:
    return next((charset for bom, charset in _BOMS if body.startswith(bom)), None)


def _declared_encoding(body: bytes, content_type: str | None) -> str:
    if content_type and (charset := _CHARSET.search(content_type)):
        return charset.group(1).lower()
    if declared := _XML_ENCODING.match(body.lstrip()[:200]):
        return declared.group(1).decode("ascii").lower()
    return "utf-8"


def cyrillic_charset(body: bytes, content_type: str | None) -> str | None:
    """windows-1251 or koi8-r for a body that claims UTF-8 but is single-byte Cyrillic.

    feedparser would fall back to windows-1252 and produce mojibake. Of the two
    Cyrillic code pages the right one decodes to mostly lower-case letters.
    """
    if _declared_encoding(body, content_type) not in _UTF8_NAMES:
        return None
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return None
    best, best_lower = None, 0
    for codec in ("windows-1251", "koi8-r"):
        text = body.decode(codec, errors="replace")
        high = [ord(c) for c in text if ord(c) > 127]
        cyrillic = sum(1 for c in high if c in _CYRILLIC)
        lower = sum(1 for c in high if c in _CYRILLIC_LOWER)
        if high and cyrillic / len(high) > 0.6 and lower > best_lower:
            best, best_lower = codec, lower
    return best


def _describe(problem: object) -> str:
    if isinstance(problem, xml.sax.SAXParseException):
        return f"line {problem.getLineNumber()}: {problem.getMessage()}"
    return str(problem)


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    head = body[:512].lstrip().lower()
    return (content_type or "").startswith("text/html") or head.startswith(
        (b"<!doctype html", b"<html")
    )


def _when(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(entry, key)  # the plain lookup: no deprecated key aliasing
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError):
                continue
    return None


def _content_html(entry: Any) -> str:
    parts = [c.get("value", "") for c in entry.get("content", []) or []]
    return "\n".join(p for p in parts if p)


# --- the fast path: plain RSS 2.0 ---------------------------------------------------------

_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_SIMPLE_ITEM_TAGS = frozenset(
    {
        "guid",
        "link",
        "title",
        "description",
        "pubDate",
        "category",
        "comments",
        "author",
        "enclosure",
        _CONTENT_ENCODED,
        "{http://purl.org/dc/elements/1.1/}creator",
        "{http://wellformedweb.org/CommentAPI/}commentRss",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
    }
)
_ONCE = frozenset({"guid", "link", "title", "description", "pubDate", _CONTENT_ENCODED})
_XML_TYPES = re.compile(r"^\s*(application/([a-z]+\+)?xml|text/xml)\s*(;|$)", re.IGNORECASE)
_CP1252 = {
    i: bytes([i]).decode("cp1252")
    for i in range(0x80, 0xA0)
    if i not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_BROKEN_REFERENCE = re.compile("&([A-Za-z0-9_]+);")
_C1_CONTROLS = re.compile("[\x80-\x9f]")


class _NotPlain(Exception):
    """The document needs feedparser's full treatment."""


def _raw(element: ET.Element) -> str:
    if len(element) or (element.attrib and element.tag != "guid"):
        raise _NotPlain
    return (element.text or "").strip()


def _as_is(text: str) -> str:
    return text


def _repaired(text: str) -> str:
    """The two repairs feedparser makes to UTF-8 text: double-encoded UTF-8, cp1252 controls.

    ASCII text needs neither, and :meth:`str.isascii` costs nothing (the string
    knows), where the two repairs copy the text twice and scan it.
    """
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_CP1252) if _C1_CONTROLS.search(text) else text


def _urljoin(base: str, uri: str) -> str:
    """feedparser's ``urls._urljoin``, which drops the slashes after a URI's "scheme://".

    It does so with ``re.sub`` and a group-reference template, which Python
    expands in its own code for every link; slicing the one match is cheaper.
    """
    if slashes := feedparser_urls._urifixer.match(uri):
        uri = slashes.group(1) + uri[slashes.end() :]
    try:
        return urllib.parse.urljoin(base, uri)
    except ValueError:
        return ""


def _plain_item(item: ET.Element, base: str, fix: Callable[[str], str]) -> ParsedEntry:
    guid: str | None = None
    guid_is_link = False
    link: str | None = None
    title = description = ""
    content: str | None = None
    published = None
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if not isinstance(tag, str) or tag not in _SIMPLE_ITEM_TAGS or tag in seen & _ONCE:
            raise _NotPlain
        seen.add(tag)
        if tag == "guid":
            permalink = [v for k, v in child.attrib.items() if k.lower() == "ispermalink"]
            if len(child.attrib) > len(permalink):
                raise _NotPlain
            guid_is_link = (permalink[-1] if permalink else "true") == "true"
            raw = _raw(child)
            guid = fix(_urljoin(base, raw) if guid_is_link and raw else raw)
        elif tag == "link":
            raw = _raw(child)
            value = fix(_urljoin(base, raw) if raw else raw)
            link = _BROKEN_REFERENCE.sub(r"&\g<1>", value.replace("&amp;", "&"))
        elif tag == "title":
            title = fix(_raw(child))
        elif tag == "description":
            description = fix(_raw(child))
        elif tag == _CONTENT_ENCODED:
            content = fix(_raw(child))
        elif tag == "pubDate":
            parsed = feedparser_datetimes._parse_date(fix(_raw(child)))
            published = datetime.fromtimestamp(calendar.timegm(parsed), UTC) if parsed else None
    if link is None and guid_is_link and guid:
        link = guid
    return ParsedEntry(
        guid=guid or None,
        link=link or None,
        title=title,
        summary_html=description if "description" in seen else content or "",
        content_html=content or "",
        published=published,
    )


def plain_rss(
    body: bytes, url: str, content_type: str | None, *, transcoded: bool = False
) -> ParsedFeed | None:
    """A well-formed UTF-8 RSS 2.0 document read with ElementTree, as feedparser reads it.

    Several times faster than feedparser. Anything beyond the plain case (another
    encoding, a DOCTYPE, xml:base, item elements feedparser gives a meaning to,
    nested markup) returns None, and feedparser reads the document; the tests
    check that both give the same entries. ``transcoded``: the body was another
    encoding made UTF-8 by :func:`as_utf8`, so feedparser's two repairs of UTF-8
    text (which it makes only to documents it decoded as UTF-8) do not apply.
    """
    fix = _as_is if transcoded else _repaired
    if content_type and not _XML_TYPES.match(content_type):
        return None
    if _declared_encoding(body, content_type) not in _UTF8_NAMES or _bom_charset(body) not in (
        None,
        "utf-8",
    ):
        return None
    if b"<!DOCTYPE" in body or b"<!doctype" in body or b"xml:base" in body:
        return None
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, ValueError):
        return None
    channel = root.find("channel")
    if root.tag != "rss" or root.get("version") != "2.0" or channel is None:
        return None
    items = channel.findall("item")
    try:
        entries = [_plain_item(item, url, fix) for item in items[:MAX_ENTRIES]]
        texts = {
            tag: fix(_raw(element))
            for tag in ("title", "language", "ttl")
            if (element := channel.find(tag)) is not None
        }
    except _NotPlain:
        return None
    links = _atom_links(channel, url)
    return ParsedFeed(
        title=texts.get("title") or None,
        entries=tuple(e for e in entries if _worth_keeping(e)),
        language=texts.get("language") or None,
        problem=_too_many(len(items)),
        ttl=_ttl(texts.get("ttl")),
        hub=links.get("hub"),
        self_url=links.get("self"),
    )


_ATOM_LINK = "{http://www.w3.org/2005/Atom}link"


def _atom_links(channel: ET.Element, base: str) -> dict[str, str]:
    """An RSS channel's ``<atom:link rel=… href=…>`` by relation (the first of each)."""
    found: dict[str, str] = {}
    for link in channel.findall(_ATOM_LINK):
        href = (link.get("href") or "").strip()
        if href:
            found.setdefault((link.get("rel") or "alternate").strip().lower(), _urljoin(base, href))
    return found


def _feed_links(feed: Any) -> dict[str, str]:
    """feedparser's feed-level links by relation (the first of each)."""
    found: dict[str, str] = {}
    for link in feed.get("links") or ():
        href = (link.get("href") or "").strip()
        if href:
            found.setdefault(str(link.get("rel") or "alternate").lower(), href)
    return found


def _too_many(count: int) -> str | None:
    """Only the first MAX_ENTRIES items are read: a feed listing more is told so."""
    if count <= MAX_ENTRIES:
        return None
    return f"the feed lists {count:,} items; only the first {MAX_ENTRIES:,} were read"


def _worth_keeping(entry: ParsedEntry) -> bool:
    """Items with nothing in them are dropped (some feeds pad with empty items)."""
    return bool(entry.guid or entry.link or entry.title.strip() or entry.summary_html.strip())


def parse_feed(body: bytes, url: str = "", content_type: str | None = None) -> ParsedFeed:
    """Parse RSS/Atom bytes; raise ParseError when nothing feed-like is there."""
    if not body.strip():
        raise ParseError("the response was empty")
    if hostile := _hostile_structure(body):
        raise ParseError(f"refused to parse the feed: {hostile}")
    fast = plain_rss(body, url, content_type)
    if fast is None and (utf8 := as_utf8(body, content_type)) is not None:
        fast = plain_rss(utf8, url, _UTF8_XML, transcoded=True)
    return fast or parse_with_feedparser(body, url, content_type)


_UTF8_XML = "application/xml; charset=utf-8"
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECLARED = re.compile(rb"encoding\s*=\s*[\"'][^\"']*[\"']")


def _charset(body: bytes, content_type: str | None) -> str:
    """The encoding feedparser is made to read a body with (see parse_with_feedparser)."""
    return (
        _bom_charset(body)
        or cyrillic_charset(body, content_type)
        or _declared_encoding(body, content_type)
    )


def as_utf8(body: bytes, content_type: str | None) -> bytes | None:
    """A non-UTF-8 XML body (windows-1251, KOI8-R, UTF-16 …) as UTF-8, declared so; None when
    it is UTF-8 already, not an XML content type, or does not decode cleanly (feedparser's
    fallbacks then decide)."""
    if content_type and not _XML_TYPES.match(content_type):
        return None
    charset = _charset(body, content_type)
    if charset in _UTF8_NAMES:
        return None
    try:
        text = codecs.decode(body, charset)
    except (LookupError, UnicodeDecodeError, ValueError):
        return None
    data = text.removeprefix("\ufeff").encode("utf-8")
    return _XML_DECLARATION.sub(
        lambda m: _DECLARED.sub(b'encoding="utf-8"', m.group()), data, count=1
    )


def parse_with_feedparser(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """Any feed feedparser can read, however broken; ParseError when it is not a feed."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    if charset := _bom_charset(body) or cyrillic_charset(body, content_type):
        # An HTTP charset overrides the XML declaration, a byte order mark both (RFC 7303).
        headers["content-type"] = f"application/xml; charset={charset}"
    try:
        result = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as e:  # feedparser's loose parser can fail in any way on hostile input
        raise ParseError(f"the feed could not be read ({type(e).__name__}: {e})") from e
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
            for e in result.entries[:MAX_ENTRIES]
        )
        if _worth_keeping(entry)
    )
    bozo = result.get("bozo_exception") if result.get("bozo") else None
    if isinstance(bozo, _BENIGN):
        bozo = None
    problem = f"malformed feed ({_describe(bozo)})" if bozo else None
    problem = _too_many(len(result.entries)) or problem
    if not entries and (problem or not version):
        if _looks_like_html(body, content_type):
            raise ParseError("the server returned an HTML page, not a feed")
        if body.lstrip()[:1] in (b"{", b"["):
            raise ParseError("the server returned JSON, not an RSS or Atom feed")
        reason = f" ({_describe(bozo)})" if bozo else ""
        raise ParseError(f"not an RSS or Atom feed{reason}")
    feed = result.get("feed", {})
    links = _feed_links(feed)
    return ParsedFeed(
        title=feed.get("title") or None,
        entries=entries,
        language=(feed.get("language") or None),
        problem=problem,
        ttl=_ttl(feed.get("ttl")),
        hub=links.get("hub"),
        self_url=links.get("self"),
    )


def _ttl(value: object) -> timedelta | None:
    """RSS ``<ttl>`` in minutes; anything unreadable or absurd is ignored."""
    try:
        minutes = int(str(value).strip())
    except ValueError:
        return None
    return timedelta(minutes=minutes) if 0 < minutes <= 7 * 24 * 60 else None
