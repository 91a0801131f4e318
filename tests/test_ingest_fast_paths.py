"""The ingest fast paths give what the general paths give.

HTML of plain syntax is split on its tags by one regular expression instead of
HTMLParser; text is cleaned line by line instead of by substitutions; sketches
are taken with a heap instead of a sort; feed links are joined without
feedparser's template substitution; rows go to PostgreSQL as arrays through
``unnest``; pooled connections are pinged only when their socket has news. Each
is checked here against the slower way it replaces.
"""

from __future__ import annotations

import random
import re
import time
import unicodedata
import zlib
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from feedparser import urls as feedparser_urls

from worker.core import dedup
from worker.db import sql
from worker.db.models import Entry, Feed, Match, StorySketch, Watchlist
from worker.db.session import make_engine, make_session_factory, upgrade
from worker.ingest import normalise, parse

_PIECES = [
    *("<p>", "</p>", "<br/>", "<br />", "<BR>", "</P >", "<li>", "<h1>", "<table><tr><td>"),
    *('<a href="x">', "<a href='y'>", "<a href=z>", "</a>", "<strong>", "</strong>"),
    *('<div class="c" id=d>', '<img src=x alt="a>b">', '<a title="</p>">', "<a\nhref='q'\n>"),
    *("<script>x</script>", "<style>x</style>", "<title>t</title>", "<!-- c -->", "<?pi?>"),
    *("<!DOCTYPE html>", "<![CDATA[x]]>", "< p>", "<", ">", "</>", "<1>", "<x-y>", "<a/b>"),
    *("</p class=x>", "<a href=x/>", "<p/>", "</ li>", "<a b c>", "<a =b>", "<a b='c'd>"),
    *("&amp;", "&lt;p&gt;", "&#233;", "&am", "p;", "&nbsp;", "&", "&#x"),
    *("text ", "word", "\n", "\t", " ", "é", "Ж", "\u00ad", "\u200b", "\xa0"),
]


def _html_parser_text(html: str) -> str:
    parser = normalise._TextExtractor()
    parser.feed(html)
    parser.close()
    return normalise.clean_text("".join(parser.parts))


def test_plain_markup_reads_as_html_parser_reads_it() -> None:
    rng = random.Random(3)
    fast = 0
    for _ in range(20_000):
        html = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 12)))
        fast += normalise._plain_markup_text(html) is not None
        assert normalise.html_to_text(html) == _html_parser_text(html), repr(html)
    assert fast > 2_000, "the fast path was hardly taken"


def test_hostile_markup_takes_linear_time() -> None:
    for html in ("<a " + "b " * 200_000, "<a b" + "=c d" * 200_000, "<p>" * 100_000 + "<"):
        started = time.perf_counter()
        normalise.html_to_text(html)
        assert time.perf_counter() - started < 10


_SPACES = re.compile(r"[^\S\n]+")


def _clean_by_substitution(text: str) -> str:
    text = normalise._INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return normalise._BLANK_LINES.sub("\n\n", text).strip()


