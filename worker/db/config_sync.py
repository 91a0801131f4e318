"""Mirroring the YAML into the database: feeds, watch lists, config subscribers.

The YAML is the source of truth; rows that leave it are deactivated, never
deleted, so their history stays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.core.errors import RightswatchError
from worker.core.schedule import adapted_interval
from worker.db.models import (
    Entry,
    Feed,
    Meta,
    Subscriber,
    Subscription,
    Watchlist,
)

CONFIG_VERSION_KEY = "config_version"
LOOKUP_KEY = "lookup_key"
"""Meta row naming the key entry look-up hashes are made under ("none": plain SHA-256)."""


class LookupKeyMismatch(RightswatchError):
    """Stored look-up hashes were made under another key than this process's."""


def check_lookup_key(session: Session, current: str) -> None:
    """Refuse to run when the stored look-up hashes were made under another key.

    Without this, setting or changing RIGHTSWATCH_ENCRYPTION_KEY would make every
    stored entry look new (its keys no longer match) and alert again. A database
    with entries and no record predates keyed hashes: they are plain ("none").
    """
    row = session.get(Meta, LOOKUP_KEY)
    stored = row.value if row else None
    if stored is None and session.scalar(select(Entry.id).limit(1)) is not None:
        stored = "none"
    if stored is None:
        session.add(Meta(key=LOOKUP_KEY, value=current))
    elif stored != current:
        raise LookupKeyMismatch(
            f"stored entry look-up hashes were made under key {stored}, this process has "
            f"{current}: run `rightswatch rotate-key` (with the previous key in "
            "RIGHTSWATCH_ENCRYPTION_OLD_KEYS) before polling, or every stored entry would "
            "look new and alert again"
        )


def synced_version(session: Session) -> str | None:
    row = session.get(Meta, CONFIG_VERSION_KEY)
    return row.value if row else None


def _keep_the_promise(
    feed: Feed, interval: int, bounds: tuple[timedelta, timedelta], now: datetime
) -> None:
    """A healthy feed whose interval settings changed: due when the new ones make it due
    (now at the latest, if that moment has passed), not when the old ones did."""
    every = feed.publish_interval_seconds
    ceiling = adapted_interval(
        timedelta(seconds=interval), bounds, timedelta(seconds=every) if every else None
    )
    due = max(now, feed.last_polled_at + ceiling) if feed.last_polled_at else now
    if feed.next_poll_at is None or feed.next_poll_at > due:
        feed.next_poll_at = due


def sync_config(session: Session, config: Config, version: str, now: datetime) -> None:
    """Mirror the YAML into the database: add, update, deactivate (never delete)."""
    feeds = {f.id: f for f in session.scalars(select(Feed))}
    for feed_config in config.feeds:
        interval = int(config.poll_interval(feed_config).total_seconds())
        low = feed_config.min_poll_interval or config.defaults.min_poll_interval
        high = feed_config.max_poll_interval or config.defaults.max_poll_interval
        bounds = (int(low.total_seconds()), int(high.total_seconds()))
        feed = feeds.get(feed_config.id)
        if feed is None:
            feed = Feed(id=feed_config.id, consecutive_failures=0, entry_count=0, created_at=now)
            session.add(feed)
        elif feed.url != feed_config.url:
            feed.etag = feed.last_modified = None
            feed.redirected_url = feed.redirect_candidate = feed.body_hash = None
        # A shorter interval takes effect now; backoff and server hints otherwise stand.
        shortened = interval < (feed.poll_interval_seconds or interval + 1)
        rescheduled = (
            feed.poll_interval_seconds,
            feed.min_poll_interval_seconds,
            feed.max_poll_interval_seconds,
        ) != (interval, *bounds)
        feed.title = feed_config.title
        feed.url = feed_config.url
        feed.poll_interval_seconds = interval
        feed.min_poll_interval_seconds, feed.max_poll_interval_seconds = bounds
        feed.active = feed_config.enabled
        if feed.next_poll_at is None or (
            shortened and feed.next_poll_at > now + timedelta(seconds=interval)
        ):
            feed.next_poll_at = now
        elif rescheduled and not feed.consecutive_failures:
            _keep_the_promise(feed, interval, (low, high), now)
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
        subscriber.frequency = sub_config.frequency
        subscriber.deliver_at = sub_config.deliver_at
        subscriber.timezone = sub_config.timezone
        subscriber.language = sub_config.language
        subscriber.security_phrase = sub_config.security_phrase
        subscriber.pgp_key = sub_config.pgp_key
        subscriber.active = sub_config.enabled and subscriber.status != "unsubscribed"
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
