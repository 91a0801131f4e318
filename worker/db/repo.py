"""Database queries the pipeline and the CLI need, in one place.

Inserts of entries, matches and deliveries use ``ON CONFLICT DO NOTHING …
RETURNING`` so that only rows this call really created come back: that is what
fans out to notification, and why a repeated poll or a crashed worker cannot
create a second alert.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session

from worker.config import Config
from worker.core.digest import Frequency, digest_period, parse_deliver_at, zone
from worker.db.models import (
    Delivery,
    DigestItem,
    Entry,
    Feed,
    Match,
    Meta,
    StorySketch,
    Subscriber,
    Subscription,
    Watchlist,
)

CONFIG_VERSION_KEY = "config_version"
STORY_LOCK = 0x7277_5354
"""Advisory lock taken instead of one per key when a poll has very many (PostgreSQL)."""
STORY_LOCK_LIMIT = 512


def _on_postgresql(session: Session) -> bool:
    """PostgreSQL gets arrays, advisory locks and prepared statements; SQLite the plain forms."""
    return session.get_bind().dialect.name == "postgresql"


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
    """Insert rows, skipping those that already exist; return ``columns`` of the new ones.

    On PostgreSQL the rows go as one array per column into a single ``INSERT …
    SELECT FROM unnest(…)``: the statement text is the same for any number of
    rows, so psycopg caches its conversion and the server prepares it once per
    connection, where a multi-row VALUES list is a new, long query text each
    time (its parsing cost more than the insert). Elsewhere, one executemany.
    Every row must have the same keys.
    """
    if not rows:
        return []
    result: Result[Any]
    if _on_postgresql(session):
        keys = tuple(rows[0])
        statement = _unnest_insert(model.__table__, keys, tuple(c.key for c in columns))
        connection = session.connection()  # a Core statement: no ORM bulk-insert handling
        result = connection.execute(statement, {k: [row[k] for row in rows] for k in keys})
    else:
        statement = _insert(session, model).on_conflict_do_nothing().returning(*columns)
        result = session.execute(statement, list(rows))
    return list(result.scalars()) if len(columns) == 1 else [tuple(r) for r in result]


@cache
def _unnest_insert(table: Table, keys: tuple[str, ...], returning: tuple[str, ...]) -> Any:
    arrays = [bindparam(k, type_=postgresql.ARRAY(table.c[k].type, dimensions=1)) for k in keys]
    rows = func.unnest(*arrays).table_valued(*keys).render_derived()
    return (
        postgresql.insert(table)
        .from_select(keys, select(*rows.c))
        .on_conflict_do_nothing()
        .returning(*(table.c[name] for name in returning))
    )


def _among(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL as ``= ANY(array)``: one parameter whatever the
    number of values, so the statement text stays the same and is prepared once, where
    an expanding IN makes a new statement for every count (a poll's 50 identity keys,
    its hundreds of sketch values)."""
    if _on_postgresql(session):
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


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
            feed.redirected_url = feed.redirect_candidate = feed.body_hash = None
        # A shorter interval takes effect now; backoff and server hints otherwise stand.
        shortened = interval < (feed.poll_interval_seconds or interval + 1)
        feed.title = feed_config.title
        feed.url = feed_config.url
        feed.poll_interval_seconds = interval
        feed.active = feed_config.enabled
        if feed.next_poll_at is None or (
            shortened and feed.next_poll_at > now + timedelta(seconds=interval)
        ):
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
        subscriber.frequency = sub_config.frequency
        subscriber.deliver_at = sub_config.deliver_at
        subscriber.timezone = sub_config.timezone
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


