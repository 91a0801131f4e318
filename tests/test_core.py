"""The pure core: parse, normalise, dedup and schedule, as tables of cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from worker.core.dedup import canonical_link, entry_identity
from worker.core.errors import ParseError
from worker.core.schedule import MAX_BACKOFF, delivery_retry_at, next_poll, poll_batches
from worker.core.types import ParsedEntry
from worker.ingest.normalise import html_to_text, normalise_entry
from worker.ingest.parse import parse_feed

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Azimjan&nbsp;Askarov</p>", "Azimjan Askarov"),
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("a<br>b", "a\nb"),
        ("<script>alert('x')</script>visible<style>p{}</style>", "visible"),
        ("&lt;b&gt; is literal", "<b> is literal"),
        ("soft\u00adhyphen and zero\u200bwidth", "softhyphen and zerowidth"),
        ("Аскаро\u0301в", "Аскаро\u0301в"),
        ("e\u0301", "\u00e9"),
        ("plain   text\t here", "plain text here"),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_normalise_entry_keeps_text_and_identity() -> None:
    parsed = ParsedEntry(
        guid=None,
        link="HTTPS://Example.org:443/report/?utm_source=x&id=7#top",
        title="<b>Title</b>",
        summary_html="<p>Summary</p>",
        content_html="<p>Summary</p>",
        published=NOW,
        language="ru-RU",
    )
    entry = normalise_entry(parsed)
    assert (entry.title, entry.summary, entry.content) == ("Title", "Summary", "")
    assert entry.identity == "link:https://example.org/report?id=7"
    assert entry.language == "ru"
    assert len(entry.content_hash) == 64


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://EXAMPLE.org/a/", "https://example.org/a"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/a?utm_medium=rss&fbclid=1&p=2", "https://example.org/a?p=2"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org", "https://example.org/"),
        (" http://x]/a ", "http://x]/a"),  # unsplittable (IPv6 bracket): its own key
    ],
)
def test_canonical_link(link: str, canonical: str) -> None:
    assert canonical_link(link) == canonical


def test_identity_prefers_guid_then_link_then_hash() -> None:
    assert entry_identity("g-1", "https://e.org/x", "h") == "guid:g-1"
    assert entry_identity("  ", "https://e.org/x", "h") == "link:https://e.org/x"
    assert entry_identity(None, None, "abc") == "hash:abc"


def test_next_poll_backs_off_and_never_gives_up() -> None:
    interval = timedelta(minutes=15)
    ok = next_poll(NOW, interval, 0, "f")
    assert interval * 0.9 <= ok - NOW <= interval  # the interval is a promise
    one = next_poll(NOW, interval, 1, "f") - NOW
    three = next_poll(NOW, interval, 3, "f") - NOW
    assert interval <= one < interval * 1.1  # one blip costs no more than the interval
    assert interval * 4 <= three < interval * 4.4
    capped = next_poll(NOW, interval, 500, "f") - NOW
    assert MAX_BACKOFF <= capped <= MAX_BACKOFF * 1.1


def test_feeds_are_spread_over_the_jitter_window() -> None:
    times = {next_poll(NOW, timedelta(minutes=10), 0, f"feed-{i}") for i in range(50)}
    assert len(times) == 50


@pytest.mark.parametrize(
    ("due", "sizes"),
    [
        (0, []),
        (1, [1]),
        (16, [1] * 16),
        (17, [2] * 8 + [1]),
        (100, [7] * 14 + [2]),
        (1000, [10] * 100),
    ],
)
def test_due_feeds_are_batched_over_enough_tasks(due: int, sizes: list[int]) -> None:
    """A few due feeds get a task each; many go several to a task, never more than 10."""
    feed_ids = [f"feed-{i}" for i in range(due)]
    batches = poll_batches(feed_ids)
    assert [len(b) for b in batches] == sizes
    assert [f for b in batches for f in b] == feed_ids


@pytest.mark.parametrize("attempts", [1, 2, 5, 10, 40])
def test_delivery_backoff_is_jittered_and_capped(attempts: int) -> None:
    rng = random.Random(attempts)
    delays = [delivery_retry_at(NOW, attempts, rng.random()) - NOW for _ in range(200)]
    assert all(timedelta(seconds=5) <= d <= timedelta(hours=6) for d in delays)
    assert len(set(delays)) > 100


def test_delivery_backoff_honours_retry_after() -> None:
    assert delivery_retry_at(NOW, 1, 0.0, retry_after=120) - NOW == timedelta(seconds=120)
    assert delivery_retry_at(NOW, 1, 0.0, retry_after=10**9) - NOW == timedelta(hours=6)


RSS = b"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>
<language>ru</language>
<item><guid>a</guid><title>One</title><link>https://e.org/1</link>
<description>&lt;p&gt;First&lt;/p&gt;</description><pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate></item>
<item><title>Two</title><link>https://e.org/2</link><description>Second</description></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>A</title><id>urn:a</id><updated>2026-11-22T10:00:00Z</updated>
<entry><title>E</title><id>urn:e</id><link href="https://e.org/e"/><updated>2026-11-22T10:00:00Z</updated>
<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"""


def test_parse_rss() -> None:
    feed = parse_feed(RSS, "https://e.org/feed")
    assert feed.title == "T" and feed.language == "ru"
    first, second = feed.entries
    # feedparser resolves a GUID against the feed URL, as it does links.
    assert first.guid == "https://e.org/a" and first.link == "https://e.org/1"
    assert first.published == datetime(2026, 11, 16, 9, tzinfo=UTC)
    assert second.guid is None and second.published is None


def test_parse_atom() -> None:
    (entry,) = parse_feed(ATOM).entries
    assert entry.guid == "urn:e" and "Body" in entry.content_html


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", None, "empty"),
        (b"   \n", None, "empty"),
        (b"<!DOCTYPE html><html><body>Login</body></html>", "text/html", "HTML page"),
        (b"<html><head></head><body>x</body></html>", None, "HTML page"),
        (b'{"items": []}', "application/json", "JSON"),
        (b"\x00\x01\x02binary junk\xff\xfe", None, "not an RSS or Atom feed"),
    ],
)
def test_parse_refuses_what_is_not_a_feed(
    body: bytes, content_type: str | None, message: str
) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, "https://e.org/feed", content_type)


def test_truncated_feed_keeps_the_entries_before_the_break() -> None:
    feed = parse_feed(RSS[: RSS.index(b"<item><title>Two")] + b"<item><title>Tw")
    assert [e.guid for e in feed.entries][:1] == ["a"]
    assert feed.problem is not None


def test_entity_expansion_is_not_performed() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
        b'<!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">]>'
        b'<rss version="2.0"><channel><title>&g;</title><item><title>x</title></item></channel></rss>'
    )
    try:
        feed = parse_feed(bomb)
    except ParseError:
        return
    assert len(feed.title or "") < 100_000
