"""The fast RSS path reads a feed exactly as feedparser does, or leaves it to feedparser.

Entry identities depend on what the parser returns (a GUID resolved against the
feed URL, a link repaired the way feedparser repairs it), so the two paths must
agree to the character: a feed that switches path (it breaks one day, or gains
an element) must not see its entries again as new ones.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from worker.ingest.parse import parse_feed, parse_with_feedparser, plain_rss

DATA = Path(__file__).resolve().parent / "data" / "feeds"
ROOT = Path(__file__).resolve().parent.parent
CONTENT_NS = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
DC_NS = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'

GUIDS = [
    "",
    "<guid>https://example.org/a/1</guid>",
    "<guid>relative/2</guid>",
    '<guid isPermaLink="false">tag:example.org,2026:3</guid>',
    '<guid isPermaLink="false">  4  </guid>',
    '<guid isPermaLink="true">/abs/5</guid>',
    '<guid ispermalink="True">6</guid>',
]
LINKS = [
    "",
    "<link>https://example.org/report?id=1&amp;lang=en</link>",
    "<link>/news/2026/report</link>",
    "<link>  https://Example.org/x?utm_source=rss  </link>",
    "<link>javascript:alert(1)</link>",
    "<link>https://example.org/a&amp;amp;b</link>",
]
TITLES = [
    "",
    "<title>Bir Duino &amp; partners</title>",
    "<title>  &lt;b&gt;Bold&lt;/b&gt; claim  </title>",
    "<title><![CDATA[Azimjan Askarov — «memory»]]></title>",
    "<title>Ã©lan double-encoded</title>",
    "<title>\u0093quoted\u0094 with cp1252 controls</title>",
    "<title>Правозащитники</title>",
]
BODIES = [
    "",
    "<description>Plain summary.</description>",
    "<description>&lt;p&gt;Escaped &lt;a href='/x'&gt;HTML&lt;/a&gt;&lt;/p&gt;</description>",
    "<description><![CDATA[<p>CDATA <b>HTML</b></p>]]></description>",
    "<content:encoded><![CDATA[<p>Full text only</p>]]></content:encoded>",
    "<description>Short.</description><content:encoded><![CDATA[<p>Long</p>]]></content:encoded>",
    "<content:encoded><![CDATA[<p>Long</p>]]></content:encoded><description>Short.</description>",
]
EXTRAS = [
    "",
    "<pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>",
    "<pubDate>Mon, 16 Nov 2026 09:00:00 GMT</pubDate><dc:creator>IPHR</dc:creator>",
    "<pubDate>16 Nov 2026 09:00 EST</pubDate><category>Kyrgyzstan</category>",
    "<pubDate>not a date</pubDate><comments>https://example.org/c</comments>",
    '<pubDate></pubDate><enclosure url="https://example.org/a.mp3" type="audio/mpeg"/>',
]


def _document(items: list[str], channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {CONTENT_NS} {DC_NS}>'
        f"<channel><title> Feed &amp; co </title><link>https://example.org/</link>"
        f"<description>d</description>{channel}{''.join(items)}</channel></rss>"
    ).encode()


def _generated() -> list[bytes]:
    rng = random.Random(6)
    combos = list(itertools.product(GUIDS, LINKS, TITLES, BODIES, EXTRAS))
    rng.shuffle(combos)
    items = [f"<item>{''.join(parts)}</item>" for parts in combos[:1500]]
    channels = ["", "<language>ru</language>", "<ttl>60</ttl><language> en-GB </language>"]
    return [_document(items[i : i + 50], channels[i % 3]) for i in range(0, len(items), 50)]


@pytest.mark.parametrize("url", ["https://example.org/feeds/rss.xml", ""])
def test_the_fast_path_agrees_with_feedparser(url: str) -> None:
    documents = _generated() + [
        path.read_bytes() for path in [*DATA.iterdir(), *(ROOT / "config" / "demo-feeds").iterdir()]
    ]
    compared = 0
    for body in documents:
        fast = plain_rss(body, url, "application/rss+xml; charset=utf-8")
        if fast is None:
            continue
        compared += 1
        reference = parse_with_feedparser(body, url, "application/rss+xml; charset=utf-8")
        for mine, theirs in zip(fast.entries, reference.entries, strict=True):
            assert mine == theirs
        assert (fast.title, fast.language, fast.ttl) == (
            reference.title,
            reference.language,
            reference.ttl,
        )
    assert compared >= 30


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_document(["<item><title>x</title></item>"]).replace(b"UTF-8", b"windows-1251"), None),
        (_document(["<item><title>x</title></item>"]), "text/html"),
        (_document(["<item><title>x</title></item>"]), "application/xml; charset=koi8-r"),
        (b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel/></rss>', None),
        (_document(['<item xml:base="https://other.example/"><title>x</title></item>']), None),
        (
            _document(
                [
                    "<item><media:title xmlns:media='http://search.yahoo.com/mrss/'>m"
                    "</media:title></item>"
                ]
            ),
            None,
        ),
        (_document(["<item><description><p>nested</p></description></item>"]), None),
        (_document(["<item><title>one</title><title>two</title></item>"]), None),
        (_document(['<item><title type="html">x</title></item>']), None),
        (
            _document(
                ["<item><atom:link xmlns:atom='http://www.w3.org/2005/Atom' href='/x'/></item>"]
            ),
            None,
        ),
        (b'<rss version="0.91"><channel><title>t</title></channel></rss>', None),
        ((DATA / "truncated.xml").read_bytes(), None),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title></feed>',
            None,
        ),
    ],
)
def test_anything_unusual_is_left_to_feedparser(body: bytes, content_type: str | None) -> None:
    assert plain_rss(body, "https://example.org/feed", content_type) is None
    parse_feed(body, "https://example.org/feed", content_type)  # and feedparser reads it
