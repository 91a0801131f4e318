"""Feeds and a configuration for the ingest benchmark, derived from a seed.

N feeds of M entries each, every entry a real-length article (~3 KB of HTML in
``content:encoded`` plus a summary), written from the matching benchmark's
corpus so that some entries name watched people; and a rightswatch YAML with
10,000 watched names spread over 100 watch lists.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import yaml
from _matching_data import make_corpus

from worker.core.types import Document, WatchlistSpec

START = datetime(2026, 11, 1, tzinfo=UTC)


def _html(text: str, rng: random.Random) -> str:
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    out = []
    for paragraph in paragraphs:
        words = paragraph.split(" ")
        if len(words) > 6 and rng.random() < 0.5:
            at = rng.randrange(len(words) - 3)
            words[at] = (
                f'<a href="https://bench.example/ref/{rng.randrange(10**6)}">{words[at]}</a>'
            )
        if len(words) > 6 and rng.random() < 0.3:
            at = rng.randrange(len(words))
            words[at] = f"<strong>{words[at]}</strong>"
        out.append(f"<p>{' '.join(words)}</p>")
    return "\n".join(out)


def _item(feed: int, index: int, doc: Document, rng: random.Random) -> str:
    published = START + timedelta(hours=index * 3 + feed % 7)
    content = _html(doc.fields["content"], rng)
    return (
        f'<item><guid isPermaLink="false">bench-{feed}-{index}</guid>'
        f"<title>{escape(doc.fields['title'])}</title>"
        f"<link>https://bench.example/feed{feed}/{index}</link>"
        f"<pubDate>{format_datetime(published)}</pubDate>"
        f"<description>{escape('<p>' + doc.fields['summary'] + '</p>')}</description>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
    )


def write_feeds(folder: Path, feeds: int, entries: int, names: int) -> list[WatchlistSpec]:
    """Write ``feed<i>.xml`` files; return the watch lists that go with them."""
    corpus = make_corpus(names=names, keywords=100, entries=feeds * entries, lists=100, seed=6)
    rng = random.Random(7)
    folder.mkdir(parents=True, exist_ok=True)
    for feed in range(feeds):
        items = "".join(
            _item(feed, i, corpus.documents[feed * entries + i], rng) for i in range(entries)
        )
        (folder / f"feed{feed}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Bench feed {feed}</title><link>https://bench.example/feed{feed}</link>"
            f"<description>Benchmark feed {feed}</description><language>en</language>"
            f"{items}</channel></rss>",
            encoding="utf-8",
        )
    return corpus.watchlists


def _watchlist(spec: WatchlistSpec) -> dict[str, Any]:
    data: dict[str, Any] = {"id": spec.id, "title": spec.title}
    if spec.people:
        data["people"] = [
            {"name": p.name, **({"aliases": list(p.aliases)} if p.aliases else {})}
            for p in spec.people
        ]
    if spec.keywords:
        data["keywords"] = list(spec.keywords)
    for key in ("require", "exclude", "languages"):
        if getattr(spec, key):
            data[key] = list(getattr(spec, key))
    if spec.near:
        data["near"] = [{"terms": list(n.terms), "within": n.within} for n in spec.near]
    return data


def write_config(path: Path, base_url: str, feeds: int, watchlists: list[WatchlistSpec]) -> None:
    """The benchmark's YAML: politeness off (one local host serves every feed), and no
    subscribers (alert fan-out is the delivery stage's work, not ingest)."""
    config = {
        "defaults": {"host_concurrency": 64, "host_delay": 0},
        "feeds": [{"id": f"feed{i}", "url": f"{base_url}/feed{i}.xml"} for i in range(feeds)],
        "watchlists": [_watchlist(w) for w in watchlists],
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


_APPEAL_WORDS = (  # noqa: SIM905 - one readable sentence
    "please write immediately calling on the authorities to release the detained person "
    "unconditionally as they are held solely for their peaceful human rights work urging "
    "them to ensure that pending release the person is not tortured or otherwise ill treated "
    "and has regular access to family and lawyers of their choosing and to end the harassment "
    "of human rights defenders in the country send appeals before the end of next month to "
    "the prosecutor general and the minister of internal affairs with copies to diplomatic "
    "representatives accredited to your country check with your section office if sending "
    "appeals after the above date"
).split()
FOOTER = (
    "<p>This appeal is part of our campaign for defenders at risk. Share it: Facebook, "
    "Twitter, Email, Print. Donate to keep this work independent. Read more on our website; "
    "subscribe to our newsletter for the latest urgent actions and reports.</p>"
)


def _appeal(variant: int) -> str:
    rng = random.Random(variant)
    words = list(_APPEAL_WORDS) * 2
    for _ in range(8):  # each outlet edits its template a little
        words[rng.randrange(len(words))] = rng.choice(_APPEAL_WORDS)
    return "<p>" + " ".join(words) + ".</p>"


def write_overlap_feeds(folder: Path, feeds: int, entries: int, names: int) -> list[WatchlistSpec]:
    """Feeds whose entries overlap heavily, the case that made story dedup quadratic.

    Every entry carries one of four appeal templates (longer than its own text) and a
    standard footer, four in five name a watched person (so all of them are compared
    by text), and every third is a syndicated copy of the same item of the previous
    feed (same text, its own GUID and link).
    """
    corpus = make_corpus(names=names, keywords=100, entries=feeds * entries, lists=100, seed=6)
    people = [p.name for w in corpus.watchlists for p in w.people]
    rng = random.Random(8)
    folder.mkdir(parents=True, exist_ok=True)
    templates = [_appeal(v) for v in range(4)]
    bodies: dict[tuple[int, int], tuple[str, str]] = {}
    for feed in range(feeds):
        items = []
        for i in range(entries):
            if feed and i % 3 == 0:
                title, content = bodies[(feed - 1, i)]
            else:
                doc = corpus.documents[feed * entries + i]
                named = f"<p>{rng.choice(people)} was detained.</p>" if rng.random() < 0.8 else ""
                title = doc.fields["title"]
                content = (
                    named + _html(doc.fields["content"], rng)[:1200] + templates[(feed + i) % 4]
                ) + FOOTER
            bodies[(feed, i)] = (title, content)
            published = START + timedelta(hours=i * 3 + feed % 7)
            items.append(
                f'<item><guid isPermaLink="false">overlap-{feed}-{i}</guid>'
                f"<title>{escape(title)}</title>"
                f"<link>https://outlet{feed}.example/{i}</link>"
                f"<pubDate>{format_datetime(published)}</pubDate>"
                f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
            )
        (folder / f"feed{feed}.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Outlet {feed}</title><link>https://outlet{feed}.example/</link>"
            f"<description>Overlap feed {feed}</description><language>en</language>"
            f"{''.join(items)}</channel></rss>",
            encoding="utf-8",
        )
    return corpus.watchlists
