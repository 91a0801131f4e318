"""Whatever a server sends, the worker survives and says what was wrong.

The corpus in tests/data/feeds/ (malformed, truncated, mis-encoded and hostile
feeds) plus generated monsters (enormous attributes, deep nesting, 100 MB
bodies, broken HTTP) is served by local HTTP servers and polled through the
real poll job against PostgreSQL. Nothing raises; every failure is recorded on
the feed as one line a person understands; entries read before a break are kept.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.feedlab import FeedLab

CORPUS = Path(__file__).resolve().parent / "data" / "feeds"
WATCH = (
    "watchlists:\n  - id: ngo\n    title: NGOs\n    keywords: [Bir Duino]\n"
    "subscribers:\n  - id: s\n    console: true\n    watchlists: [ngo]\n"
)


# file → (content type, what the feed records, entries kept, of which match "Bir Duino")
CASES: dict[str, tuple[str, str | None, int, int]] = {
    "truncated.xml": ("application/rss+xml", "malformed feed (line 5: no element found)", 3, 1),
    "billion_laughs.xml": ("application/xml", "malformed feed (line 5: undefined entity)", 1, 1),
    "external_entity.xml": ("application/xml", "malformed feed (line 2: syntax error)", 1, 1),
    "binary_junk.bin": (
        "application/octet-stream",
        "not an RSS or Atom feed (line 2: not well-formed (invalid token))",
        0,
        0,
    ),
    "empty.xml": ("application/rss+xml", "the response was empty", 0, 0),
    "whitespace.xml": ("text/xml", "the response was empty", 0, 0),
    "json_feed.json": ("application/feed+json", None, 1, 1),  # a JSON Feed 1.1 reads as one
    "html_page.html": ("text/html", "the server returned an HTML page, not a feed", 0, 0),
    "not_xml_at_all.txt": ("text/plain", "not an RSS or Atom feed (line 2: syntax error)", 0, 0),
    "cp1251_declared_utf8.xml": ("application/rss+xml", None, 1, 1),
    "koi8r_undeclared.xml": ("text/xml", None, 1, 1),
    "utf16_bom.xml": ("application/xml", None, 1, 1),
    "control_characters.xml": (
        "application/rss+xml",
        "malformed feed (line 3: not well-formed (invalid token))",
        1,
        1,
    ),
    "unclosed_cdata.xml": (
        "application/rss+xml",
        "malformed feed (line 4: unclosed CDATA section)",
        1,
        0,
    ),
    "atom_empty.xml": ("application/atom+xml", None, 0, 0),
    "hostile_html.xml": ("application/rss+xml", None, 1, 1),
    "bogus_dates.xml": ("application/rss+xml", None, 2, 1),
}


def _one_line(message: str) -> None:
    assert "\n" not in message and "Traceback" not in message and len(message) < 300, message


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_corpus(lab: FeedLab, httpserver: HTTPServer, name: str) -> None:
    content_type, recorded, kept, matched = CASES[name]
    httpserver.expect_request("/feed").respond_with_data(
        (CORPUS / name).read_bytes(), content_type=content_type
    )
    lab.configure(
        f"defaults:\n  host_delay: 0\nfeeds:\n  - id: f\n    url: {httpserver.url_for('/feed')}\n{WATCH}"
    )
    outcome = lab.poll("f")
    feed = lab.feed("f")
    assert feed.last_error == recorded
    if feed.last_error is not None:
        _one_line(feed.last_error)
    entries = lab.entries("f")
    assert len(entries) == kept and len(outcome.new_match_ids) == matched
    assert outcome.failed == (kept == 0 and recorded is not None)
    assert feed.consecutive_failures == (1 if outcome.failed else 0)
    for entry in entries:
        assert "<" not in entry.title and "\x00" not in entry.title
        assert "root:" not in entry.summary  # no external entity was read
        assert len(entry.title) < 1000  # no entity was expanded


def test_cyrillic_read_right_however_declared(lab: FeedLab, httpserver: HTTPServer) -> None:
    for name in ("cp1251_declared_utf8.xml", "koi8r_undeclared.xml", "utf16_bom.xml"):
        httpserver.expect_request(f"/{name}").respond_with_data((CORPUS / name).read_bytes())
    feeds = "".join(
        f"  - id: f{i}\n    url: {httpserver.url_for('/' + name)}\n"
        for i, name in enumerate(
            ("cp1251_declared_utf8.xml", "koi8r_undeclared.xml", "utf16_bom.xml")
        )
    )
    lab.configure(f"defaults:\n  host_delay: 0\nfeeds:\n{feeds}")
    for i in range(3):
        lab.poll(f"f{i}")
        (entry,) = lab.entries(f"f{i}")
        assert entry.title == "Правозащитники Bir Duino"


def _rss_with(item_part: bytes, inside: bytes = b"") -> bytes:
    return (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<item><guid>ok</guid><title>Bir Duino first</title></item>"
        b"<item"
        + item_part
        + b"><guid>m</guid><title>Bir Duino</title><description>"
        + inside
        + b"</description></item></channel></rss>"
    )


GENERATED: dict[str, tuple[Callable[[], bytes], str | None, int]] = {
    "enormous attribute": (lambda: _rss_with(b' x="' + b"A" * 8_000_000 + b'"'), None, 2),
    "100,000 attributes": (
        lambda: _rss_with(b" " + b" ".join(b'a%d="v"' % i for i in range(100_000))),
        "refused to parse the feed: an element has 100,000 attributes (more than 1,000)",
        0,
    ),
    "deep nesting": (lambda: _rss_with(b"", b"<x>" * 100_000 + b"</x>" * 100_000), None, 2),
    "deep escaped HTML": (lambda: _rss_with(b"", b"&lt;div&gt;" * 200_000 + b"text"), None, 2),
    "100,000 items": (
        lambda: (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            + b"".join(b"<item><guid>%d</guid><title>x</title></item>" % i for i in range(100_000))
            + b"</channel></rss>"
        ),
        "the feed lists 100,000 items; only the first 1,000 were read",
        1000,
    ),
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_monsters(lab: FeedLab, httpserver: HTTPServer, name: str) -> None:
    make, recorded, kept = GENERATED[name]
    httpserver.expect_request("/feed").respond_with_data(make(), content_type="application/xml")
    lab.configure(
        f"defaults:\n  host_delay: 0\nfeeds:\n  - id: f\n    url: {httpserver.url_for('/feed')}\n{WATCH}"
    )
    lab.poll("f")  # a hang is caught by the suite's per-test timeout
    assert lab.feed("f").last_error == recorded
    assert len(lab.entries("f")) == kept


@pytest.mark.parametrize("declare_length", [True, False])
def test_a_100_mb_response_is_cut_off(
    lab: FeedLab, httpserver: HTTPServer, declare_length: bool
) -> None:
    size = 100 * 1024 * 1024
    chunk = b"<item><title>Bir Duino</title></item>" * 1000

    def handler(_: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            sent = 0
            while sent < size:
                yield chunk
                sent += len(chunk)

        headers = {"Content-Length": str(size + 64)} if declare_length else {}
        return Response(body(), headers=headers, content_type="application/rss+xml")

    httpserver.expect_request("/feed").respond_with_handler(handler)
    lab.configure(
        f"defaults:\n  host_delay: 0\nfeeds:\n  - id: f\n    url: {httpserver.url_for('/feed')}\n"
    )
    error = lab.poll("f").error
    assert error is not None and error.startswith("response larger than 20,971,520 bytes")


class _RawServer:
    """A TCP server that answers every connection with fixed bytes, then closes it."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.reply)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            b"\x16\x03\x01\x02\x00binary junk, not HTTP\r\n\r\n",
            "the server broke the HTTP protocol",
        ),
        (b"", "the server broke the HTTP protocol"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss version='2.0'><channel>",
            "the server broke the HTTP protocol",
        ),
    ],
)
def test_broken_http_is_a_recorded_failure(lab: FeedLab, reply: bytes, message: str) -> None:
    server = _RawServer(reply)
    try:
        lab.configure(
            f"defaults:\n  host_delay: 0\nfeeds:\n  - id: f\n    url: http://127.0.0.1:{server.port}/feed\n"
        )
        error = lab.poll("f").error
    finally:
        server.close()
    assert error is not None and error.startswith(message), error
    _one_line(error)
