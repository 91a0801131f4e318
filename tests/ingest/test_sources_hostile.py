"""Whatever a Telegram preview, a web page or a JSON Feed holds, the poll ends in a result
or a recorded feed error: never a crash, never a hang (the suite's per-test timeout).

Generated monsters (10,000 posts on one page, 100,000 nested elements, an element
of 100,000 attributes, pages at and over the size cap, JSON nested past Python's
recursion limit, broken markup and binary junk) are served by a local HTTP server
and polled through the real poll job against PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.feedlab import FeedLab

CORPUS = Path(__file__).resolve().parent.parent / "data" / "feeds"
CAP = 2_000_000
"""RIGHTSWATCH_MAX_FEED_BYTES of these tests: pages at the cap stay quick to build…"""
CAPS = {"telegram: a page of 10,000 posts": 32_000_000}
"""…but for 10,000 posts of the preview's markup (23 MB)."""
WATCH = (
    "watchlists:\n  - id: ngo\n    title: NGOs\n    keywords: [Bir Duino]\n"
    "subscribers:\n  - id: s\n    console: true\n    watchlists: [ngo]\n"
)
DEPTH = (
    "the page nests its elements more than 255 levels deep; what lies deeper, and after, "
    "was not read"
)
FEEDS = {
    "telegram": "    type: telegram\n",
    "html": '    html:\n      item: "tr"\n',
    "json": "",
    "rss": "",
}
CONTENT_TYPES = {
    "telegram": "text/html",
    "html": "text/html",
    "json": "application/json",
    "rss": "text/html",
}


def _one_post() -> str:
    """Post 124 of the fixture page, exactly as the preview writes a post."""
    page = (CORPUS / "telegram_channel.html").read_text(encoding="utf-8")
    start = page.index('<div class="tgme_widget_message_wrap', page.index("defenders_kg/123"))
    end = page.rindex("        </section>")
    return page[start:end]


def _channel(posts: int) -> bytes:
    """A t.me/s page of ``posts`` posts (ids 1…posts), the text naming Bir Duino."""
    page = (CORPUS / "telegram_channel.html").read_text(encoding="utf-8")
    head = page[: page.index('<div class="tgme_widget_message_centered')]
    post = _one_post().replace("Толекан Исмаилову", "Bir Duino")
    body = "".join(re.sub(r"defenders_kg/124", f"defenders_kg/{i}", post) for i in range(posts))
    return (head + body + "</section></div></main></body></html>").encode()


def _nested(depth: int) -> bytes:
    return b"<html><body><table>" + b"<div>" * depth + b"<tr><td>Bir Duino</td></tr>" + b"</div>"


def _rows(count: int) -> bytes:
    row = '<tr><td>01.11.2026</td><td><a href="/c/%d">Дело Bir Duino %d</a></td></tr>'
    return ("<html><body><table>" + "".join(row % (i, i) for i in range(count))).encode()


def _json_feed(items: str) -> bytes:
    return b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + items.encode() + b"}"


def _links(count: int) -> bytes:
    link = '<link rel="alternate" type="application/rss+xml" href="/feed/%d.xml">'
    return ("<html><head>" + "".join(link % i for i in range(count)) + "</head></html>").encode()


