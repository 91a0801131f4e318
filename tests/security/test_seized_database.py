"""A seized database without the key cannot be joined to the public feeds it came from.

The attack of the security review, end to end: an operator runs rightswatch on
SQLite; the attacker takes the database file (no key), reads the feed URLs stored
in it, downloads those public feeds, and hashes every item the way an unkeyed
build would (SHA-256 of ``guid:…``, of the link's host and path, of the text; the
CRC-32 shingles and unkeyed MinHash signature of the text; the body's SHA-256;
the YAML's SHA-256; the publication times; and, in case a future column stores one,
the plain SHA-256, SHA-1, MD5 and CRC-32 of each item's GUID, link, title and text in
any form a look-up key could take, in full or truncated, as text, number or bytes).
Nothing of that may be found in any cell of any table, nor the items' language. The same attack on a database written without a key does join
every matched report: the check is not vacuous. And setting a key on a database
keyed otherwise refuses to poll until ``rotate-key`` (which would otherwise alert
for every stored entry again).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from worker.core import dedup
from worker.core.types import NormalisedEntry
from worker.db.config_sync import LookupKeyMismatch
from worker.db.models import Entry
from worker.embedded import EmbeddedService
from worker.ingest.normalise import normalise_entry
from worker.ingest.parse import parse_feed
from worker.runtime import Runtime
from worker.security.crypto import new_key
from worker.settings import Settings

BODY = (
    "Police in Bishkek detained the lawyer on the morning of 20 November as he left his "
    "office in the city centre. Officers in plain clothes did not show a warrant and took "
    "him to the district police station, where he was questioned for six hours without "
    "access to a colleague. Local organisations said the charge punishes his work."
)
ITEMS = [
    ("r1", "Azimjan Askarov remembered in Bishkek", f"Friends of Azimjan Askarov met. {BODY}"),
    ("r2", "Lawyer of Azimjan Askarov detained", f"Azimjan Askarov's lawyer was held. {BODY} 2"),
    ("r3", "Dam protest in Jalal-Abad", "Villagers protested against the dam near the river."),
    ("r4", "Court hears appeal in Osh", f"A court in Osh heard the appeal today. {BODY} 4"),
]
CONFIG = """\
defaults:
  host_delay: 0
