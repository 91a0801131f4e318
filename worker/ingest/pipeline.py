"""One feed end to end: fetch, parse, normalise, decide, match, persist, assess health.

The poll as one readable script. It calls the effectful edges (the fetcher, the
database) and the pure core (parse, normalise, decide, stories, match, schedule,
health), commits its own transaction and returns the ids of what it created, so
the caller (a Celery task or the embedded loop) enqueues deliveries and operator
alerts only after the commit.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from worker import metrics
from worker.core.errors import FetchError, HostBusyError, ParseError, StoreError
from worker.core.schedule import spread
from worker.core.types import FetchResult, ParsedFeed, PollOutcome
from worker.db import websub
from worker.db.feeds import lock_feed
from worker.db.models import Feed
from worker.db.session import SessionFactory
from worker.ingest import feed_record
from worker.ingest.fetch import Fetcher
from worker.ingest.persist import persist
from worker.ingest.policy import PollPolicy
from worker.ingest.sources import fetch_source, parse_source
from worker.matching import Matcher
from worker.security import crypto

log = logging.getLogger(__name__)

DEFER_DELAY = timedelta(seconds=30)
"""A poll whose host is busy is tried again after 30 to 60 seconds (not a failure)."""


def ingest_feed(
    sessions: SessionFactory,
    feed_id: str,
    *,
    fetcher: Fetcher,
    matcher: Matcher,
    now: datetime,
    not_before: datetime | None = None,
    policy: PollPolicy | None = None,
    pushed: FetchResult | None = None,
    discover_hubs: bool = False,
) -> PollOutcome:
    """Fetch, parse, normalise, match and persist one feed in one transaction.

    ``not_before``: skip if the feed was already polled at or after this time
    (a duplicate task after a redelivery). Nothing a server sends makes this
    raise: every failure is recorded on the feed and returned as ``error``.
    Only a lost database connection raises (OperationalError: the task retries).

    ``pushed``: a body a WebSub hub delivered, taken instead of fetching (and
    handled from there on exactly as a fetched one); it waits for a poll of the
    same feed to finish rather than being skipped. ``discover_hubs``: note the
    WebSub hub the feed advertises, so the feed gets subscribed.
    """
    policy = policy or PollPolicy()
    try:
        return _poll(
            sessions, feed_id, fetcher, matcher, now, not_before, policy, pushed, discover_hubs
        )
    except OperationalError:
        raise
    except Exception as e:  # nothing stored: say so on the feed, and back off
        log.exception("feed %s: unexpected error while storing its entries", feed_id)
        with sessions() as session, session.begin():
            feed = lock_feed(session, feed_id)
            if feed is None:
                return PollOutcome(feed_id, polled=False)
            error = StoreError(f"unexpected error: {e!r}")
            return feed_record.failed(session, feed, error, now, policy)


def _poll(
    sessions: SessionFactory,
    feed_id: str,
    fetcher: Fetcher,
    matcher: Matcher,
    now: datetime,
    not_before: datetime | None,
    policy: PollPolicy,
    pushed: FetchResult | None,
    discover_hubs: bool,
) -> PollOutcome:
    with sessions() as session, session.begin():
        feed = lock_feed(session, feed_id, wait=pushed is not None)
        if feed is None or not feed.active:
            return PollOutcome(feed_id, polled=False)
        if not_before is not None and feed.last_polled_at and feed.last_polled_at >= not_before:
            return PollOutcome(feed_id, polled=False)
        try:
            # A pushed body keeps the feed's validators: the next poll still asks conditionally.
            result = (
                replace(pushed, etag=feed.etag, last_modified=feed.last_modified)
                if pushed is not None
                else _fetch(fetcher, feed, policy)
            )
        except HostBusyError as e:
            feed.next_poll_at = now + DEFER_DELAY * (1 + spread(feed.id))
            log.info("feed %s deferred: %s", feed.id, e)
            return PollOutcome(feed_id, polled=False)
        except FetchError as e:
            return feed_record.failed(session, feed, e, now, policy)
        except Exception as e:  # a bug must neither stop the other feeds nor go unrecorded
            log.exception("feed %s: unexpected error while fetching", feed.id)
            error = FetchError(f"unexpected error: {e!r}")
            return feed_record.failed(session, feed, error, now, policy)
        body_hash = None if result.not_modified else crypto.keyring().lookup_hash(result.body)
        parsed: ParsedFeed | None = None
        if body_hash is not None and body_hash != feed.body_hash:
            try:
                parsed = parse_source(policy.source, result.body, result.url, result.content_type)
            except ParseError as e:
                return feed_record.failed(session, feed, e, now, policy)
            except Exception as e:
                log.exception("feed %s: unexpected error while parsing", feed.id)
                unexpected = ParseError(f"unexpected error: {e!r}")
                return feed_record.failed(session, feed, unexpected, now, policy)
        feed_record.succeeded(feed, result, body_hash, parsed, now)
        if discover_hubs and pushed is None:
            _note_hub(session, feed, result, parsed, now)
        with session.no_autoflush:  # the feed row is written once, at commit
            outcome = (
                persist(session, feed_id, parsed, matcher, now, policy)
                if parsed is not None
                else PollOutcome(feed_id, polled=True)
            )
        feed.entry_count += outcome.new_entries
        if outcome.new_entries:
            feed.last_new_entry_at = now
        feed_record.schedule_healthy(feed, policy, parsed, result, now)
        alert_ids = feed_record.assess_health(session, feed, now, policy)
    log.info(
        "feed %s %s (%s): %d new entries, %d changed, %d new matches, %d deliveries",
        feed_id,
        "pushed" if pushed is not None else "polled",
        "not modified" if parsed is None else f"HTTP {result.status}",
        outcome.new_entries,
        outcome.changed_entries,
        len(outcome.new_match_ids),
        len(outcome.delivery_ids),
    )
    return replace(outcome, operator_alert_ids=alert_ids)


def _note_hub(
    session: Session, feed: Feed, result: FetchResult, parsed: ParsedFeed | None, now: datetime
) -> None:
    """The WebSub hub and topic the response names (its Link header first, as WebSub's
    discovery says, then the feed's own links); a new body that names none retires the
    feed's subscription."""
    hub = result.hub or (parsed.hub if parsed else None)
    if hub is None:
        if parsed is not None and websub.hub_gone(session, feed.id, now):
            log.info("feed %s names no WebSub hub any more: unsubscribing", feed.id)
        return
    topic = result.self_url or (parsed.self_url if parsed else None) or result.url
    if websub.note_hub(session, feed.id, hub, topic, now):
        log.info("feed %s advertises the WebSub hub %s: subscribing", feed.id, hub)


def _fetch(fetcher: Fetcher, feed: Feed, policy: PollPolicy) -> FetchResult:
    """Fetch the feed's body (a Telegram channel's pages), counted in the metrics by result
    and duration."""
    started = time.perf_counter()
    try:
        result = fetch_source(
            fetcher,
            policy.source,
            feed.redirected_url or feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            limits=policy.limits,
            cursor=feed.source_cursor,
        )
    except HostBusyError:
        metrics.fetched("busy")
        raise
    except Exception:
        metrics.fetched("error", time.perf_counter() - started)
        raise
    metrics.fetched(
        "not_modified" if result.not_modified else "modified", time.perf_counter() - started
    )
    return result
