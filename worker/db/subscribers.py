"""Subscribers and what they subscribe to."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from worker.db.models import Delivery, DigestItem, Subscriber, Subscription, Watchlist
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


# --- the subscription API's look-ups and changes ------------------------------------------


def get(session: Session, subscriber_id: str, *, for_update: bool = False) -> Subscriber | None:
    """One subscriber by id (locked for this transaction with ``for_update``)."""
    return session.get(Subscriber, subscriber_id, with_for_update=for_update)


def get_one(session: Session, subscriber_id: str, *, for_update: bool = False) -> Subscriber:
    """One subscriber by id, which must exist."""
    return session.get_one(Subscriber, subscriber_id, with_for_update=for_update)


def public_watchlists(session: Session) -> list[Watchlist]:
    return list(
        session.scalars(
            select(Watchlist)
            .where(Watchlist.public.is_(True), Watchlist.active.is_(True))
            .order_by(Watchlist.id)
        )
    )


def public_watchlist_ids(session: Session, ids: Collection[str]) -> set[str]:
    """Those of ``ids`` that name a public, active watch list."""
    return set(
        session.scalars(
            select(Watchlist.id).where(
                Watchlist.id.in_(list(ids)),
                Watchlist.public.is_(True),
                Watchlist.active.is_(True),
            )
        )
    )


def add(session: Session, subscriber: Subscriber, watchlist_ids: Collection[str]) -> None:
    """A new subscriber and its subscriptions."""
    session.add(subscriber)
    session.flush()
    session.add_all(
        Subscription(subscriber_id=subscriber.id, watchlist_id=w, active=True)
        for w in watchlist_ids
    )


def pending_by_address(
    session: Session, managed_by: str, channel: str, address_index: str
) -> list[Subscriber]:
    """Subscribers waiting for confirmation, found by the blind index of their address."""
    return list(
        session.scalars(
            select(Subscriber).where(
                Subscriber.managed_by == managed_by,
                Subscriber.channel == channel,
                Subscriber.status == "pending",
                Subscriber.address_index == address_index,
            )
        )
    )


TokenColumn = Literal["manage", "confirm", "unsubscribe"]


def by_token_hash(session: Session, purpose: TokenColumn, token_hash: str) -> Subscriber | None:
    """The subscriber whose stored token hash for ``purpose`` is ``token_hash``."""
    column = {
        "manage": Subscriber.manage_token_hash,
        "confirm": Subscriber.confirm_token_hash,
        "unsubscribe": Subscriber.unsubscribe_token_hash,
    }[purpose]
    return session.scalars(select(Subscriber).where(column == token_hash)).first()


def replace_subscriptions(session: Session, subscriber_id: str, wanted: Collection[str]) -> None:
    """Subscribe to exactly ``wanted`` (watch list ids)."""
    wanted = set(wanted)
    session.execute(
        delete(Subscription).where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.watchlist_id.not_in(wanted),
        )
    )
    have = set(
        session.scalars(
            select(Subscription.watchlist_id).where(Subscription.subscriber_id == subscriber_id)
        )
    )
    session.add_all(
        Subscription(subscriber_id=subscriber_id, watchlist_id=w, active=True)
        for w in sorted(wanted - have)
    )


def delete_subscriber(session: Session, subscriber_id: str) -> None:
    """Remove the subscriber and everything about it: its address leaves the database."""
    session.execute(delete(DigestItem).where(DigestItem.subscriber_id == subscriber_id))
    session.execute(delete(Delivery).where(Delivery.subscriber_id == subscriber_id))
    session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber_id))
    session.execute(delete(Subscriber).where(Subscriber.id == subscriber_id))


def expired_pending_ids(session: Session, managed_by: str, now: datetime) -> list[str]:
    """Pending subscribers whose confirmation link or ping has expired."""
    return list(
        session.scalars(
            select(Subscriber.id).where(
                Subscriber.managed_by == managed_by,
                Subscriber.status == "pending",
                Subscriber.confirm_expires_at < now,
            )
        )
    )


def page(
    session: Session, status: str | None, managed_by: str | None, limit: int, offset: int
) -> tuple[list[Subscriber], int]:
    """One page of subscribers by id, and how many match the filters in all.

    ``status`` active/disabled also matches YAML subscribers by their flag (they
    have no status of their own).
    """
    statement = select(Subscriber)
    if managed_by is not None:
        statement = statement.where(Subscriber.managed_by == managed_by)
    if status in ("active", "disabled"):
        yaml_rows = Subscriber.status.is_(None) & Subscriber.active.is_(status == "active")
        statement = statement.where((Subscriber.status == status) | yaml_rows)
    elif status is not None:
        statement = statement.where(Subscriber.status == status)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = list(session.scalars(statement.order_by(Subscriber.id).limit(limit).offset(offset)))
    return rows, total


def watchlists_of(session: Session, subscriber_ids: Collection[str]) -> dict[str, list[str]]:
    """Subscriber id → the ids of the watch lists it actively subscribes to."""
    found: dict[str, list[str]] = {}
    for subscriber_id, watchlist_id in session.execute(
        select(Subscription.subscriber_id, Subscription.watchlist_id)
        .where(Subscription.subscriber_id.in_(list(subscriber_ids)), Subscription.active.is_(True))
        .order_by(Subscription.watchlist_id)
    ):
        found.setdefault(subscriber_id, []).append(watchlist_id)
    return found


def delivery_counts_of(
    session: Session, subscriber_ids: Collection[str]
) -> dict[str, dict[str, int]]:
    """Subscriber id → its deliveries by status."""
    counts: dict[str, dict[str, int]] = {}
    for subscriber_id, status, n in session.execute(
        select(Delivery.subscriber_id, Delivery.status, func.count())
        .where(Delivery.subscriber_id.in_(list(subscriber_ids)))
        .group_by(Delivery.subscriber_id, Delivery.status)
    ):
        counts.setdefault(subscriber_id, {})[status] = n
    return counts


def unsubscribed_by_recipient(session: Session) -> list[str]:
    """Ids of YAML subscribers who opted out through an alert's link (the YAML still lists
    them; ``rightswatch subscribers enable ID`` undoes it)."""
    return list(
        session.scalars(
            select(Subscriber.id)
            .where(Subscriber.managed_by == "config", Subscriber.status == "unsubscribed")
            .order_by(Subscriber.id)
        )
    )


def api_channels(session: Session) -> list[tuple[str, str, str]]:
    """(id, channel, address) of the active subscribers made through the API, for
    ``check-config --online`` (the addresses are decrypted: never print them)."""
    rows = session.execute(
        select(Subscriber.id, Subscriber.channel, Subscriber.address)
        .where(Subscriber.managed_by == "api", Subscriber.status == "active")
        .order_by(Subscriber.id)
    )
    return [(subscriber_id, channel, address) for subscriber_id, channel, address in rows]
