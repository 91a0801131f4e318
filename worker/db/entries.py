"""Entries, their stories across feeds, and their matches: what a poll reads and writes."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from worker.db.models import (
    Delivery,
    DigestItem,
    Entry,
    Feed,
    Match,
    StoryBand,
    StorySignature,
    UTCDateTime,
)
from worker.db.sql import among, insert_ignore, insert_new, on_postgresql

STORY_LOCK = 0x7277_5354
"""Advisory lock taken instead of one per key when a poll has very many (PostgreSQL)."""
STORY_LOCK_LIMIT = 512


_PG_KNOWN = text(
    "SELECT id, identity_key, link_key, content_hash, story_id FROM entries"
    " WHERE feed_id = :feed AND (identity_key = ANY(CAST(:identity AS varchar[]))"
    " OR link_key = ANY(CAST(:links AS varchar[]))) ORDER BY id"
)
"""The two look-ups of every poll as text, as :data:`_PG_BANDS`: building and compiling
the ORM statement cost more than running it (1.3-2 ms a statement against 0.5)."""
_PG_BY_LINK = text(
    "SELECT link_key, min(coalesce(story_id, id)) FROM entries"
    " WHERE link_key = ANY(CAST(:keys AS varchar[])) AND first_seen_at >= :since"
    " GROUP BY link_key"
).bindparams(bindparam("since", type_=UTCDateTime()))


def known_entries(
    session: Session, feed_id: str, identity_keys: Collection[str], link_keys: Collection[str]
) -> list[tuple[int, str, str | None, str, int | None]]:
    """Entries of the feed found by identity or link: (id, identity, link, hash, story)."""
    if on_postgresql(session):
        found = session.execute(
            _PG_KNOWN, {"feed": feed_id, "identity": list(identity_keys), "links": list(link_keys)}
        )
        return [tuple(r) for r in found]
    rows = session.execute(
        select(Entry.id, Entry.identity_key, Entry.link_key, Entry.content_hash, Entry.story_id)
        .where(
            Entry.feed_id == feed_id,
            among(session, Entry.identity_key, identity_keys)
            | among(session, Entry.link_key, link_keys),
        )
        .order_by(Entry.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def lock_stories(session: Session, link_keys: Collection[str], band_keys: Collection[int]) -> None:
    """Hold, until commit, the keys stories are found by, so two feeds polled at once see
    each other's copies of a report.

    PostgreSQL: transaction-level advisory locks on every key, taken in one global
    order (no deadlock); polls of unrelated reports do not wait for each other. Past
    STORY_LOCK_LIMIT keys, one lock for all. SQLite serialises writers anyway.
    """
    if not on_postgresql(session):
        return
    keys = sorted(
        {(1, int(k[:8], 16) - 2**31) for k in link_keys}
        | {(2, (v & 0xFFFFFFFF) - 2**31) for v in band_keys}
    )
    if len(keys) > STORY_LOCK_LIMIT:
        keys = [(0, STORY_LOCK)]
    if not keys:
        return
    session.execute(_PG_LOCKS, {"ns": [n for n, _ in keys], "k": [k for _, k in keys]})


_PG_LOCKS = text(
    "SELECT pg_advisory_xact_lock(ns, k) FROM (SELECT ns, k FROM"
    " unnest(CAST(:ns AS integer[]), CAST(:k AS integer[])) AS t(ns, k)"
    " ORDER BY ns, k) AS ordered"
)
"""Built once: parsing the text for its parameters is part of what a statement costs."""


def stories_by_link(
    session: Session, link_keys: Collection[str], since: datetime
) -> dict[str, int]:
    """Canonical-link key → story (its first entry) among entries seen since ``since``."""
    if not link_keys:
        return {}
    if on_postgresql(session):
        found = session.execute(_PG_BY_LINK, {"keys": list(link_keys), "since": since})
        return {key: story_id for key, story_id in found}
    story = func.coalesce(Entry.story_id, Entry.id)
    rows = session.execute(
        select(Entry.link_key, func.min(story))
        .where(among(session, Entry.link_key, link_keys), Entry.first_seen_at >= since)
        .group_by(Entry.link_key)
    )
    return {key: story_id for key, story_id in rows if key is not None}


BAND_QUERY_CHUNK = 200
"""Band keys per SQLite statement (it allows 500 terms in one compound SELECT)."""
_PG_BANDS = text(
    "SELECT k.key, b.story_id FROM unnest(CAST(:keys AS bigint[])) AS k(key)"
    " CROSS JOIN LATERAL (SELECT story_id FROM story_bands WHERE key = k.key"
    " AND created_at >= :since ORDER BY story_id DESC LIMIT :limit) AS b"
).bindparams(bindparam("since", type_=UTCDateTime()))
_SQLITE_SIZES = (20, 60, BAND_QUERY_CHUNK)
_SQLITE_BAND = (
    "SELECT * FROM (SELECT key, story_id FROM story_bands WHERE key = :k{i}"
    " AND created_at >= :since ORDER BY story_id DESC LIMIT :limit)"
)


@functools.cache
def _sqlite_bands(count: int) -> TextClause:
    return text(" UNION ALL ".join(_SQLITE_BAND.format(i=i) for i in range(count))).bindparams(
        bindparam("since", type_=UTCDateTime())
    )


def stories_by_band(
    session: Session, keys: Collection[int], since: datetime, limit: int
) -> list[tuple[int, int]]:
    """(band key, story) of the newest ``limit`` stories opened since ``since`` per band key.

    Per key an index range scan of at most ``limit`` rows of the primary key (key,
    story), so a band thousands of stories share costs no more. Written as text: the
    ORM compiling one subquery per key cost more than running them.
    """
    if not keys:
        return []
    if on_postgresql(session):
        result = session.execute(_PG_BANDS, {"keys": list(keys), "since": since, "limit": limit})
        return [tuple(r) for r in result]
    ordered = sorted(keys)
    rows: set[tuple[int, int]] = set()
    for start in range(0, len(ordered), BAND_QUERY_CHUNK):
        chunk = ordered[start : start + BAND_QUERY_CHUNK]
        # Padded (repeating a key) to one of a few sizes: a few statements to compile.
        size = next(s for s in _SQLITE_SIZES if s >= len(chunk))
        chunk += chunk[-1:] * (size - len(chunk))
        statement = _sqlite_bands(size)
        params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(chunk)}
        result = session.execute(statement, {**params, "since": since, "limit": limit})
        rows.update((key, story) for key, story in result)
    return list(rows)


def story_signatures(session: Session, story_ids: Collection[int]) -> dict[int, bytes]:
    """Stored signatures of stories (their first entries)."""
    if not story_ids:
        return {}
    rows = session.execute(
        select(StorySignature.story_id, StorySignature.signature).where(
            among(session, StorySignature.story_id, story_ids)
        )
    )
    return {story_id: bytes(signature) for story_id, signature in rows}


def entry_texts(session: Session, entry_ids: Collection[int]) -> dict[int, tuple[str, str, str]]:
    """Title, summary and content of entries (the first entries of stories)."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(Entry.id, Entry.title, Entry.summary, Entry.content).where(
            among(session, Entry.id, entry_ids)
        )
    )
    return {entry_id: (title, summary, content) for entry_id, title, summary, content in rows}


