"""One delivery end to end: claim the outbox row, send, record.

Safe to run twice for the same delivery: the claim is an atomic UPDATE, so only
one caller sends, and a delivery whose sender died is taken back by the sweep
when its claim expires (a possible repeat carries the same delivery id, which
is the webhook-id and the Message-ID). Every state change is logged with the
delivery id:

    pending ─claim─▶ sending ─▶ sent
                        │
                        ├─▶ retrying ─(due)─▶ sending ─▶ …
                        ├─▶ dead        (not retryable, or its lifetime is over)
                        └─▶ cancelled   (the subscriber was removed)
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from worker import logs, metrics
from worker.core.digest import Period, group_stories, period_name
from worker.core.errors import DeliveryError
from worker.core.schedule import delivery_retry_at
from worker.core.types import Alert, AlertTerm, Digest, Notification
from worker.db import entries, outbox, subscribers
from worker.db.models import Delivery, Entry, Feed, Match, Subscriber, Watchlist
from worker.notify import subscription
from worker.notify.base import Notifier, Recipient
from worker.notify.subscription import (
    SUBSCRIPTION_KINDS,
    Confirmation,
    SubscriptionMessage,
    VerificationPing,
)
from worker.security.tokens import subscriber_token, token_hash, unsubscribe_token
from worker.settings import Settings

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]
DELIVERY_LIFETIME = timedelta(days=3)
"""A delivery still failing this long after it fell due is given up on (status dead)."""
DEFER_DELAY = timedelta(seconds=5)
"""How long a delivery waits when its destination already has its share in flight."""
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    delivery_id: str
    status: str
    """sent, retrying, dead, cancelled, deferred (destination busy) or skipped (not ours)."""
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
    at = now()
    with sessions() as session, session.begin():
        if outbox.destination_busy(session, delivery_id, at, settings.delivery_concurrency):
            outbox.defer_delivery(session, delivery_id, at + DEFER_DELAY)
            log.info("delivery %s deferred: its destination is busy", delivery_id)
            return DeliveryOutcome(delivery_id, "deferred")
        if not outbox.claim_delivery(session, delivery_id, at, settings.delivery_lease):
            return DeliveryOutcome(delivery_id, "skipped")
    with sessions() as session, session.begin():
        delivery = session.get(Delivery, delivery_id)
        if delivery is None:
            return DeliveryOutcome(delivery_id, "skipped")
        subscriber = session.get_one(Subscriber, delivery.subscriber_id)
        log.info(
            "delivery %s: → sending (attempt %d, %s via %s to subscriber %s)",
            delivery_id,
            delivery.attempts,
            delivery.kind,
            subscriber.channel,
            subscriber.id,
        )
        message: Notification | SubscriptionMessage | None
        if delivery.kind in SUBSCRIPTION_KINDS:
            message = _subscription_message(session, delivery, subscriber, settings)
        else:
            message = _message(session, delivery, subscriber) if subscriber.active else None
        recipient = _recipient(session, subscriber, settings)
    if message is None and delivery.kind in SUBSCRIPTION_KINDS and subscriber.status == "pending":
        unset = DeliveryError("RIGHTSWATCH_SECRET_KEY and RIGHTSWATCH_PUBLIC_URL are not both set")
        outcome = _failed(sessions, delivery, unset, now(), rng or random.Random())
    elif message is None:
        reason = "nothing to send" if subscriber.active else "the subscriber was removed"
        if delivery.kind in SUBSCRIPTION_KINDS:
            reason = "the subscription no longer waits for it"
        outcome = _record(sessions, delivery_id, "cancelled", reason)
    else:
        outcome = _send(sessions, delivery, message, recipient, notifiers, settings, now, rng)
    metrics.delivered(subscriber.channel, delivery.kind, outcome.status, _due(delivery, message))
    return outcome


def _send(
    sessions: SessionMaker,
    delivery: Delivery,
    message: Notification | SubscriptionMessage,
    recipient: Recipient,
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    now: Callable[[], datetime],
    rng: random.Random | None,
) -> DeliveryOutcome:
    try:
        if isinstance(message, Confirmation | VerificationPing):
            subscription.send(message, recipient, settings)
        else:
            notifier = notifiers.get(recipient.channel)
            if notifier is None:
                raise DeliveryError(
                    f"no notifier for channel {recipient.channel!r}", retryable=False
                )
            if unset := _ENV_REF.search(recipient.address):
                raise DeliveryError(f"environment variable {unset.group(1)} is not set")
            notifier.send(message, recipient)
    except DeliveryError as e:
        return _failed(sessions, delivery, e, now(), rng or random.Random())
    except Exception as e:
        log.exception("delivery %s: unexpected error while sending", delivery.id)
        return _failed(sessions, delivery, DeliveryError(str(e)), now(), rng or random.Random(), e)
    if isinstance(message, VerificationPing):
        with sessions() as session, session.begin():
            subscribers.activate_subscriber(session, recipient.subscriber_id, now())
        log.info("subscriber %s: webhook verified, now active", recipient.subscriber_id)
    return _record(sessions, delivery.id, "sent", sent_at=now())


def _due(delivery: Delivery, message: Notification | SubscriptionMessage | None) -> datetime:
    """Since when the message was waiting: the match, the digest's send time, or the request."""
    if isinstance(message, Alert):
        return message.matched_at
    if delivery.kind == "digest" and delivery.period_end is not None:
        return delivery.period_end
    return delivery.created_at


