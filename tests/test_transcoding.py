"""Feeds in windows-1251, KOI8-R and UTF-16 take the fast path after transcoding to UTF-8,
and read exactly as feedparser reads them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from worker.ingest import parse

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
WORDS = [
    *("Азимжан", "Аскаров", "правозащитник", "суд", "Бишкек", "«Бир Дуйно»", "задержан"),
    *("Толекан", "Исмаилова", "—", "№5", "&amp;", "&lt;b&gt;", "2026", "ёж", "Ёлка", "«»"),
    *("report", "Kyrgyzstan", "©", "°C", "·", "…", "§"),
]


def _item(rng: random.Random, index: int) -> str:
    def text(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    description = f"<![CDATA[<p>{text(20)}</p>]]>" if rng.random() < 0.5 else f"&lt;p&gt;{text(12)}"
    guid = (
        f'<guid isPermaLink="false">id-{index}</guid>'
        if rng.random() < 0.5
        else f"<guid>https://example.kg/новости/{index}</guid>"
    )
    return (
        f"<item><title>{text(6)}</title><link>https://example.kg/n/{index}?a=1&amp;b=2</link>"
        f"{guid}<description>{description}</description>"
        f"<pubDate>Mon, 30 Nov 2026 0{index % 10}:15:00 +0600</pubDate></item>"
    )


def _document(rng: random.Random, encoding: str, declare: bool) -> str:
    items = "".join(_item(rng, i) for i in range(rng.randrange(1, 30)))
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if declare else ""
    return (
        f'{declaration}<rss version="2.0"><channel><title>Новости</title>'
        f"<link>https://example.kg/</link><description>d</description><language>ru</language>"
        f"<ttl>30</ttl>{items}</channel></rss>"
    )


CASES = [
    # (codec, declared in the XML, HTTP content type, byte order mark)
    ("windows-1251", True, "application/rss+xml", b""),
    ("windows-1251", False, "application/rss+xml; charset=windows-1251", b""),
    ("windows-1251", True, None, b""),
    ("koi8-r", True, "text/xml; charset=koi8-r", b""),
    ("koi8-r", False, "application/xml", b""),  # undeclared: found by cyrillic_charset
    ("utf-16-le", False, "application/rss+xml", b"\xff\xfe"),
    ("utf-16-be", True, None, b"\xfe\xff"),
]


@pytest.mark.parametrize(("codec", "declare", "content_type", "bom"), CASES)
def test_transcoded_fast_path_reads_as_feedparser(
    codec: str, declare: bool, content_type: str | None, bom: bytes
) -> None:
    rng = random.Random(codec + str(declare))
    declared = {"utf-16-le": "utf-16", "utf-16-be": "utf-16"}.get(codec, codec)
    for _ in range(40):
        body = bom + _document(rng, declared, declare).encode(codec, "xmlcharrefreplace")
        utf8 = parse.as_utf8(body, content_type)
        assert utf8 is not None
        assert parse.plain_rss(utf8, "https://example.kg/rss", None, transcoded=True) is not None
        fast = parse.parse_feed(body, "https://example.kg/rss", content_type)
        slow = parse.parse_with_feedparser(body, "https://example.kg/rss", content_type)
        assert fast == slow
        assert fast.title == "Новости"


@pytest.mark.parametrize(
    "name", ["cp1251_declared_utf8.xml", "koi8r_undeclared.xml", "utf16_bom.xml"]
)
def test_the_corpus_feeds_read_the_same_either_way(name: str) -> None:
    body = (FEEDS / name).read_bytes()
    assert parse.parse_feed(body, "https://example.org/feed") == parse.parse_with_feedparser(
        body, "https://example.org/feed", None
    )


def test_a_body_that_does_not_decode_is_left_to_feedparser() -> None:
    body = b'<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel>'
    body += b"<title>\x98</title></channel></rss>"  # 0x98 is unassigned in windows-1251
    assert parse.as_utf8(body, None) is None
    assert parse.as_utf8(b'<?xml version="1.0" encoding="utf-8"?><rss/>', None) is None
