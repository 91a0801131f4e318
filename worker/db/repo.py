"""Database queries the pipeline and the CLI need, in one place.

Inserts of entries, matches and deliveries use ``ON CONFLICT DO NOTHING …
RETURNING`` so that only rows this call really created come back: that is what
fans out to notification, and why a repeated poll or a crashed worker cannot
create a second alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.config import Config
from worker.db.models import (
    Delivery,
    Entry,
    Feed,
    Match,
    Meta,
    Subscriber,
    Subscription,
    Watchlist,
)

CONFIG_VERSION_KEY = "config_version"


def _insert(session: Session, model: type[Any]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"unsupported database {dialect}")


def insert_new(
    session: Session, model: type[Any], rows: Sequence[dict[str, Any]], *columns: Any
) -> list[Any]:
    """Insert rows, skipping those that already exist; return ``columns`` of the new ones."""
    if not rows:
        return []
    statement = _insert(session, model).values(list(rows)).on_conflict_do_nothing()
    result = session.execute(statement.returning(*columns))
    return list(result.scalars()) if len(columns) == 1 else [tuple(r) for r in result]


# --- config mirror -----------------------------------------------------------


def synced_version(session: Session) -> str | None:
    row = session.get(Meta, CONFIG_VERSION_KEY)
    return row.value if row else None


def sync_config(session: Session, config: Config, version: str, now: datetime) -> None:
    """Mirror the YAML into the database: add, update, deactivate (never delete)."""
    feeds = {f.id: f for f in session.scalars(select(Feed))}
    for feed_config in config.feeds:
        interval = int(config.poll_interval(feed_config).total_seconds())
        feed = feeds.get(feed_config.id)
        if feed is None:
            feed = Feed(id=feed_config.id, consecutive_failures=0, entry_count=0, created_at=now)
            session.add(feed)
        elif feed.url != feed_config.url:
            feed.etag = feed.last_modified = None
        feed.title = feed_config.title
        feed.url = feed_config.url
        feed.poll_interval_seconds = interval
        feed.active = feed_config.enabled
        if feed.next_poll_at is None or feed.next_poll_at > now + timedelta(seconds=interval):
            feed.next_poll_at = now
    configured = {f.id for f in config.feeds}
    for feed_id, feed in feeds.items():
        if feed_id not in configured:
            feed.active = False

    watchlists = {w.id: w for w in session.scalars(select(Watchlist))}
    for wl_config in config.watchlists:
        watchlist = watchlists.get(wl_config.id)
        if watchlist is None:
            watchlist = Watchlist(id=wl_config.id, created_at=now)
            session.add(watchlist)
        watchlist.title = wl_config.title
        watchlist.description = wl_config.description
        watchlist.public = wl_config.public
        watchlist.active = True
    configured = {w.id for w in config.watchlists}
    for watchlist_id, watchlist in watchlists.items():
        if watchlist_id not in configured:
            watchlist.active = False
    session.flush()

    subscribers = {
        s.id: s
        for s in session.scalars(select(Subscriber).where(Subscriber.managed_by == "config"))
    }
    subscriptions = {
        (s.subscriber_id, s.watchlist_id): s
        for s in session.scalars(
            select(Subscription).where(Subscription.subscriber_id.in_(subscribers))
        )
    }
    wanted: set[tuple[str, str]] = set()
    for sub_config in config.subscribers:
        subscriber = subscribers.get(sub_config.id)
        if subscriber is None:
            subscriber = Subscriber(id=sub_config.id, managed_by="config", created_at=now)
            session.add(subscriber)
        subscriber.channel = sub_config.channel
        subscriber.address = sub_config.address
        subscriber.secret_env = sub_config.secret_env
        subscriber.active = sub_config.enabled
        for watchlist_id in sub_config.watchlists:
            wanted.add((sub_config.id, watchlist_id))
    session.flush()
    for key in wanted - subscriptions.keys():
        session.add(Subscription(subscriber_id=key[0], watchlist_id=key[1], active=True))
    for key, subscription in subscriptions.items():
        subscription.active = key in wanted
    configured = {s.id for s in config.subscribers}
    for subscriber_id, subscriber in subscribers.items():
        if subscriber_id not in configured:
            subscriber.active = False

    meta = session.get(Meta, CONFIG_VERSION_KEY)
    if meta is None:
        session.add(Meta(key=CONFIG_VERSION_KEY, value=version))
    else:
        meta.value = version


# --- polling -------------------------------------------------------------------


def claim_due_feeds(
    session: Session, now: datetime, lease: timedelta, limit: int = 500
) -> list[str]:
    """Take due feeds for polling; their next poll moves to the end of the lease.

    With several schedulers or sweeps at once, ``SKIP LOCKED`` lets each feed be
    claimed by one of them only. If the poll is lost (broker flushed, worker
    killed), the feed becomes due again when the lease ends.
    """
    due = (
        select(Feed.id)
        .where(Feed.active.is_(True), Feed.next_poll_at <= now)
        .order_by(Feed.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    feed_ids = list(session.scalars(due))
    if feed_ids:
        session.execute(update(Feed).where(Feed.id.in_(feed_ids)).values(next_poll_at=now + lease))
    return feed_ids


def active_feed_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Feed.id).where(Feed.active.is_(True)).order_by(Feed.id)))


def lock_feed(session: Session, feed_id: str) -> Feed | None:
    """The feed row, locked for this poll; None if another worker is polling it."""
    statement = select(Feed).where(Feed.id == feed_id).with_for_update(skip_locked=True)
    return session.scalars(statement).first()


def known_identity_keys(session: Session, feed_id: str, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    statement = select(Entry.identity_key).where(
        Entry.feed_id == feed_id, Entry.identity_key.in_(list(keys))
    )
    return set(session.scalars(statement))


def subscribers_by_watchlist(
    session: Session, watchlist_ids: Sequence[str]
) -> dict[str, list[str]]:
    """Active subscribers of each watch list."""
    if not watchlist_ids:
        return {}
    rows = session.execute(
        select(Subscription.watchlist_id, Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.watchlist_id.in_(list(watchlist_ids)),
            Subscription.active.is_(True),
            Subscriber.active.is_(True),
        )
        .order_by(Subscription.subscriber_id)
    )
    result: dict[str, list[str]] = {}
    for watchlist_id, subscriber_id in rows:
        result.setdefault(watchlist_id, []).append(subscriber_id)
    return result


# --- deliveries ------------------------------------------------------------------


def claim_delivery(session: Session, delivery_id: str, now: datetime, lease: timedelta) -> bool:
    """Mark a delivery as being sent by us; False if it is not ours to send now."""
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            (Delivery.status.in_(("pending", "retrying")) & (Delivery.next_attempt_at <= now))
            | ((Delivery.status == "sending") & (Delivery.claimed_until < now)),
        )
        .values(status="sending", attempts=Delivery.attempts + 1, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def due_delivery_ids(
    session: Session, now: datetime, pending_grace: timedelta, limit: int = 1000
) -> list[str]:
    """Deliveries whose send is overdue: lost messages, retries that are due, dead workers."""
    statement = (
        select(Delivery.id)
        .where(
            ((Delivery.status == "pending") & (Delivery.next_attempt_at <= now - pending_grace))
            | ((Delivery.status == "retrying") & (Delivery.next_attempt_at <= now))
            | ((Delivery.status == "sending") & (Delivery.claimed_until < now))
        )
        .order_by(Delivery.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


def delivery_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    return {status: count for status, count in rows}


def match_for_delivery(
    session: Session, delivery_id: str
) -> tuple[Delivery, Match, Entry, Feed, Watchlist, Subscriber] | None:
    row = session.execute(
        select(Delivery, Match, Entry, Feed, Watchlist, Subscriber)
        .join(Match, Match.id == Delivery.match_id)
        .join(Entry, Entry.id == Match.entry_id)
        .join(Feed, Feed.id == Entry.feed_id)
        .join(Watchlist, Watchlist.id == Match.watchlist_id)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.id == delivery_id)
    ).first()
    return None if row is None else tuple(row)  # type: ignore[return-value]
