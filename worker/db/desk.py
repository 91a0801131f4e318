"""What the desk pages read: recent matches with their entry, feed and watch list.

Titles, snippets and hits are encrypted at rest, so searching them happens after
decryption, over a bounded window of the newest matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.db.models import Delivery, DigestItem, Entry, Feed, Match, Watchlist


@dataclass(frozen=True, slots=True)
class MatchRow:
    match: Match
    entry: Entry
    feed_title: str
    watchlist_title: str


def recent_matches(session: Session, since: datetime, limit: int) -> list[MatchRow]:
    """The newest matches since ``since``, newest first, at most ``limit``."""
    rows = session.execute(
        select(Match, Entry, Feed.title, Feed.id, Watchlist.title)
        .join(Entry, Match.entry_id == Entry.id)
        .join(Feed, Entry.feed_id == Feed.id)
        .join(Watchlist, Match.watchlist_id == Watchlist.id)
        .where(Match.created_at >= since)
        .order_by(Match.created_at.desc(), Match.id.desc())
        .limit(limit)
    )
    return [
        MatchRow(match, entry, feed_title or feed_id, watchlist_title)
        for match, entry, feed_title, feed_id, watchlist_title in rows
    ]


def match_row(session: Session, match_id: int) -> MatchRow | None:
    row = session.execute(
        select(Match, Entry, Feed.title, Feed.id, Watchlist.title)
        .join(Entry, Match.entry_id == Entry.id)
        .join(Feed, Entry.feed_id == Feed.id)
        .join(Watchlist, Match.watchlist_id == Watchlist.id)
        .where(Match.id == match_id)
    ).one_or_none()
    if row is None:
        return None
    match, entry, feed_title, feed_id, watchlist_title = row
    return MatchRow(match, entry, feed_title or feed_id, watchlist_title)


def deliveries_of_match(session: Session, match_id: int) -> list[tuple[str, str, str]]:
    """(subscriber, kind, status) of every delivery that carried the match, alone or in a
    digest."""
    alone = select(Delivery.subscriber_id, Delivery.kind, Delivery.status).where(
        Delivery.match_id == match_id
    )
    digests = (
        select(Delivery.subscriber_id, Delivery.kind, Delivery.status)
        .join(DigestItem, DigestItem.delivery_id == Delivery.id)
        .where(DigestItem.match_id == match_id)
    )
    rows = session.execute(alone.union_all(digests))
    return sorted((s, k, st) for s, k, st in rows)


@dataclass(frozen=True, slots=True)
class Mention:
    match_id: int
    at: datetime
    watchlist_id: str
    feed_title: str
    terms: list[str]


def mentions(session: Session, since: datetime, limit: int) -> list[Mention]:
    """The newest matches since ``since`` (at most ``limit``), with only what the desk's
    chart needs: when, which feed carried it, and the names that fired."""
    rows = session.execute(
        select(Match.id, Match.created_at, Match.watchlist_id, Feed.title, Feed.id, Match.terms)
        .join(Entry, Match.entry_id == Entry.id)
        .join(Feed, Entry.feed_id == Feed.id)
        .where(Match.created_at >= since)
        .order_by(Match.created_at.desc(), Match.id.desc())
        .limit(limit)
    )
    return [
        Mention(match_id, at, watchlist_id, feed_title or feed_id, [str(t) for t in terms])
        for match_id, at, watchlist_id, feed_title, feed_id, terms in rows
    ]