JUNK = bytes(range(256)) * 400
BROKEN = (
    b"<html><body><table><tr><td>Bir Duino <b><i>unclosed<tr><td><a href='/x'>Bir Duino again"
    b"</i></b></a>\x00\x01<<>>&&&;&#xffffffff;<!--<tr><td>--><tr<td>Bir Duino third"
)
CASES: dict[str, tuple[str, Callable[[], bytes], str | None, int]] = {
    "telegram: a page of 10,000 posts": ("telegram", lambda: _channel(10_000), None, 50),
    "telegram: 100,000 nested elements": (
        "telegram",
        lambda: _channel(3).replace(b"<section", b"<div>" * 100_000 + b"<section", 1),
        "no public Telegram channel 'feed' at {url}: the channel does not exist or is private",
        0,
    ),
    "telegram: cut off in the middle": (
        "telegram",
        lambda: _channel(40)[: len(_channel(40)) // 2],
        None,
        20,
    ),
    "telegram: binary junk": (
        "telegram",
        lambda: JUNK,
        "no public Telegram channel 'feed' at {url}: the channel does not exist or is private",
        0,
    ),
    "telegram: empty": ("telegram", lambda: b"  \n", "the response was empty", 0),
    "html: 100,000 nested elements": (
        "html",
        lambda: _nested(100_000),
        f"selector 'tr' matched no items ({DEPTH})",
        0,
    ),
    "html: a page at the size cap": (
        "html",
        lambda: _rows(CAP // 80)[:CAP],
        "the selector matched 24,074 items; the first 1,000 were read",
        1000,
    ),
    "html: a page over the size cap": (
        "html",
        lambda: _rows(CAP // 70),
        f"response larger than {CAP:,} bytes (Content-Length {len(_rows(CAP // 70)):,})",
        0,
    ),
    "html: an element of 100,000 attributes": (
        "html",
        lambda: b"<table><tr " + b" ".join(b'a%d="v"' % i for i in range(100_000)) + b">",
        "refused to parse the page: an element has 100,000 attributes (more than 1,000)",
        0,
    ),
    "html: broken markup": ("html", lambda: BROKEN, None, 2),
    "html: binary junk": ("html", lambda: JUNK, "selector 'tr' matched no items", 0),
    "json: nested past the recursion limit": (
        "json",
        lambda: _json_feed("[" * 100_000 + "]" * 100_000),
        "the server returned broken JSON (nested too deeply)",
        0,
    ),
    "json: a 10,000-digit number": (
        "json",
        lambda: _json_feed('[{"id": ' + "9" * 10_000 + "}]"),
        "the server returned broken JSON (Exceeds the limit (4300 digits) for integer string "
        "conversion: value has 10000 digits; use sys.set_int_max_str_digits() to increase the "
        "limit)",
        0,
    ),
    "json: 50,000 items": (
        "json",
        lambda: _json_feed(json.dumps([{"id": i, "title": "Bir Duino"} for i in range(50_000)])),
        "the feed lists 50,000 items; only the first 1,000 were read",
        1000,
    ),
    "json: cut off": (
        "json",
        lambda: _json_feed('[{"id": "1", "title": "Bir Duino"}')[:-1],
        "the server returned broken JSON (Expecting ',' delimiter: line 1 column 92 (char 91))",
        0,
    ),
    "json: not a JSON Feed": (
        "json",
        lambda: b'{"data": [{"title": "Bir Duino"}]}',
        "the server returned JSON, not a feed (no jsonfeed.org version)",
        0,
    ),
    "rss: a web page advertising 100,000 feeds": (
        "rss",
        lambda: _links(100_000)[:CAP],
        "the server returned an HTML page, not a feed; it advertises {base}/feed/0.xml (rss), "
        "{base}/feed/1.xml (rss), {base}/feed/2.xml (rss) and 17 more",
        0,
    ),
    "rss: a web page of 100,000 nested elements": (
        "rss",
        lambda: _nested(100_000),
        "the server returned an HTML page, not a feed",
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_new_parsers_survive_monsters(lab: FeedLab, httpserver: HTTPServer, name: str) -> None:
    kind, make, recorded, kept = CASES[name]
    httpserver.expect_request("/feed").respond_with_data(make(), content_type=CONTENT_TYPES[kind])
    url = httpserver.url_for("/feed")
    lab.configure(
        f"defaults:\n  host_delay: 0\nfeeds:\n  - id: f\n    url: {url}\n{FEEDS[kind]}{WATCH}",
        RIGHTSWATCH_MAX_FEED_BYTES=str(CAPS.get(name, CAP)),
    )
    outcome = lab.poll("f")
    error = lab.feed("f").last_error
    base = httpserver.url_for("").rstrip("/")
    assert error == (recorded.format(url=url, base=base) if recorded else None)
    assert error is None or ("\n" not in error and len(error) < 1000)
    entries = lab.entries("f")
    assert len(entries) == kept
    assert outcome.failed == (kept == 0 and recorded is not None)
    named = [e for e in entries if "Bir Duino" in f"{e.title} {e.summary} {e.content}"]
    assert len(outcome.new_match_ids) == len(named) >= kept - 1  # a post cut off is kept unnamed