def story_coverage(
    session: Session, story_ids: Collection[int]
) -> list[tuple[int, str, str, list[Any]]]:
    """(story, subscriber, watch list, terms) of every alert or digest item already made."""
    if not story_ids:
        return []
    ids = list(story_ids)
    story = func.coalesce(Entry.story_id, Entry.id)
    in_story = Entry.id.in_(ids) | Entry.story_id.in_(ids)
    alerts = (
        select(story, Delivery.subscriber_id, Match.watchlist_id, Match.terms)
        .join(Match, Match.id == Delivery.match_id)
        .join(Entry, Entry.id == Match.entry_id)
        .where(in_story)
    )
    digests = (
        select(story, DigestItem.subscriber_id, Match.watchlist_id, Match.terms)
        .join(Match, Match.id == DigestItem.match_id)
        .join(Entry, Entry.id == Match.entry_id)
        .where(in_story)
    )
    return [tuple(r) for r in session.execute(alerts.union_all(digests))]


def also_reported_by(session: Session, match_id: int) -> tuple[str, ...]:
    """Titles of the other feeds that carried the story of a match, first seen first."""
    row = session.execute(
        select(func.coalesce(Entry.story_id, Entry.id), Entry.feed_id)
        .join(Match, Match.entry_id == Entry.id)
        .where(Match.id == match_id)
    ).one_or_none()
    if row is None:
        return ()
    story_id, feed_id = row
    feeds = session.execute(
        select(Feed.id, Feed.title)
        .join(Entry, Entry.feed_id == Feed.id)
        .where((Entry.id == story_id) | (Entry.story_id == story_id), Entry.feed_id != feed_id)
        .order_by(Entry.first_seen_at, Entry.id)
    )
    return tuple(dict.fromkeys(title or other for other, title in feeds))


def update_entries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk UPDATE by primary key: each row names its ``id`` and the columns that change."""
    if rows:
        session.execute(update(Entry), list(rows))


def insert_entries(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """Insert new entries; (identity key, id) of those that were really new."""
    return insert_new(session, Entry, rows, Entry.identity_key, Entry.id)


def insert_signatures(
    session: Session, signatures: Sequence[dict[str, Any]], bands: Sequence[dict[str, Any]]
) -> None:
    """Store the signatures and band keys of stories just opened."""
    insert_ignore(session, StorySignature, signatures)
    insert_ignore(session, StoryBand, bands)


def insert_matches(session: Session, rows: Sequence[dict[str, Any]]) -> list[tuple[int, str, int]]:
    """Insert matches; (id, watch list, entry) of those that were really new."""
    return insert_new(session, Match, rows, Match.id, Match.watchlist_id, Match.entry_id)


def found_since(
    session: Session, feed_ids: Collection[str], since: datetime
) -> dict[str, tuple[int, int]]:
    """Per feed: entries first seen and matches made at or after ``since`` (for `poll`)."""
    counts = {feed_id: (0, 0) for feed_id in feed_ids}
    entries = session.execute(
        select(Entry.feed_id, func.count())
        .where(Entry.feed_id.in_(list(feed_ids)), Entry.first_seen_at >= since)
        .group_by(Entry.feed_id)
    )
    for feed_id, n in entries:
        counts[feed_id] = (n, 0)
    matches = session.execute(
        select(Entry.feed_id, func.count())
        .join(Match, Match.entry_id == Entry.id)
        .where(Entry.feed_id.in_(list(feed_ids)), Match.created_at >= since)
        .group_by(Entry.feed_id)
    )
    for feed_id, n in matches:
        counts[feed_id] = (counts[feed_id][0], n)
    return counts