def test_clean_text_is_the_substitutions_it_replaces() -> None:
    alphabet = [
        *"ab c\n\t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u2029\u200b\u00ad\ufeff\u3000",
        *" \u2000e\u0301\u1680\x00\x07иЖ",
        *("  ", "\n\n", " \n "),
    ]
    rng = random.Random(1)
    for _ in range(50_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert normalise.clean_text(text) == _clean_by_substitution(text), repr(text)


def test_shingles_keep_their_definition() -> None:
    """Stored signatures are compared across versions: CRC-32 of each UTF-8 "w1 w2 w3"."""
    words = [
        *("Ж", "ǅemal", "İstanbul", "straße", "ﬁn", "x\u0301"),
        *("中文", "٣", "a_b", "the", "\ud800"),
    ]
    separators = [" ", "  ", "\n", ", ", "\u2028", "-"]
    rng = random.Random(5)
    for _ in range(2_000):
        text = "".join(rng.choice(words) + rng.choice(separators) for _ in range(rng.randrange(40)))
        found = re.findall(r"\w+", text.casefold())
        grams = zip(found, found[1:], found[2:], strict=False)
        expected = frozenset(zlib.crc32(" ".join(gram).encode()) for gram in grams)
        assert dedup.shingles(text) == expected, repr(text)


@pytest.mark.parametrize("base", ["", "https://example.org/a/feed.xml", "not a url"])
@pytest.mark.parametrize(
    "uri",
    [
        *("", "/rel", "rel/x", "?q", "#f", "//cdn.example/x", "https://e.org/x", "HTTP://E.org"),
        *("http:////e.org//x", "https:///x", "h://", "+a://x", "1://x", "https://[bad", "ф://x"),
        *("mailto:a@b", "https://e.org/\x85\u2028?a=1&b", "http://[::1]:80/"),
    ],
)
def test_links_are_joined_as_feedparser_joins_them(base: str, uri: str) -> None:
    assert parse._urljoin(base, uri) == feedparser_urls._urljoin(base, uri)


def test_unnest_insert_returns_only_new_rows_with_their_types(pg_database: str) -> None:
    engine = make_engine(pg_database)
    upgrade(engine)
    sessions = make_session_factory(engine)
    now = datetime(2026, 11, 1, 12, tzinfo=UTC)
    with sessions() as session, session.begin():
        session.add(
            Feed(
                id="f",
                url="https://e.example/f",
                poll_interval_seconds=60,
                consecutive_failures=0,
                entry_count=0,
            )
        )
        session.add(Watchlist(id="w", title="W"))

    def entry(key: str, published: datetime | None) -> dict[str, object]:
        return {
            "feed_id": "f",
            "identity_key": key,
            "link_key": None,
            "guid": None,
            "link": None,
            "title": f'Title {key} with "quotes", a backslash \\ and {{braces}}',
            "summary": "",
            "content": "Line one\nline two, NULL",
            "language": None,
            "published_at": published,
            "content_hash": "0" * 64,
            "first_seen_at": now,
            "story_id": None,
        }

    with sessions() as session, session.begin():
        first = sql.insert_new(
            session, Entry, [entry("a", now), entry("b", None)], Entry.identity_key, Entry.id
        )
        again = sql.insert_new(
            session, Entry, [entry("b", None), entry("c", now), entry("c", now)], Entry.id
        )
        ids = dict(first)
        matches = sql.insert_new(
            session,
            Match,
            [
                {
                    "entry_id": ids["a"],
                    "watchlist_id": "w",
                    "hits": [{"term": "x", "start": 0}, {"term": "y", "start": 3}],
                    "terms": ["x", "y"],
                    "snippet": "…x…",
                    "created_at": now,
                }
            ],
            Match.id,
        )
        sql.insert_new(
            session,
            StorySketch,
            [{"key": 2**32 - 1, "story_id": ids["a"], "created_at": now}],
            StorySketch.key,
        )
    assert [key for key, _ in first] == ["a", "b"] and len(again) == 1
    with sessions() as session:
        stored = {e.identity_key: e for e in session.scalars(sa.select(Entry))}
        match = session.get(Match, matches[0])
    assert set(stored) == {"a", "b", "c"}
    assert stored["a"].title == entry("a", now)["title"] and stored["a"].published_at == now
    assert stored["b"].published_at is None and stored["a"].content == "Line one\nline two, NULL"
    assert match is not None and match.hits == [
        {"term": "x", "start": 0},
        {"term": "y", "start": 3},
    ]
    engine.dispose()


def test_only_a_disturbed_connection_is_pinged(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(pg_database)
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    for _ in range(3):
        with engine.connect() as conn:
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    assert pings == []
    admin = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    time.sleep(0.2)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
    assert len(pings) == 1
    engine.dispose()
