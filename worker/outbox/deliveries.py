"""The subscribers' outbox (``deliveries``): alerts, digests, confirmation e-mails, pings.

How a row becomes a message: an alert is its match with the entry, feed and
watch list; a digest is every match of its period, one per story; a
confirmation or verification ping is made while the subscription still waits
for it. Rows of a subscriber who was removed are cancelled; a verified webhook
makes its subscriber active. Sending is :func:`worker.outbox.machine.process`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from worker import logs
from worker.core.digest import Period, group_stories, period_name
from worker.core.errors import DeliveryError
from worker.core.types import (
    Alert,
    AlertTerm,
    Confirmation,
    Digest,
    Message,
    VerificationPing,
)
from worker.db import entries, outbox, subscribers
from worker.db.models import Delivery, Entry, Feed, Match, Subscriber, Watchlist
from worker.notify.base import Recipient
from worker.outbox.machine import LIFETIME, Prepared, resolve_env_refs
from worker.security.tokens import subscriber_token, token_hash, unsubscribe_token
from worker.settings import Settings

log = logging.getLogger(__name__)

SUBSCRIPTION_KINDS = frozenset({"confirm", "verify"})
"""Kinds of row that are about the subscription itself, not about a match."""


@dataclass(frozen=True, slots=True)
class Deliveries:
    """The :class:`~worker.outbox.machine.Box` of the ``deliveries`` table."""

    settings: Settings
    label: str = "delivery"
    table: outbox.OutboxTable = Delivery

    def busy(self, session: Session, row_id: str, at: datetime) -> bool:
        return outbox.destination_busy(session, row_id, at, self.settings.delivery_concurrency)

    def prepare(self, session: Session, row_id: str) -> Prepared | None:
        delivery = session.get(Delivery, row_id)
        if delivery is None:
            return None
        subscriber = session.get_one(Subscriber, delivery.subscriber_id)
        if self.settings.secret_key:
            _keep_unsubscribe_hash(subscriber, self.settings.secret_key)
        message: Message | None = None
        cancel_reason = unsendable = None
        if delivery.kind in SUBSCRIPTION_KINDS:
            message = _subscription_message(session, delivery, subscriber, self.settings)
            if message is None and subscriber.status == "pending":
                unsendable = DeliveryError(
                    "RIGHTSWATCH_SECRET_KEY and RIGHTSWATCH_PUBLIC_URL are not both set"
                )
            elif message is None:
                cancel_reason = "the subscription no longer waits for it"
        elif not subscriber.active:
            cancel_reason = "the subscriber was removed"
        else:
            message = _notification(session, delivery, subscriber)
            cancel_reason = None if message else "nothing to send"
        return Prepared(
            kind=delivery.kind,
            recipient=subscriber_recipient(subscriber, self.settings),
            deadline=delivery.expires_at or (delivery.period_end or delivery.created_at) + LIFETIME,
            waiting_since=_waiting_since(delivery, message),
            attempts=delivery.attempts,
            message=message,
            cancel_reason=cancel_reason,
            unsendable=unsendable,
        )

    def sent(self, session: Session, row_id: str, message: Message, at: datetime) -> None:
        if isinstance(message, VerificationPing):
            subscribers.activate_subscriber(session, message.subscription_id, at)
            log.info("subscriber %s: webhook verified, now active", message.subscription_id)


def _waiting_since(delivery: Delivery, message: Message | None) -> datetime:
    """Since when the message was waiting: the match, the digest's send time, or the request."""
    if isinstance(message, Alert):
        return message.matched_at
    if delivery.kind == "digest" and delivery.period_end is not None:
        return delivery.period_end
    return delivery.created_at


def _alert(
    session: Session,
    delivery_id: str,
    language: str,
    match: Match,
    entry: Entry,
    feed: Feed,
    watchlist: Watchlist,
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
        entry_published=entry.published_time,
        terms=tuple(
            AlertTerm(h["kind"], h["term"], h["text"], h["field"], h["variant"]) for h in match.hits
        ),
        snippet=match.snippet,
        matched_at=match.created_at,
        also_reported_by=entries.also_reported_by(session, match.id),
        language=language,
    )


def _notification(
    session: Session, delivery: Delivery, subscriber: Subscriber
) -> Alert | Digest | None:
    language = subscriber.language or "en"
    if delivery.kind != "digest":
        row = outbox.match_for_delivery(session, delivery.id)
        if row is None:
            return None
        _, match, entry, feed, watchlist, _ = row
        logs.add(entry_id=entry.id, match_id=match.id)
        return _alert(session, delivery.id, language, match, entry, feed, watchlist)
    alerts = [
        _alert(session, delivery.id, language, *row)
        for row in outbox.digest_matches(session, delivery.id)
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
        language=language,
    )


def _keep_unsubscribe_hash(subscriber: Subscriber, secret_key: str) -> None:
    """Store the hash of the unsubscribe token this message will carry, so its link works:
    RIGHTSWATCH_SECRET_KEY may have been set or changed since the subscriber was made."""
    expected = token_hash(unsubscribe_token(secret_key, subscriber.id))
    if subscriber.unsubscribe_token_hash != expected:
        subscriber.unsubscribe_token_hash = expected


def subscriber_recipient(subscriber: Subscriber, settings: Settings) -> Recipient:
    """Who the row goes to, with the secrets and link tokens its channel needs."""
    address = subscriber.address
    if subscriber.channel == "apprise":
        address = resolve_env_refs(address, settings)
    token = None
    if settings.secret_key:
        token = unsubscribe_token(settings.secret_key, subscriber.id)
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
) -> Confirmation | VerificationPing | None:
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
    language = subscriber.language or "en"
    lang = f"?lang={language}" if language != "en" else ""
    return Confirmation(
        delivery_id=delivery.id,
        confirm_url=f"{base}/confirm/{subscriber_token(key, 'confirm', subscriber.id)}{lang}",
        manage_url=f"{base}/manage/{subscriber_token(key, 'manage', subscriber.id)}{lang}",
        watchlists=tuple(w.title for w in watchlists),
        frequency=subscriber.frequency,
        expires_at=subscriber.confirm_expires_at,
        language=language,
    )
