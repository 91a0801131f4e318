"""One feed end to end, and one delivery end to end.

These functions call the effectful edges (fetcher, database, notifiers) and
the pure core (parse, normalise, dedup, match, schedule). They commit their own
transactions and return the ids of what they created, so the caller (a Celery
task or the embedded loop) enqueues follow-up work only after the commit.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy.orm import Session

from worker.db import repo
from worker.db.models import Delivery, Entry, Match
from worker.dedup import identity_key
from worker.errors import DeliveryError, FetchError, ParseError
from worker.fetch import Fetcher
from worker.matching import Matcher
from worker.normalise import normalise_entry
from worker.notify.base import Notifier, Recipient
from worker.parse import parse_feed
from worker.schedule import delivery_retry_at, next_poll
from worker.settings import Settings
from worker.types import Alert, AlertTerm, Hit, ParsedEntry
from worker.types import Entry as NormalisedEntry

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]
DELIVERY_LEASE = timedelta(minutes=5)
DELIVERY_LIFETIME = timedelta(days=3)


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


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    delivery_id: str
    status: str
    """sent, retrying, dead, cancelled, or skipped (not ours to send now)."""
    error: str | None = None


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


def deliver(
    sessions: SessionMaker,
    delivery_id: str,
    *,
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    now: Callable[[], datetime],
    rng: random.Random | None = None,
) -> DeliveryOutcome:
    """Claim one delivery, send it, record the result. Safe to call twice."""
    with sessions() as session, session.begin():
        if not repo.claim_delivery(session, delivery_id, now(), DELIVERY_LEASE):
            return DeliveryOutcome(delivery_id, "skipped")
    with sessions() as session:
        row = repo.match_for_delivery(session, delivery_id)
    if row is None:
        return DeliveryOutcome(delivery_id, "skipped")
    delivery, match, entry, feed, watchlist, subscriber = row
    if not subscriber.active:
        return _record(sessions, delivery_id, "cancelled", None, None)
    alert = Alert(
        delivery_id=delivery_id,
        match_id=match.id,
        watchlist_id=watchlist.id,
        watchlist_title=watchlist.title,
        feed_id=feed.id,
        feed_title=feed.title or feed.id,
        entry_title=entry.title,
        entry_link=entry.link,
        entry_published=entry.published_at,
        terms=tuple(
            AlertTerm(h["kind"], h["term"], h["text"], h["field"], h["variant"]) for h in match.hits
        ),
        snippet=match.snippet,
        matched_at=match.created_at,
    )
    recipient = Recipient(
        subscriber_id=subscriber.id,
        channel=subscriber.channel,
        address=subscriber.address,
        secret=settings.secret(subscriber.secret_env) if subscriber.secret_env else None,
    )
    notifier = notifiers.get(subscriber.channel)
    try:
        if notifier is None:
            raise DeliveryError(f"no notifier for channel {subscriber.channel!r}", retryable=False)
        notifier.send(alert, recipient)
    except DeliveryError as e:
        error = f"{type(e).__name__}: {e}"
        at = now()
        if not e.retryable or at - delivery.created_at > DELIVERY_LIFETIME:
            log.warning(
                "delivery %s dead after %d attempts: %s", delivery_id, delivery.attempts, error
            )
            return _record(sessions, delivery_id, "dead", error, None)
        retry_at = delivery_retry_at(at, delivery.attempts, (rng or random).random(), e.retry_after)
        log.info(
            "delivery %s failed (attempt %d), retry at %s: %s",
            delivery_id,
            delivery.attempts,
            retry_at.isoformat(),
            error,
        )
        return _record(sessions, delivery_id, "retrying", error, retry_at)
    log.info(
        "delivery %s sent via %s to subscriber %s", delivery_id, subscriber.channel, subscriber.id
    )
    return _record(sessions, delivery_id, "sent", None, None, sent_at=now())


def _record(
    sessions: SessionMaker,
    delivery_id: str,
    status: str,
    error: str | None,
    retry_at: datetime | None,
    sent_at: datetime | None = None,
) -> DeliveryOutcome:
    with sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None:
            delivery.status = status
            delivery.last_error = error
            delivery.claimed_until = None
            if retry_at is not None:
                delivery.next_attempt_at = retry_at
            if sent_at is not None:
                delivery.sent_at = sent_at
    return DeliveryOutcome(delivery_id, status, error)
