"""HTML bytes → an lxml tree, read the safe way; the few text helpers the sources share.

lxml (libxml2's HTML parser) was chosen over selectolax (Lexbor) by measurement
(``benchmarks/bench_html.py``): Lexbor is faster on an ordinary large page
(1.6 times on a 4.8 MB court list) but quadratic in nesting depth (40,000
nested ``<div>`` take it 8 s, 100,000 most of a minute), while libxml2 without
``huge_tree`` stops at 256 levels in linear time, which is recorded as the
feed's problem. HTML has no DTD to load: the parser gets no network and keeps
libxml2's size limits. Both parsers are quadratic in the attributes of one
element, so bodies with elements of more than a thousand attributes are refused
before parsing, as feeds are.

The encoding: a byte order mark, else the HTTP charset, else UTF-8 when the
body is valid UTF-8, else a Cyrillic code page recognised by its letters,
else what the page's ``<meta charset>`` says (libxml2 reads it).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from worker.core.errors import ParseError
from worker.core.selectors import Pick, xpath
from worker.ingest.normalise import html_to_text
from worker.ingest.parse import _hostile_structure, cyrillic_charset

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16le"), (b"\xfe\xff", "utf-16be"))
DEPTH_PROBLEM = (
    "the page nests its elements more than 255 levels deep; what lies deeper, and after, "
    "was not read"
)

Element = etree._Element


@dataclass(frozen=True, slots=True)
class HtmlPage:
    """A parsed page, and what was wrong with it if it could only partly be read."""

    root: Element
    problem: str | None = None


def read_html(body: bytes, content_type: str | None) -> HtmlPage:
    """Parse an HTML page; ParseError when there is nothing to parse or it is refused."""
    if not body.strip():
        raise ParseError("the response was empty")
    if hostile := _hostile_structure(body):
        raise ParseError(f"refused to parse the page: {hostile}")
    try:
        parser = _parser(_encoding(body, content_type))
    except LookupError:  # a charset Python knows and libxml2 does not: let libxml2 choose
        parser = _parser(None)
    try:
        root = etree.fromstring(body, parser)
    except (etree.Error, ValueError) as e:
        raise ParseError(f"the page could not be read ({e})") from e
    if root is None:
        raise ParseError("the page has no HTML elements")
    deep = any(error.type_name == "ERR_RESOURCE_LIMIT" for error in parser.error_log)
    return HtmlPage(root, DEPTH_PROBLEM if deep else None)


def _parser(encoding: str | None) -> etree.HTMLParser:
    return etree.HTMLParser(
        encoding=encoding,
        recover=True,
        no_network=True,
        huge_tree=False,
        collect_ids=False,
        remove_comments=True,
        remove_pis=True,
        default_doctype=False,
    )


def _encoding(body: bytes, content_type: str | None) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if content_type and (charset := _CHARSET.search(content_type)):
        try:
            return codecs.lookup(charset.group(1)).name
        except LookupError:
            pass
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return cyrillic_charset(body, None)
    return "utf-8"


@lru_cache(maxsize=512)
def compiled(css: str) -> etree.XPath:
    """The selector as a compiled XPath (once per selector and process)."""
    return etree.XPath(xpath(css))


def select(element: Element, css: str) -> list[Element]:
    """The elements ``css`` matches within ``element`` (the element itself included)."""
    found = compiled(css)(element)
    return [e for e in found if isinstance(e, etree._Element)] if isinstance(found, list) else []


def first(element: Element, css: str) -> Element | None:
    found = select(element, css)
    return found[0] if found else None


def outer_html(element: Element) -> str:
    return etree.tostring(element, method="html", encoding="unicode", with_tail=False)


def text_of(element: Element) -> str:
    """The element's text as a reader sees it, on one line."""
    return " ".join(html_to_text(outer_html(element)).split())


def pick(element: Element, rule: Pick) -> str | None:
    """The text (or the attribute) of the first element ``rule`` picks within ``element``."""
    found = first(element, rule.css)
    if found is None:
        return None
    if rule.attribute is None:
        return text_of(found) or None
    value = found.get(rule.attribute)
    return value.strip() or None if value is not None else None


def shorten(text: str, limit: int = 120) -> str:
    """At most ``limit`` characters, cut at a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip(" ,.;:-") + "…"
