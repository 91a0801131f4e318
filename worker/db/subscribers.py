"""Subscribers and what they subscribe to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.db.models import (
    Subscriber,
    Subscription,
    Watchlist,
)
from worker.db.sql import among


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
            among(session, Subscription.watchlist_id, watchlist_ids),
            Subscription.active.is_(True),
            Subscriber.active.is_(True),
        )
        .order_by(Subscriber.id)
    )
    result: dict[str, list[Subscriber]] = {}
    for watchlist_id, subscriber in rows:
        result.setdefault(watchlist_id, []).append(subscriber)
    return result


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


def counts_by_status(session: Session) -> dict[tuple[str, str], int]:
    """(managed by, status) → subscribers; YAML subscribers without a status are
    ``active`` or ``disabled`` by their flag."""
    rows = session.execute(
        select(Subscriber.managed_by, Subscriber.status, Subscriber.active, func.count()).group_by(
            Subscriber.managed_by, Subscriber.status, Subscriber.active
        )
    )
    counts: dict[tuple[str, str], int] = {}
    for managed_by, status, active, n in rows:
        key = (managed_by, status or ("active" if active else "disabled"))
        counts[key] = counts.get(key, 0) + n
    return counts
