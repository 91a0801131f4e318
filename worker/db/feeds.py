"""Feeds as the scheduler and the poll see them: due feeds claimed, one feed locked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.core.feed_health import FeedState
from worker.db.models import (
    Feed,
)


def claim_due_feeds(
    session: Session, now: datetime, lease: timedelta, limit: int = 500
) -> list[tuple[str, str]]:
    """Take due feeds for polling: (id, URL fetched); their next poll moves to the end of
    the lease, most overdue first.

    With several schedulers or sweeps at once, ``SKIP LOCKED`` lets each feed be
    claimed by one of them only. If the poll is lost (broker flushed, worker
    killed), the feed becomes due again when the lease ends.
    """
    due = (
        select(Feed.id, func.coalesce(Feed.redirected_url, Feed.url))
        .where(Feed.active.is_(True), Feed.next_poll_at <= now)
        .order_by(Feed.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = [(feed_id, url) for feed_id, url in session.execute(due)]
    if claimed:
        ids = [feed_id for feed_id, _ in claimed]
        session.execute(update(Feed).where(Feed.id.in_(ids)).values(next_poll_at=now + lease))
    return claimed


def active_feed_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Feed.id).where(Feed.active.is_(True)).order_by(Feed.id)))


def lock_feed(session: Session, feed_id: str, *, wait: bool = False) -> Feed | None:
    """The feed row, locked for this poll; None if another worker is polling it (with
    ``wait``: once that poll has finished)."""
    statement = select(Feed).where(Feed.id == feed_id).with_for_update(skip_locked=not wait)
    return session.scalars(statement).first()


def feed_state(feed: Feed) -> FeedState:
    """The feed row as the pure health rules see it."""
    every = feed.publish_interval_seconds
    return FeedState(
        created_at=feed.created_at,
        last_polled_at=feed.last_polled_at,
        consecutive_failures=feed.consecutive_failures,
        failing_since=feed.failing_since,
        gone_since=feed.gone_since,
        healthy_since=feed.healthy_since,
        last_new_entry_at=feed.last_new_entry_at,
        publish_interval=timedelta(seconds=every) if every else None,
    )


def list_feeds(session: Session, *, include_inactive: bool = False) -> list[Feed]:
    """Feeds by id; those removed from the config only with ``include_inactive``."""
    statement = select(Feed).order_by(Feed.id)
    if not include_inactive:
        statement = statement.where(Feed.active.is_(True))
    return list(session.scalars(statement))


def feeds_by_id(session: Session, feed_ids: Sequence[str]) -> dict[str, Feed]:
    """The feed rows of these ids (missing ids are left out)."""
    return {f.id: f for f in session.scalars(select(Feed).where(Feed.id.in_(list(feed_ids))))}
