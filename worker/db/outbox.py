"""The outbox tables: deliveries to subscribers (alerts, digests, confirmations, pings)
and operator alerts (feed health).

Rows are created in the transaction that made their reason (a match, a
subscription request) and claimed by one sender at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from worker.config import OperatorConfig
from worker.core.digest import Frequency, digest_period, parse_deliver_at, zone
from worker.db.models import (
    Delivery,
    DigestItem,
    Entry,
    Feed,
    Match,
    OperatorAlert,
    Subscriber,
    Watchlist,
)
from worker.db.sql import insert_new, on_postgresql
from worker.security.crypto import blind_index

OutboxTable = type[Delivery] | type[OperatorAlert]
"""The two outbox tables; both have the state columns the one state machine needs."""


def _claimable(table: OutboxTable, now: datetime) -> ColumnElement[bool]:
    """Due to be (re)sent now: new or retrying and due, or claimed by a sender that died."""
    return (table.status.in_(("pending", "retrying")) & (table.next_attempt_at <= now)) | (
        (table.status == "sending") & (table.claimed_until < now)
    )


def claim(
    session: Session, table: OutboxTable, row_id: str, now: datetime, lease: timedelta
) -> bool:
    """Mark a row as being sent by us; False if it is not ours to send now."""
    result = session.execute(
        update(table)
        .where(table.id == row_id, _claimable(table, now))
        .values(status="sending", attempts=table.attempts + 1, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def finish(session: Session, table: OutboxTable, row_id: str, values: dict[str, Any]) -> None:
    """Store a send's outcome, unless another sender has meanwhile taken the row over and
    finished."""
    session.execute(
        update(table)
        .where(table.id == row_id, table.status == "sending")
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )


def due_ids(
    session: Session,
    table: OutboxTable,
    now: datetime,
    pending_grace: timedelta = timedelta(0),
    limit: int = 1000,
) -> list[str]:
    """Rows whose send is overdue: lost messages, retries that are due, dead workers.

    A pending row is left to the task enqueued when it was created for
    ``pending_grace``; digests (due at their period's end) and deferred rows
    are due as soon as their time comes.
    """
    fresh_enough = (table.status == "pending") & (table.created_at > now - pending_grace)
    statement = (
        select(table.id)
        .where(_claimable(table, now), ~fresh_enough)
        .order_by(table.next_attempt_at)
        .limit(limit)
    )
    return list(session.scalars(statement))


def waiting_counts(session: Session) -> dict[str, int]:
    """Deliveries not yet finished, by status (every such status present, zero or not)."""
    waiting = ("pending", "retrying", "sending")
    rows = session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.status.in_(waiting))
        .group_by(Delivery.status)
    )
    return {**dict.fromkeys(waiting, 0), **{status: n for status, n in rows}}


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


def destination_key(channel: str, address: str, index: Callable[[str], str] = blind_index) -> str:
    """Which receiver a delivery goes to, for the per-destination concurrency limit.

    For webhooks and Apprise, a keyed hash (``index``: the process's blind index, or
    a rotation's new one) of scheme, host and port: equal receivers still compare
    equal, but the stored value does not name the receiver's host.
    """
    if channel in ("webhook", "apprise"):
        parts = urlsplit(address)
        try:
            port = parts.port
        except ValueError:
            port = None
        host = (parts.hostname or "").lower()
        receiver = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        return f"{channel}:{index(receiver)}"
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
    if on_postgresql(session):
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


def defer(session: Session, table: OutboxTable, row_id: str, until: datetime) -> None:
    """Leave a due row for later without counting an attempt (its receiver is busy)."""
    session.execute(
        update(table)
        .where(
            table.id == row_id,
            table.status.in_(("pending", "retrying")),
            table.next_attempt_at < until,
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


def queue_subscription_message(
    session: Session, subscriber: Subscriber, kind: str, now: datetime
) -> str:
    """An outbox row for a confirmation e-mail (``confirm``) or a verification ping
    (``verify``), due now and expiring with the subscriber's confirmation."""
    delivery_id = f"msg_{uuid4().hex}"
    session.add(
        Delivery(
            id=delivery_id,
            subscriber_id=subscriber.id,
            kind=kind,
            destination=destination_key(subscriber.channel, subscriber.address),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            expires_at=subscriber.confirm_expires_at,
            created_at=now,
        )
    )
    return delivery_id


def statuses(session: Session, delivery_ids: Collection[str]) -> dict[str, str]:
    """The status of each delivery that exists among ``delivery_ids``."""
    rows = session.execute(
        select(Delivery.id, Delivery.status).where(Delivery.id.in_(list(delivery_ids)))
    )
    return {delivery_id: status for delivery_id, status in rows}


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


# --- operator alerts ------------------------------------------------------------


def queue_operator_alerts(
    session: Session,
    operators: Sequence[OperatorConfig],
    *,
    feed_id: str | None,
    event: str,
    episode_since: datetime,
    subject: str,
    body: str,
    details: Mapping[str, Any],
    now: datetime,
) -> list[str]:
    """Outbox rows for one event, in the caller's transaction; ids of the new ones."""
    rows = [
        {
            "id": f"op_{uuid4().hex}",
            "operator_id": operator.id,
            "channel": operator.channel,
            "address": operator.address,
            "secret_env": operator.secret_env,
            "feed_id": feed_id,
            "event": event,
            "episode_since": episode_since,
            "subject": subject,
            "body": body,
            "details": dict(details),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for operator in operators
        if operator.enabled
    ]
    return insert_new(session, OperatorAlert, rows, OperatorAlert.id)