feeds:
  - id: news
    url: {url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people: [{{name: Azimjan Askarov}}]
subscribers:
  - id: desk
    console: true
    watchlists: [kg]
"""


def _feed() -> str:
    items = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><title>{title}</title>'
        f"<link>https://news.example/2026/11/{guid}?utm_source=rss</link>"
        f"<description><![CDATA[{text}]]></description>"
        f"<pubDate>Mon, 16 Nov 2026 09:0{n}:17 +0000</pubDate></item>"
        for n, (guid, title, text) in enumerate(ITEMS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>News</title>'
        "<link>https://news.example/</link><description>d</description><language>ky</language>"
        f"{items}</channel></rss>"
    )


def _run(settings: Settings) -> str:
    runtime = Runtime(settings)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        return service.run_once().line()
    finally:
        runtime.close()


def _cells(url: str) -> tuple[set[str], set[int]]:
    """Every stored value of every table (SQLite or PostgreSQL), as text and (numbers
    and blobs) as integers."""
    texts: set[str] = set()
    numbers: set[int] = set()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            for table in sa.inspect(connection).get_table_names():
                for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                    for value in row:
                        if isinstance(value, memoryview):
                            value = bytes(value)
                        if isinstance(value, bool) or value is None:
                            continue
                        if isinstance(value, int):
                            numbers.update((value, value & 0xFFFFFFFF))
                        elif isinstance(value, bytes):
                            if len(value) % 4 == 0:
                                numbers.update(struct.unpack(f"<{len(value) // 4}I", value))
                            texts.add(value.hex())
                        else:
                            texts.add(str(value))
            urls = list(connection.execute(sa.text("SELECT url FROM feeds")).scalars())
    finally:
        engine.dispose()
    texts.update(urls)
    return texts, numbers


def _forms(entry: NormalisedEntry) -> dict[str, str]:
    """Everything of a public item a look-up key could be computed from."""
    assert entry.guid is not None and entry.link is not None
    canonical = dedup.canonical_link(entry.link)
    return {
        "guid": entry.guid,
        "guid:": "guid:" + entry.guid,
        "link": entry.link,
        "canonical link": canonical,
        "link:": "link:" + canonical,
        "host/path": canonical.split("://", 1)[1],
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "text": "\x1f".join((entry.title, entry.summary, entry.content)),
        "story text": dedup.story_text(entry.title, entry.summary, entry.content),
    }


def _unkeyed_hashes(entry: NormalisedEntry, texts: set[str], numbers: set[int]) -> set[str]:
    """Which plain hashes of the item's forms a cell holds: a SHA-256, SHA-1 or MD5 hex
    digest in full or cut to 16 characters anywhere in a text, its first 4 bytes as a
    number (a digest stored as bytes or an integer), or a CRC-32 as number or hex."""
    found: set[str] = set()
    for name, form in _forms(entry).items():
        if not form:
            continue  # an empty field (CRC-32 0) names nothing
        raw = form.encode()
        for algorithm in ("sha256", "sha1", "md5"):
            digest = hashlib.new(algorithm, raw)
            hexed = digest.hexdigest()
            if any(hexed[:16] in t for t in texts) or (
                int.from_bytes(digest.digest()[:4], "little") in numbers
                or int.from_bytes(digest.digest()[:4], "big") in numbers
            ):
                found.add(f"{algorithm}({name})")
        crc = zlib.crc32(raw)
        if crc in numbers or f"{crc:08x}" in texts:
            found.add(f"crc32({name})")
    return found


def _attack(database: str, config: Path) -> dict[str, set[str]]:
    """What joins: item guid → the unkeyed values of it found in the database."""
    texts, numbers = _cells(database)
    engine = sa.create_engine(database)
    with engine.connect() as connection:
        urls = list(connection.execute(sa.text("SELECT url FROM feeds")).scalars())
    engine.dispose()
    found: dict[str, set[str]] = {}
    for url in urls:
        body = httpx.get(url).content
        feed_hashes = {dedup.lookup_hash(body.decode()), dedup.lookup_hash(config.read_text())}
        if feed_hashes & texts:
            found.setdefault("(feed or config)", set()).add("body or YAML SHA-256")
        for item in parse_feed(body, url).entries:
            entry = normalise_entry(item)
            assert entry.guid is not None and entry.published is not None
            guess = {
                "identity": dedup.identity_key("guid:" + entry.guid),
                "link": dedup.link_key(entry.link) or "",
                "text": entry.content_hash,
                "published": entry.published.isoformat(),
                "published (SQLite)": entry.published.strftime("%Y-%m-%d %H:%M:%S"),
                "published (PostgreSQL)": str(entry.published),
            }
            hits = {name for name, value in guess.items() if any(value in t for t in texts)}
            hits |= _unkeyed_hashes(entry, texts, numbers)
            shingles = dedup.shingles(dedup.story_text(entry.title, entry.summary, entry.content))
            if len(shingles & numbers) > 3:
                hits.add("CRC-32 shingles")
            unkeyed = dedup.signature(shingles)
            if unkeyed and len(set(unkeyed) & numbers) > 3:
                hits.add("unkeyed signature")
            if set(dedup.bands(unkeyed)) & numbers:
                hits.add("unkeyed bands")
            if hits:
                found[entry.guid] = hits
    return found


@pytest.fixture
def news(httpserver: HTTPServer) -> str:
    httpserver.expect_request("/news.xml").respond_with_data(
        _feed(), content_type="application/rss+xml"
    )
    return httpserver.url_for("/news.xml")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the service writes and the attacker takes: a SQLite file, or a
    PostgreSQL database (read in full, as a dump would hold it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'rightswatch.db'}"
    return str(request.getfixturevalue("pg_database"))


def test_without_the_key_a_seized_database_joins_no_public_item(
    news: str, store: str, write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    config = write_config(CONFIG.format(url=news))
    keyed = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=store, RIGHTSWATCH_ENCRYPTION_KEY=new_key()
    )
    assert _run(keyed).endswith("entries: 4 new | matches: 2 new | alerts: 2 sent, 0 failed")
    assert _attack(store, config) == {}
    # What it still shows: the feed's URL, how many entries and matches, and when seen.
    engine = sa.create_engine(store)
    with engine.connect() as connection:
        one = connection.execute
        assert one(sa.text("SELECT url FROM feeds")).all() == [(news,)]
        assert one(sa.text("SELECT count(*) FROM entries")).scalar() == 4
        assert one(sa.text("SELECT count(*) FROM matches")).scalar() == 2
        assert one(sa.text("SELECT count(published_at) FROM entries")).scalar() == 0
        languages = one(sa.text("SELECT language FROM entries")).scalars().all()
    engine.dispose()
    assert languages and all(language.startswith("rw1:") for language in languages)


def test_the_same_attack_joins_every_item_of_a_database_written_without_a_key(
    news: str, store: str, write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    config = write_config(CONFIG.format(url=news))
    plain = make_settings(config, RIGHTSWATCH_DATABASE_URL=store)
    assert _run(plain).endswith("matches: 2 new | alerts: 2 sent, 0 failed")
    found = _attack(store, config)
    assert {"r1", "r2", "r3", "r4"} <= set(found)
    assert {"identity", "link", "text", "unkeyed signature", "sha256(guid:)"} <= found["r1"]


def test_a_database_keyed_otherwise_is_not_polled_until_rotate_key(
    news: str, write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    config = write_config(CONFIG.format(url=news))
    assert _run(make_settings(config)).endswith("alerts: 2 sent, 0 failed")
    with pytest.raises(LookupKeyMismatch, match="rotate-key"):
        _run(make_settings(config, RIGHTSWATCH_ENCRYPTION_KEY=new_key()))


def test_published_times_still_reach_the_alert(
    news: str, write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> None:
    config = write_config(CONFIG.format(url=news))
    settings = make_settings(config, RIGHTSWATCH_ENCRYPTION_KEY=new_key())
    _run(settings)
    runtime = Runtime(settings)
    try:
        with runtime.sessions() as session:
            times = sorted(e.published_time for e in session.query(Entry) if e.published_time)
    finally:
        runtime.close()
    assert times[0] == datetime.fromisoformat("2026-11-16T09:00:17+00:00")