def known_entries(
    session: Session, feed_id: str, identity_keys: Collection[str], link_keys: Collection[str]
) -> list[tuple[int, str, str | None, str, int | None]]:
    """Entries of the feed found by identity or link: (id, identity, link, hash, story)."""
    rows = session.execute(
        select(Entry.id, Entry.identity_key, Entry.link_key, Entry.content_hash, Entry.story_id)
        .where(
            Entry.feed_id == feed_id,
            _among(session, Entry.identity_key, identity_keys)
            | _among(session, Entry.link_key, link_keys),
        )
        .order_by(Entry.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def lock_stories(
    session: Session, link_keys: Collection[str], sketch_values: Collection[int]
) -> None:
    """Hold, until commit, the keys stories are found by, so two feeds polled at once see
    each other's copies of a report.

    PostgreSQL: transaction-level advisory locks on every key, taken in one global
    order (no deadlock); polls of unrelated reports do not wait for each other. Past
    STORY_LOCK_LIMIT keys, one lock for all. SQLite serialises writers anyway.
    """
    if not _on_postgresql(session):
        return
    keys = sorted(
        {(1, int(k[:8], 16) - 2**31) for k in link_keys}
        | {(2, (v & 0xFFFFFFFF) - 2**31) for v in sketch_values}
    )
    if len(keys) > STORY_LOCK_LIMIT:
        keys = [(0, STORY_LOCK)]
    if not keys:
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(ns, k) FROM (SELECT ns, k FROM"
            " unnest(CAST(:ns AS integer[]), CAST(:k AS integer[])) AS t(ns, k)"
            " ORDER BY ns, k) AS ordered"
        ),
        {"ns": [n for n, _ in keys], "k": [k for _, k in keys]},
    )


def stories_by_link(
    session: Session, link_keys: Collection[str], since: datetime
) -> dict[str, int]:
    """Canonical-link key → story (its first entry) among entries seen since ``since``."""
    if not link_keys:
        return {}
    story = func.coalesce(Entry.story_id, Entry.id)
    rows = session.execute(
        select(Entry.link_key, func.min(story))
        .where(_among(session, Entry.link_key, link_keys), Entry.first_seen_at >= since)
        .group_by(Entry.link_key)
    )
    return {key: story_id for key, story_id in rows if key is not None}


def stories_by_sketch(
    session: Session, keys: Collection[int], since: datetime
) -> list[tuple[int, int]]:
    """(sketch value, story) of stories opened since ``since`` that share a value."""
    if not keys:
        return []
    rows = session.execute(
        select(StorySketch.key, StorySketch.story_id).where(
            _among(session, StorySketch.key, keys), StorySketch.created_at >= since
        )
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def entry_texts(session: Session, entry_ids: Collection[int]) -> dict[int, tuple[str, str, str]]:
    """Title, summary and content of entries (the first entries of stories)."""
    if not entry_ids:
        return {}
    rows = session.execute(
        select(Entry.id, Entry.title, Entry.summary, Entry.content).where(
            _among(session, Entry.id, entry_ids)
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


def subscribers_by_watchlist(
    session: Session, watchlist_ids: Collection[str]
) -> dict[str, list[Subscriber]]:
    """Active subscribers of each watch list, by id."""
    if not watchlist_ids:
        return {}
    rows = session.execute(
        select(Subscription.watchlist_id, Subscriber)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            _among(session, Subscription.watchlist_id, watchlist_ids),
            Subscription.active.is_(True),
            Subscriber.active.is_(True),
        )
        .order_by(Subscriber.id)
    )
    result: dict[str, list[Subscriber]] = {}
    for watchlist_id, subscriber in rows:
        result.setdefault(watchlist_id, []).append(subscriber)
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
    """Deliveries whose send is overdue: lost messages, retries that are due, dead workers.

    A pending row is left to the task enqueued when it was created for
    ``pending_grace``; digests (due at their period's end) and deferred rows
    are due as soon as their time comes.
    """
    statement = (
        select(Delivery.id)
        .where(
            (
                (Delivery.status == "pending")
                & (Delivery.next_attempt_at <= now)
                & (Delivery.created_at <= now - pending_grace)
            )
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


def destination_key(channel: str, address: str) -> str:
    """Which receiver a delivery goes to, for the per-destination concurrency limit."""
    if channel in ("webhook", "apprise"):
        parts = urlsplit(address)
        try:
            port = parts.port
        except ValueError:
            port = None
        host = (parts.hostname or "").lower()
        return f"{channel}:{parts.scheme}://{host}" + (f":{port}" if port else "")
    return channel


def create_deliveries(
    session: Session,
    new_matches: Sequence[tuple[int, str]],
    now: datetime,
    by_watchlist: Mapping[str, Sequence[Subscriber]],
    *,
    skip: Collection[tuple[int, str]] = frozenset(),
    hold: timedelta = timedelta(0),
) -> list[str]:
    """Outbox rows for new ``(match id, watch list id)`` pairs, in the caller's transaction.

    ``by_watchlist``: the active subscribers of the matches' watch lists
    (:func:`subscribers_by_watchlist`); ``skip``: ``(match id, subscriber id)``
    pairs that get nothing (the subscriber already has this story); ``hold``:
    immediate alerts wait this long, so copies of the story polled meanwhile
    are named in them.

    Immediate subscribers get one row per match; the ids of these come back to
    be enqueued after the commit. Digest subscribers get the match added to the
    row of the period ``now`` falls in (created if needed, due at the period's
    end). A digest row that is no longer pending (its send has begun) is
    closed: the match goes to the next period, so none is lost or sent twice.
    """
    if not new_matches:
        return []
    immediate: list[dict[str, Any]] = []
    digests: dict[str, tuple[Subscriber, list[int]]] = {}
    for match_id, watchlist_id in new_matches:
        for subscriber in by_watchlist.get(watchlist_id, []):
            if (match_id, subscriber.id) in skip:
                continue
            if subscriber.frequency in ("hourly", "daily", "weekly"):
                digests.setdefault(subscriber.id, (subscriber, []))[1].append(match_id)
                continue
            immediate.append(
                {
                    "id": f"msg_{uuid4().hex}",
                    "subscriber_id": subscriber.id,
                    "match_id": match_id,
                    "kind": "alert",
                    "destination": destination_key(subscriber.channel, subscriber.address),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now + hold,
                    "created_at": now,
                }
            )
    delivery_ids: list[str] = insert_new(session, Delivery, immediate, Delivery.id)
    for subscriber_id in sorted(digests):
        subscriber, match_ids = digests[subscriber_id]
        frequency: Frequency = subscriber.frequency  # type: ignore[assignment]
        at, tz = parse_deliver_at(subscriber.deliver_at), zone(subscriber.timezone)
        period = digest_period(now, frequency, at, tz)
        while True:
            insert_new(
                session,
                Delivery,
                [
                    {
                        "id": f"msg_{uuid4().hex}",
                        "subscriber_id": subscriber.id,
                        "kind": "digest",
                        "period_start": period.start,
                        "period_end": period.end,
                        "destination": destination_key(subscriber.channel, subscriber.address),
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": period.end,
                        "created_at": now,
                    }
                ],
                Delivery.id,
            )
            digest_id, status = session.execute(
                select(Delivery.id, Delivery.status)
                .where(
                    Delivery.subscriber_id == subscriber.id,
                    Delivery.period_start == period.start,
                )
                .with_for_update()
            ).one()
            if status == "pending":
                break
            period = digest_period(period.end, frequency, at, tz)
        insert_new(
            session,
            DigestItem,
            [
                {"delivery_id": digest_id, "match_id": m, "subscriber_id": subscriber.id}
                for m in match_ids
            ],
            DigestItem.match_id,
        )
    return delivery_ids


def destination_busy(session: Session, delivery_id: str, now: datetime, limit: int) -> bool:
    """Whether ``limit`` other deliveries to this one's destination are being sent now.

    Call in the claim's transaction: on PostgreSQL an advisory lock per
    destination (held until commit) makes check-then-claim atomic across
    worker processes; SQLite serialises writers anyway.
    """
    destination = session.scalar(select(Delivery.destination).where(Delivery.id == delivery_id))
    if not destination:
        return False
    if _on_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(destination, 0))))
    sending = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.destination == destination,
            Delivery.status == "sending",
            Delivery.claimed_until >= now,
            Delivery.id != delivery_id,
        )
    )
    return (sending or 0) >= limit


