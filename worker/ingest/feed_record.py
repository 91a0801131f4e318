"""What a poll writes on its feed row: success, failure, redirects, the next poll, health.

The arithmetic is pure (:mod:`worker.core.schedule`, :mod:`worker.core.feed_health`);
this module applies it to the locked feed row and queues operator alerts when
a health episode starts, the feed is gone, or it recovers — in the poll's
transaction, so an episode is announced once however often a poll is repeated.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from worker.core.errors import FetchError, ParseError, StoreError
from worker.core.feed_health import FeedFacts, assess, message, operator_event
from worker.core.schedule import adapted_interval, next_poll, publish_interval, server_wait
from worker.core.types import FetchResult, ParsedFeed, PollOutcome
from worker.db import outbox
from worker.db.feeds import feed_state
from worker.db.models import Feed
from worker.ingest.policy import PollPolicy

log = logging.getLogger(__name__)


def succeeded(
    feed: Feed, result: FetchResult, body_hash: str | None, parsed: ParsedFeed | None, now: datetime
) -> None:
    if feed.consecutive_failures or feed.healthy_since is None:
        feed.healthy_since = now
    if parsed is not None:
        feed.last_error = parsed.problem
    elif feed.consecutive_failures:
        feed.last_error = None  # unchanged body: a "malformed" note from its parse stays
    feed.consecutive_failures = 0
    feed.failing_since = feed.gone_since = None
    feed.last_polled_at = feed.last_success_at = now
    feed.last_status = result.status
    if result.etag or result.last_modified or not result.not_modified:
        feed.etag, feed.last_modified = result.etag, result.last_modified
    if body_hash is not None:
        feed.body_hash = body_hash
    if parsed is not None and parsed.cursor is not None:
        feed.source_cursor = parsed.cursor
    if parsed is not None:
        every = publish_interval([e.published for e in parsed.entries], now)
        if every is not None:
            feed.publish_interval_seconds = int(every.total_seconds())
    _track_redirect(feed, result.moved_to)


def _track_redirect(feed: Feed, moved_to: str | None) -> None:
    """A permanent redirect seen on two polls in a row moves the feed for good."""
    if moved_to is None or moved_to == (feed.redirected_url or feed.url):
        feed.redirect_candidate = None
    elif feed.redirect_candidate == moved_to:
        log.warning(
            "feed %s moved permanently to %s (seen twice); update its url in the config",
            feed.id,
            moved_to,
        )
        feed.redirected_url, feed.redirect_candidate = moved_to, None
        feed.etag = feed.last_modified = None
    else:
        feed.redirect_candidate = moved_to


def healthy_interval(feed: Feed, policy: PollPolicy) -> timedelta:
    """The feed's interval while it works: its configured ceiling, less if it is busy."""
    every = feed.publish_interval_seconds
    return adapted_interval(
        timedelta(seconds=feed.poll_interval_seconds),
        (policy.min_poll_interval, policy.max_poll_interval),
        timedelta(seconds=every) if every else None,
    )


def schedule_healthy(
    feed: Feed, policy: PollPolicy, parsed: ParsedFeed | None, result: FetchResult, now: datetime
) -> None:
    """Set the next poll of a feed that worked: its interval, or later if the server asks."""
    hints = [
        parsed.ttl if parsed else None,
        timedelta(seconds=result.fresh_for) if result.fresh_for else None,
    ]
    hint = max((h for h in hints if h is not None), default=None)
    feed.next_poll_at = next_poll(
        now,
        healthy_interval(feed, policy),
        0,
        feed.id,
        max_backoff=policy.max_backoff,
        not_before=server_wait(hint, policy.max_poll_interval),
    )


def failed(
    session: Session,
    feed: Feed,
    error: FetchError | ParseError | StoreError,
    now: datetime,
    policy: PollPolicy,
) -> PollOutcome:
    """Record a failed poll, back off, and tell the operators if an episode starts."""
    status = getattr(error, "status", None)
    feed.last_polled_at = now
    feed.consecutive_failures += 1
    feed.failing_since = feed.failing_since or now
    feed.healthy_since = None
    feed.last_error = "".join(c if c.isprintable() else " " for c in str(error))[:1000]
    feed.last_status = status
    if status == 410:
        feed.gone_since = feed.gone_since or now
    retry_after = getattr(error, "retry_after", None)
    feed.next_poll_at = next_poll(
        now,
        healthy_interval(feed, policy),
        64 if feed.gone_since else feed.consecutive_failures,
        feed.id,
        max_backoff=policy.max_backoff,
        retry_after=timedelta(seconds=retry_after) if retry_after is not None else None,
    )
    alert_ids = assess_health(session, feed, now, policy)
    log.warning(
        "feed %s failed (%d in a row), next try %s: %s",
        feed.id,
        feed.consecutive_failures,
        feed.next_poll_at.isoformat(),
        error,
    )
    return PollOutcome(feed.id, polled=True, error=str(error), operator_alert_ids=alert_ids)


def assess_health(
    session: Session, feed: Feed, now: datetime, policy: PollPolicy
) -> tuple[str, ...]:
    """Tell the operators when an episode starts, the feed is gone, or it recovers."""
    state = feed_state(feed)
    health = assess(state, now, policy.stale_after)
    event = operator_event(
        health, feed.consecutive_failures, policy.failure_alert_after, feed.alerted_status
    )
    if event is None:
        return ()
    if feed.alerted_since is None:
        feed.alerted_since = now
    episode = feed.alerted_since
    if event == "recovered":
        feed.alerted_status = feed.alerted_since = None
    else:
        feed.alerted_status = event
    facts = FeedFacts(
        feed_id=feed.id,
        title=feed.title,
        url=feed.redirected_url or feed.url,
        last_error=feed.last_error,
        last_success_at=feed.last_success_at,
        next_poll_at=feed.next_poll_at,
    )
    subject, body = message(event, health, state, facts)
    log.warning("feed %s: %s", feed.id, subject)
    details = {
        "feed": {"id": feed.id, "title": feed.title, "url": facts.url},
        "status": health.status,
        "since": health.since.isoformat() if health.since else None,
        "consecutive_failures": feed.consecutive_failures,
        "last_error": feed.last_error,
        "last_success_at": feed.last_success_at.isoformat() if feed.last_success_at else None,
    }
    return tuple(
        outbox.queue_operator_alerts(
            session,
            policy.operators,
            feed_id=feed.id,
            event=event,
            episode_since=episode,
            subject=subject,
            body=body,
            details=details,
            now=now,
        )
    )