def _failed(
    sessions: SessionMaker,
    delivery: Delivery,
    error: DeliveryError,
    at: datetime,
    rng: random.Random,
    cause: Exception | None = None,
) -> DeliveryOutcome:
    text = f"{type(cause or error).__name__}: {error}"
    deadline = delivery.expires_at or (
        (delivery.period_end or delivery.created_at) + DELIVERY_LIFETIME
    )
    if not error.retryable or at >= deadline:
        return _record(sessions, delivery.id, "dead", text, error.status)
    retry_at = delivery_retry_at(at, delivery.attempts, rng.random(), error.retry_after)
    return _record(sessions, delivery.id, "retrying", text, error.status, min(retry_at, deadline))


def _record(
    sessions: SessionMaker,
    delivery_id: str,
    status: str,
    error: str | None = None,
    code: int | None = None,
    retry_at: datetime | None = None,
    sent_at: datetime | None = None,
) -> DeliveryOutcome:
    """Store the outcome, unless another sender has meanwhile taken the row over and finished."""
    values: dict[str, object] = {
        "status": status,
        "last_error": error,
        "last_status": code,
        "claimed_until": None,
    }
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    if sent_at is not None:
        values["sent_at"] = sent_at
    with sessions() as session, session.begin():
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == "sending")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if status == "sent":
        log.info("delivery %s: sending → sent", delivery_id)
    elif status == "retrying":
        assert retry_at is not None
        log.warning(
            "delivery %s: sending → retrying at %s: %s", delivery_id, retry_at.isoformat(), error
        )
    else:
        log.warning("delivery %s: sending → %s: %s", delivery_id, status, error)
    return DeliveryOutcome(delivery_id, status, error)


def _alert(
    session: Session, delivery_id: str, match: Match, entry: Entry, feed: Feed, watchlist: Watchlist
) -> Alert:
    return Alert(
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
        also_reported_by=entries.also_reported_by(session, match.id),
    )


def _message(session: Session, delivery: Delivery, subscriber: Subscriber) -> Notification | None:
    if delivery.kind != "digest":
        row = outbox.match_for_delivery(session, delivery.id)
        if row is None:
            return None
        _, match, entry, feed, watchlist, _ = row
        logs.add(entry_id=entry.id, match_id=match.id)
        return _alert(session, delivery.id, match, entry, feed, watchlist)
    alerts = [
        _alert(session, delivery.id, *row) for row in outbox.digest_matches(session, delivery.id)
    ]
    if not alerts or delivery.period_start is None or delivery.period_end is None:
        return None
    period = Period(delivery.period_start, delivery.period_end)
    return Digest(
        delivery_id=delivery.id,
        frequency=period_name(period),
        period_start=period.start,
        period_end=period.end,
        timezone=subscriber.timezone,
        alerts=group_stories(alerts),
    )


def _recipient(session: Session, subscriber: Subscriber, settings: Settings) -> Recipient:
    address = subscriber.address
    if subscriber.channel == "apprise":
        address = _ENV_REF.sub(lambda m: settings.secret(m.group(1)) or m.group(0), address)
    token = None
    if settings.secret_key:
        token = unsubscribe_token(settings.secret_key, subscriber.id)
        if subscriber.unsubscribe_token_hash != token_hash(token):
            subscriber.unsubscribe_token_hash = token_hash(token)
    secret = subscriber.webhook_secret
    if secret is None and subscriber.secret_env:
        secret = settings.secret(subscriber.secret_env)
    manage = None
    if settings.secret_key and subscriber.managed_by == "api":
        manage = subscriber_token(settings.secret_key, "manage", subscriber.id)
    return Recipient(
        subscriber_id=subscriber.id,
        channel=subscriber.channel,
        address=address,
        secret=secret,
        unsubscribe_token=token,
        manage_token=manage,
        security_phrase=subscriber.security_phrase,
        pgp_key=subscriber.pgp_key,
    )


def _subscription_message(
    session: Session, delivery: Delivery, subscriber: Subscriber, settings: Settings
) -> SubscriptionMessage | None:
    """The confirmation e-mail or verification ping, while the subscription still waits for it."""
    if subscriber.status != "pending" or not settings.secret_key or not settings.public_url:
        return None
    watchlists = subscribers.subscribed_watchlists(session, subscriber.id)
    if delivery.kind == "verify":
        return VerificationPing(
            delivery_id=delivery.id,
            subscription_id=subscriber.id,
            challenge=subscriber_token(settings.secret_key, "challenge", delivery.id),
            watchlists=tuple(w.id for w in watchlists),
        )
    if subscriber.confirm_expires_at is None:
        return None
    base, key = settings.public_url, settings.secret_key
    return Confirmation(
        delivery_id=delivery.id,
        confirm_url=f"{base}/confirm/{subscriber_token(key, 'confirm', subscriber.id)}",
        manage_url=f"{base}/manage/{subscriber_token(key, 'manage', subscriber.id)}",
        watchlists=tuple(w.title for w in watchlists),
        frequency=subscriber.frequency,
        expires_at=subscriber.confirm_expires_at,
    )