def defer_delivery(session: Session, delivery_id: str, until: datetime) -> None:
    """Leave a due delivery for later without counting an attempt (its receiver is busy)."""
    session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status.in_(("pending", "retrying")),
            Delivery.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )


def digest_matches(
    session: Session, delivery_id: str
) -> list[tuple[Match, Entry, Feed, Watchlist]]:
    """The matches of a digest delivery, oldest first."""
    rows = session.execute(
        select(Match, Entry, Feed, Watchlist)
        .join(DigestItem, DigestItem.match_id == Match.id)
        .join(Entry, Entry.id == Match.entry_id)
        .join(Feed, Feed.id == Entry.feed_id)
        .join(Watchlist, Watchlist.id == Match.watchlist_id)
        .where(DigestItem.delivery_id == delivery_id)
        .order_by(Match.created_at, Match.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def list_deliveries(
    session: Session,
    status: str | None = None,
    subscriber_id: str | None = None,
    limit: int = 100,
) -> list[Delivery]:
    statement = select(Delivery).order_by(Delivery.created_at.desc(), Delivery.id).limit(limit)
    if status is not None:
        statement = statement.where(Delivery.status == status)
    if subscriber_id is not None:
        statement = statement.where(Delivery.subscriber_id == subscriber_id)
    return list(session.scalars(statement))


def retry_dead(
    session: Session, delivery_ids: Sequence[str] | None, now: datetime, expires_at: datetime
) -> list[str]:
    """Put dead deliveries back to pending (all of them when ``delivery_ids`` is None)."""
    statement = update(Delivery).where(Delivery.status == "dead")
    if delivery_ids is not None:
        statement = statement.where(Delivery.id.in_(list(delivery_ids)))
    result = session.execute(
        statement.values(
            status="pending", next_attempt_at=now, claimed_until=None, expires_at=expires_at
        )
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


# --- API subscribers -------------------------------------------------------------------


def subscribed_watchlists(session: Session, subscriber_id: str) -> list[Watchlist]:
    """The watch lists a subscriber receives alerts for, by id."""
    return list(
        session.scalars(
            select(Watchlist)
            .join(Subscription, Subscription.watchlist_id == Watchlist.id)
            .where(Subscription.subscriber_id == subscriber_id, Subscription.active.is_(True))
            .order_by(Watchlist.id)
        )
    )


def activate_subscriber(session: Session, subscriber_id: str, now: datetime) -> bool:
    """A pending API subscriber passed its confirmation or verification: alerts start."""
    result = session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, Subscriber.status == "pending")
        .values(
            status="active",
            active=True,
            confirmed_at=now,
            confirm_token_hash=None,
            confirm_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)
