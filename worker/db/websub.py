"""WebSub subscriptions: noted when a poll sees a hub, claimed for (re)subscribing,
verified by the hub, looked up for each content distribution, and retired (unsubscribed
at the hub) when their feed leaves the config or stops naming a hub."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.core.websub import UNSUBSCRIBE_TRIES, VERIFY_WAIT, renew_at, retry_after
from worker.db.models import Feed, WebSubSubscription

_AT_THE_HUB = ("requested", "active")
"""States in which the hub may hold a subscription: retired by asking it to unsubscribe."""


def note_hub(session: Session, feed_id: str, hub: str, topic: str, now: datetime) -> bool:
    """Record the hub and topic a feed advertises; True when a subscription is now due.

    A hub or topic that changed starts a new subscription (with a new secret, so the
    old hub's distributions no longer verify).
    """
    row = session.scalars(
        select(WebSubSubscription).where(WebSubSubscription.feed_id == feed_id)
    ).first()
    if row is not None and row.hub == hub and row.topic == topic and row.state != "unsubscribing":
        return False
    if row is None:
        row = WebSubSubscription(id=secrets.token_urlsafe(18), feed_id=feed_id)
        session.add(row)
    row.hub, row.topic, row.secret = hub, topic, secrets.token_urlsafe(32)
    row.state, row.requested_at, row.lease_expires_at = "new", None, None
    row.next_attempt_at, row.attempts, row.last_error = now, 0, None
    return True


def claim_due(session: Session, now: datetime, limit: int = 100) -> list[str]:
    """Subscriptions to (re)request or to cancel now; each is marked as asked, so the
    hub's verification is accepted and no other tick asks again before VERIFY_WAIT (longer
    after many requests the hub never verified, up to a day).

    Those of feeds no longer active are retired first. A cancellation the hub has not
    verified after UNSUBSCRIBE_TRIES requests is given up: its lease runs out.
    """
    _retire_inactive(session, now)
    rows = list(
        session.scalars(
            select(WebSubSubscription)
            .join(Feed, Feed.id == WebSubSubscription.feed_id)
            .where(
                Feed.active.is_(True) | (WebSubSubscription.state == "unsubscribing"),
                WebSubSubscription.next_attempt_at <= now,
            )
            .order_by(WebSubSubscription.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebSubSubscription)
        )
    )
    given_up = [r for r in rows if r.state == "unsubscribing" and r.attempts >= UNSUBSCRIBE_TRIES]
    for row in given_up:
        session.delete(row)
        rows.remove(row)
    for row in rows:
        row.requested_at = now
        row.attempts += 1
        row.next_attempt_at = now + max(VERIFY_WAIT, retry_after(row.attempts))
        if row.state not in ("active", "unsubscribing"):
            row.state = "requested"
    return [row.id for row in rows]


def hub_gone(session: Session, feed_id: str, now: datetime) -> bool:
    """The feed's body names no hub any more: retire its subscription; True when the hub
    is to be asked to unsubscribe."""
    row = session.scalars(
        select(WebSubSubscription).where(WebSubSubscription.feed_id == feed_id)
    ).first()
    return row is not None and _retire(session, row, now)


def unsubscribed(session: Session, row: WebSubSubscription) -> None:
    """The hub confirmed the cancellation (or denied the topic): nothing is left to keep."""
    session.delete(row)


def _retire_inactive(session: Session, now: datetime) -> None:
    """Retire the subscriptions of feeds removed from the config or disabled."""
    rows = session.scalars(
        select(WebSubSubscription)
        .join(Feed, Feed.id == WebSubSubscription.feed_id)
        .where(Feed.active.is_(False), WebSubSubscription.state != "unsubscribing")
        .with_for_update(skip_locked=True, of=WebSubSubscription)
    )
    for row in rows:
        _retire(session, row, now)


def _retire(session: Session, row: WebSubSubscription, now: datetime) -> bool:
    """Unsubscribe at the hub if it may hold the subscription, else just forget it."""
    if row.state == "unsubscribing":
        return False
    if row.state not in _AT_THE_HUB:
        session.delete(row)
        return False
    row.state, row.requested_at = "unsubscribing", None
    row.next_attempt_at, row.attempts, row.last_error = now, 0, None
    return True


def get(session: Session, subscription_id: str) -> WebSubSubscription | None:
    return session.get(WebSubSubscription, subscription_id)


def forget(session: Session, subscription_id: str) -> str | None:
    """Delete a subscription (its lease lapses at the hub); the feed id it was for."""
    row = session.get(WebSubSubscription, subscription_id)
    if row is None:
        return None
    session.delete(row)
    return row.feed_id


def feed_of(session: Session, subscription_id: str) -> str | None:
    return session.scalar(
        select(WebSubSubscription.feed_id).where(WebSubSubscription.id == subscription_id)
    )


def request_failed(session: Session, subscription_id: str, error: str, now: datetime) -> None:
    """The hub refused the request or could not be reached: ask again later, backing off."""
    row = session.get(WebSubSubscription, subscription_id, with_for_update=True)
    if row is None:
        return
    row.last_error = error[:1000]
    row.requested_at = None
    row.next_attempt_at = now + retry_after(row.attempts)
    if row.state not in ("active", "unsubscribing"):
        row.state = "failed"


def verified(
    session: Session, row: WebSubSubscription, lease: timedelta, now: datetime, tick: timedelta
) -> None:
    """The hub confirmed the subscription for ``lease``: active, renewed before it ends."""
    row.state = "active"
    row.requested_at = None
    row.lease_expires_at = now + lease
    row.next_attempt_at = renew_at(now, lease, tick)
    row.attempts = 0
    row.last_error = None


def denied(session: Session, row: WebSubSubscription, reason: str, now: datetime) -> None:
    """The hub will not deliver this topic: polling alone, and ask again in a day."""
    row.state = "denied"
    row.requested_at = row.lease_expires_at = None
    row.last_error = f"the hub denied the subscription: {reason}"[:1000]
    row.next_attempt_at = now + timedelta(days=1)


def active_until(session: Session, now: datetime) -> dict[str, datetime]:
    """Feed id → end of its subscription's lease, for the subscriptions active now."""
    statement = select(WebSubSubscription.feed_id, WebSubSubscription.lease_expires_at).where(
        WebSubSubscription.state == "active", WebSubSubscription.lease_expires_at > now
    )
    return {feed_id: until for feed_id, until in session.execute(statement) if until}
