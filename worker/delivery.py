"""One delivery end to end: claim the outbox row, send, record.

Safe to run twice for the same delivery: the claim is an atomic UPDATE, so only
one caller sends, and a delivery whose sender died is taken back by the sweep
when its claim expires (a possible repeat carries the same delivery id).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from worker.db import repo
from worker.db.models import Delivery
from worker.errors import DeliveryError
from worker.notify.base import Notifier, Recipient
from worker.schedule import delivery_retry_at
from worker.settings import Settings
from worker.types import Alert, AlertTerm

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]
DELIVERY_LEASE = timedelta(minutes=5)
"""How long a claimed delivery may take before the sweep may take it back."""
DELIVERY_LIFETIME = timedelta(days=3)
"""After this, a delivery that still fails is given up on (status dead)."""


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    delivery_id: str
    status: str
    """sent, retrying, dead, cancelled, or skipped (not ours to send now)."""
    error: str | None = None


def deliver(
    sessions: SessionMaker,
    delivery_id: str,
    *,
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    now: Callable[[], datetime],
    rng: random.Random | None = None,
) -> DeliveryOutcome:
    """Claim one delivery, send it, record the result. Safe to call twice."""
    with sessions() as session, session.begin():
        if not repo.claim_delivery(session, delivery_id, now(), DELIVERY_LEASE):
            return DeliveryOutcome(delivery_id, "skipped")
    with sessions() as session:
        row = repo.match_for_delivery(session, delivery_id)
    if row is None:
        return DeliveryOutcome(delivery_id, "skipped")
    delivery, match, entry, feed, watchlist, subscriber = row
    if not subscriber.active:
        return _record(sessions, delivery_id, "cancelled", None, None)
    alert = Alert(
        delivery_id=delivery_id,
        match_id=match.id,
        watchlist_id=watchlist.id,
        watchlist_title=watchlist.title,
        feed_id=feed.id,
        feed_title=feed.title or feed.id,
        entry_title=entry.title,
        entry_link=entry.link,
        entry_published=entry.published_at,
        terms=tuple(
            AlertTerm(h["kind"], h["term"], h["text"], h["field"], h["variant"]) for h in match.hits
        ),
        snippet=match.snippet,
        matched_at=match.created_at,
    )
    recipient = Recipient(
        subscriber_id=subscriber.id,
        channel=subscriber.channel,
        address=subscriber.address,
        secret=settings.secret(subscriber.secret_env) if subscriber.secret_env else None,
    )
    notifier = notifiers.get(subscriber.channel)
    try:
        if notifier is None:
            raise DeliveryError(f"no notifier for channel {subscriber.channel!r}", retryable=False)
        notifier.send(alert, recipient)
    except DeliveryError as e:
        error = f"{type(e).__name__}: {e}"
        at = now()
        if not e.retryable or at - delivery.created_at > DELIVERY_LIFETIME:
            log.warning(
                "delivery %s dead after %d attempts: %s", delivery_id, delivery.attempts, error
            )
            return _record(sessions, delivery_id, "dead", error, None)
        retry_at = delivery_retry_at(at, delivery.attempts, (rng or random).random(), e.retry_after)
        log.info(
            "delivery %s failed (attempt %d), retry at %s: %s",
            delivery_id,
            delivery.attempts,
            retry_at.isoformat(),
            error,
        )
        return _record(sessions, delivery_id, "retrying", error, retry_at)
    log.info(
        "delivery %s sent via %s to subscriber %s", delivery_id, subscriber.channel, subscriber.id
    )
    return _record(sessions, delivery_id, "sent", None, None, sent_at=now())


def _record(
    sessions: SessionMaker,
    delivery_id: str,
    status: str,
    error: str | None,
    retry_at: datetime | None,
    sent_at: datetime | None = None,
) -> DeliveryOutcome:
    with sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is not None:
            delivery.status = status
            delivery.last_error = error
            delivery.claimed_until = None
            if retry_at is not None:
                delivery.next_attempt_at = retry_at
            if sent_at is not None:
                delivery.sent_at = sent_at
    return DeliveryOutcome(delivery_id, status, error)
