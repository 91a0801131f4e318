"""WebSub subscriptions: noted when a poll sees a hub, claimed for (re)subscribing,
verified by the hub, looked up for each content distribution."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.core.websub import VERIFY_WAIT, renew_at, retry_after
from worker.db.models import Feed, WebSubSubscription


def note_hub(session: Session, feed_id: str, hub: str, topic: str, now: datetime) -> bool:
    """Record the hub and topic a feed advertises; True when a subscription is now due.

    A hub or topic that changed starts a new subscription (with a new secret, so the
    old hub's distributions no longer verify).
    """
    row = session.scalars(
        select(WebSubSubscription).where(WebSubSubscription.feed_id == feed_id)
    ).first()
    if row is not None and row.hub == hub and row.topic == topic:
        return False
    if row is None:
        row = WebSubSubscription(id=secrets.token_urlsafe(18), feed_id=feed_id)
        session.add(row)
    row.hub, row.topic, row.secret = hub, topic, secrets.token_urlsafe(32)
    row.state, row.requested_at, row.lease_expires_at = "new", None, None
    row.next_attempt_at, row.attempts, row.last_error = now, 0, None
    return True


def claim_due(session: Session, now: datetime, limit: int = 100) -> list[str]:
    """Subscriptions of active feeds to (re)request now; each is marked as asked, so the
    hub's verification is accepted and no other tick asks again before VERIFY_WAIT (longer
    after many requests the hub never verified, up to a day)."""
    rows = list(
        session.scalars(
            select(WebSubSubscription)
            .join(Feed, Feed.id == WebSubSubscription.feed_id)
            .where(Feed.active.is_(True), WebSubSubscription.next_attempt_at <= now)
            .order_by(WebSubSubscription.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=WebSubSubscription)
        )
    )
    for row in rows:
        row.requested_at = now
        row.attempts += 1
        row.next_attempt_at = now + max(VERIFY_WAIT, retry_after(row.attempts))
        if row.state != "active":
            row.state = "requested"
    return [row.id for row in rows]


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
    if row.state != "active":
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
