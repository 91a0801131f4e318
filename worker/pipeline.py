"""One feed end to end: fetch, parse, normalise, match, persist.

This calls the effectful edges (fetcher, database) and the pure core (parse,
normalise, dedup, match, schedule). It commits its own transaction and returns
the ids of what it created, so the caller (a Celery task or the embedded loop)
enqueues deliveries only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy.orm import Session

from worker.db import repo
from worker.db.models import Delivery, Entry, Match
from worker.dedup import identity_key
from worker.errors import FetchError, ParseError
from worker.fetch import Fetcher
from worker.matching import Matcher
from worker.normalise import normalise_entry
from worker.parse import parse_feed
from worker.schedule import next_poll
from worker.types import Entry as NormalisedEntry
from worker.types import Hit, ParsedEntry

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_id: str
    polled: bool
    """False when the poll was skipped (another worker has it, or it was already done)."""
    error: str | None = None
    new_entries: int = 0
    new_match_ids: tuple[int, ...] = ()
    delivery_ids: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error is not None


def _hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    return [
        {
            "kind": h.kind,
            "term": h.term,
            "text": h.text,
            "field": h.field,
            "start": h.start,
            "end": h.end,
            "variant": h.variant,
            "score": h.score,
            "snippet": h.snippet,
        }
        for h in hits
    ]


def poll_feed(
    sessions: SessionMaker,
    feed_id: str,
    *,
    fetcher: Fetcher,
    matcher: Matcher,
    now: datetime,
    not_before: datetime | None = None,
) -> PollOutcome:
    """Fetch, parse, normalise, match and persist one feed in one transaction.

    ``not_before``: skip if the feed was already polled at or after this time
    (a duplicate task after a redelivery).
    """
    with sessions() as session, session.begin():
        feed = repo.lock_feed(session, feed_id)
        if feed is None or not feed.active:
            return PollOutcome(feed_id, polled=False)
        if not_before is not None and feed.last_polled_at and feed.last_polled_at >= not_before:
            return PollOutcome(feed_id, polled=False)
        interval = timedelta(seconds=feed.poll_interval_seconds)
        feed.last_polled_at = now
        try:
            result = fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            parsed = (
                None
                if result.not_modified
                else parse_feed(result.body, result.url, result.content_type)
            )
        except (FetchError, ParseError) as e:
            feed.consecutive_failures += 1
            feed.last_error = str(e)
            feed.last_status = getattr(e, "status", None)
            feed.next_poll_at = next_poll(now, interval, feed.consecutive_failures, feed.id)
            log.warning("feed %s failed (%d in a row): %s", feed.id, feed.consecutive_failures, e)
            return PollOutcome(feed_id, polled=True, error=str(e))
        feed.consecutive_failures = 0
        feed.last_error = parsed.problem if parsed else None
        feed.last_status = result.status
        feed.last_success_at = now
        feed.next_poll_at = next_poll(now, interval, 0, feed.id)
        if result.not_modified or parsed is None:
            return PollOutcome(feed_id, polled=True)
        feed.etag, feed.last_modified = result.etag, result.last_modified
        outcome = _persist(session, feed_id, parsed.entries, parsed.language, matcher, now)
        feed.entry_count += outcome.new_entries
    log.info(
        "feed %s polled: %d new entries, %d new matches, %d deliveries",
        feed_id,
        outcome.new_entries,
        len(outcome.new_match_ids),
        len(outcome.delivery_ids),
    )
    return outcome


def _persist(
    session: Session,
    feed_id: str,
    parsed_entries: Sequence[ParsedEntry],
    feed_language: str | None,
    matcher: Matcher,
    now: datetime,
) -> PollOutcome:
    entries: dict[str, NormalisedEntry] = {}
    for parsed in parsed_entries:
        entry = normalise_entry(parsed, feed_language)
        entries.setdefault(identity_key(entry.identity), entry)
    known = repo.known_identity_keys(session, feed_id, list(entries))
    fresh = {key: entry for key, entry in entries.items() if key not in known}
    rows = [
        {
            "feed_id": feed_id,
            "identity_key": key,
            "guid": e.guid,
            "link": e.link,
            "title": e.title,
            "summary": e.summary,
            "content": e.content,
            "language": e.language,
            "published_at": e.published,
            "content_hash": e.content_hash,
            "first_seen_at": now,
        }
        for key, e in fresh.items()
    ]
    inserted = repo.insert_new(session, Entry, rows, Entry.identity_key)
    hits_by_entry: list[tuple[str, str, list[Hit]]] = []
    for key in inserted:
        by_watchlist: dict[str, list[Hit]] = {}
        for hit in matcher.match(fresh[key].document(feed_id)):
            by_watchlist.setdefault(hit.watchlist_id, []).append(hit)
        hits_by_entry.extend((key, wl, hits) for wl, hits in by_watchlist.items())
    if not hits_by_entry:
        return PollOutcome(feed_id, polled=True, new_entries=len(inserted))

    entry_ids = dict(
        session.query(Entry.identity_key, Entry.id)
        .filter(Entry.feed_id == feed_id, Entry.identity_key.in_([k for k, _, _ in hits_by_entry]))
        .all()
    )
    match_rows = [
        {
            "entry_id": entry_ids[key],
            "watchlist_id": watchlist_id,
            "hits": _hits_json(hits),
            "terms": list(dict.fromkeys(h.term for h in hits)),
            "snippet": hits[0].snippet,
            "created_at": now,
        }
        for key, watchlist_id, hits in hits_by_entry
    ]
    new_matches = repo.insert_new(session, Match, match_rows, Match.id, Match.watchlist_id)
    subscribers = repo.subscribers_by_watchlist(session, list({wl for _, wl in new_matches}))
    delivery_rows = [
        {
            "id": f"msg_{uuid4().hex}",
            "subscriber_id": subscriber_id,
            "match_id": match_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for match_id, watchlist_id in new_matches
        for subscriber_id in subscribers.get(watchlist_id, [])
    ]
    delivery_ids = repo.insert_new(session, Delivery, delivery_rows, Delivery.id)
    return PollOutcome(
        feed_id,
        polled=True,
        new_entries=len(inserted),
        new_match_ids=tuple(m for m, _ in new_matches),
        delivery_ids=tuple(delivery_ids),
    )
