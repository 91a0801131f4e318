"""What the API does to the database: subscriptions, their tokens, the operator's view.

Each function works in the caller's transaction and returns plain values or
rows; the routes turn them into HTTP. API subscribers are ``subscribers`` rows
with ``managed_by="api"`` (the config sync never touches them); their
confirmation e-mails and verification pings are outbox rows that the same
delivery code sends, so they survive a crash or a mail server that is down.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from worker.api.schemas import SubscriptionCreate, SubscriptionUpdate
from worker.config import Config
from worker.db import audit, outbox, subscribers
from worker.db.models import Subscriber, Watchlist
from worker.security.crypto import blind_index
from worker.security.tokens import subscriber_token, token_hash, token_matches, unsubscribe_token

API = "api"
CONFIRM_TTL = timedelta(hours=48)
"""How long a confirmation link works (a resend starts it again)."""
VERIFY_TTL = timedelta(days=3)
"""How long a new webhook may take to answer its verification ping."""


class ServiceError(Exception):
    """A request that cannot be carried out as asked; the message is for the client."""


class InvalidField(ServiceError):
    """A well-formed request naming something that does not exist or is not allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownWatchlists(InvalidField):
    def __init__(self, ids: Sequence[str]) -> None:
        names = ", ".join(repr(i) for i in ids)
        plural = "s" if len(ids) != 1 else ""
        super().__init__("body.watchlists", f"unknown watch list{plural} {names}")
        self.ids = tuple(ids)


class Conflict(ServiceError):
    """The subscription is not in a state that allows this."""


@dataclass(frozen=True, slots=True)
class Created:
    subscriber: Subscriber
    delivery_id: str
    manage_token: str
    secret: str | None = None


# --- watch lists ---------------------------------------------------------------------


def public_watchlists(session: Session) -> list[Watchlist]:
    return subscribers.public_watchlists(session)


def check_watchlists(session: Session, ids: Sequence[str]) -> None:
    """Every id names a public, active watch list; private ones are "unknown" too."""
    found = subscribers.public_watchlist_ids(session, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise UnknownWatchlists(missing)


# --- creating -------------------------------------------------------------------------


def create(session: Session, data: SubscriptionCreate, secret_key: str, now: datetime) -> Created:
    """A pending subscriber, its watch lists, and the outbox row that asks for consent."""
    check_watchlists(session, data.watchlists)
    subscriber_id = f"sub_{secrets.token_hex(16)}"
    webhook_secret = None
    if data.webhook is not None:
        webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    subscriber = Subscriber(
        id=subscriber_id,
        channel="webhook" if data.webhook is not None else "email",
        address=data.webhook or data.email or "",
        managed_by=API,
        status="pending",
        active=False,
        created_at=now,
        frequency=data.frequency,
        deliver_at=data.deliver_at,
        timezone=data.timezone,
        unsubscribe_token_hash=token_hash(unsubscribe_token(secret_key, subscriber_id)),
        manage_token_hash=token_hash(subscriber_token(secret_key, "manage", subscriber_id)),
        confirm_token_hash=(
            None
            if data.webhook is not None
            else token_hash(subscriber_token(secret_key, "confirm", subscriber_id))
        ),
        confirm_expires_at=now + (VERIFY_TTL if data.webhook is not None else CONFIRM_TTL),
        webhook_secret=webhook_secret,
        language=data.language,
        security_phrase=data.security_phrase or None,
    )
    subscribers.add(session, subscriber, data.watchlists)
    delivery_id = queue_message(
        session, subscriber, "verify" if data.webhook is not None else "confirm", now
    )
    return Created(
        subscriber=subscriber,
        delivery_id=delivery_id,
        manage_token=subscriber_token(secret_key, "manage", subscriber_id),
        secret=webhook_secret,
    )


def queue_message(session: Session, subscriber: Subscriber, kind: str, now: datetime) -> str:
    """An outbox row for a confirmation e-mail or a verification ping, due now."""
    return outbox.queue_subscription_message(session, subscriber, kind, now)


def resend_confirmations(session: Session, email: str, now: datetime) -> list[str]:
    """New confirmation e-mails (and a fresh expiry) for the address's pending subscriptions."""
    pending = subscribers.pending_by_address(session, API, "email", blind_index(email))
    delivery_ids = []
    for subscriber in pending:
        subscriber.confirm_expires_at = now + CONFIRM_TTL
        delivery_ids.append(queue_message(session, subscriber, "confirm", now))
    return delivery_ids


def request_verification(session: Session, subscriber: Subscriber, now: datetime) -> str:
    if subscriber.channel != "webhook" or subscriber.status != "pending":
        raise Conflict("only a webhook subscription that is not yet verified can be pinged")
    subscriber.confirm_expires_at = now + VERIFY_TTL
    return queue_message(session, subscriber, "verify", now)


# --- finding by token ------------------------------------------------------------------


def owned(session: Session, subscriber_id: str, token: str, secret_key: str) -> Subscriber | None:
    """The API subscriber if ``token`` is its management token; else None (same work)."""
    subscriber = subscribers.get(session, subscriber_id)
    if subscriber is None or subscriber.managed_by != API:
        token_matches(secret_key, "manage", subscriber_id, token)
        return None
    return subscriber if token_matches(secret_key, "manage", subscriber.id, token) else None


def by_token(
    session: Session, purpose: Literal["manage", "confirm", "unsubscribe"], token: str, key: str
) -> Subscriber | None:
    """The subscriber a link's token belongs to (found by hash, then checked exactly)."""
    subscriber = subscribers.by_token_hash(session, purpose, token_hash(token))
    if subscriber is None or not token_matches(key, purpose, subscriber.id, token):
        return None
    return subscriber


def awaiting_confirmation(
    session: Session, token: str, key: str, now: datetime
) -> Subscriber | None:
    subscriber = by_token(session, "confirm", token, key)
    if (
        subscriber is None
        or subscriber.status != "pending"
        or subscriber.confirm_expires_at is None
        or subscriber.confirm_expires_at <= now
    ):
        return None
    return subscriber


def confirm(session: Session, token: str, key: str, now: datetime) -> Subscriber | None:
    subscriber = awaiting_confirmation(session, token, key, now)
    if subscriber is None or not subscribers.activate_subscriber(session, subscriber.id, now):
        return None
    session.refresh(subscriber)
    return subscriber


RECIPIENT = "recipient"
"""The audit log's actor for what the recipient of an alert did through its link."""


def unsubscribe(
    session: Session,
    subscriber: Subscriber,
    config: Config,
    now: datetime,
) -> Literal["deleted", "unsubscribed"]:
    """API subscribers are deleted (their address with them); YAML ones stop receiving.

    A YAML subscriber is often a shared desk inbox, and one click in a forwarded alert
    silences it: that is recorded in the audit log and told to the operators, and
    ``rightswatch subscribers enable ID`` undoes it.
    """
    if subscriber.managed_by == API:
        subscribers.delete_subscriber(session, subscriber.id)
        return "deleted"
    subscriber.status = "unsubscribed"
    subscriber.active = False
    audit.record(session, "subscriber.unsubscribed", actor=RECIPIENT, target=subscriber.id, at=now)
    outbox.queue_operator_alerts(
        session,
        config.operators,
        feed_id=None,
        event="unsubscribed",
        episode_since=now,
        subject=f"[rightswatch] subscriber {subscriber.id} unsubscribed",
        body=(
            f"The YAML subscriber {subscriber.id} ({subscriber.channel}) followed the "
            f"unsubscribe link of an alert at {now:%Y-%m-%d %H:%M} UTC and receives no more "
            "alerts. If that was a mistake (a forwarded alert, a shared inbox), undo it with\n\n"
            f"    rightswatch subscribers enable {subscriber.id}\n"
        ),
        details={"subscriber_id": subscriber.id, "channel": subscriber.channel},
        now=now,
    )
    return "unsubscribed"


# --- changing ---------------------------------------------------------------------------


def watchlist_ids(session: Session, subscriber_id: str) -> list[str]:
    return [w.id for w in subscribers.subscribed_watchlists(session, subscriber_id)]


def update(session: Session, subscriber: Subscriber, changes: SubscriptionUpdate) -> None:
    if changes.watchlists is not None:
        check_watchlists(session, changes.watchlists)
        subscribers.replace_subscriptions(session, subscriber.id, changes.watchlists)
    if changes.frequency is not None:
        subscriber.frequency = changes.frequency
    if changes.deliver_at is not None:
        subscriber.deliver_at = changes.deliver_at
    if changes.timezone is not None:
        subscriber.timezone = changes.timezone
    if changes.language is not None:
        subscriber.language = changes.language
    if changes.security_phrase is not None:
        subscriber.security_phrase = changes.security_phrase or None
    if changes.paused is not None:
        pause(subscriber, changes.paused)


def pause(subscriber: Subscriber, paused: bool) -> None:
    if subscriber.status == "disabled":
        raise Conflict("this subscription was disabled by the operator")
    if subscriber.status == "pending":
        raise Conflict("this subscription is not confirmed yet")
    subscriber.status = "paused" if paused else "active"
    subscriber.active = not paused


def purge_unconfirmed(session: Session, now: datetime) -> int:
    """Delete pending subscriptions whose link or ping has expired: nobody consented."""
    expired = subscribers.expired_pending_ids(session, API, now)
    for subscriber_id in expired:
        subscribers.delete_subscriber(session, subscriber_id)
    return len(expired)


# --- the operator's view ------------------------------------------------------------------


def status_of(subscriber: Subscriber) -> str:
    return subscriber.status or ("active" if subscriber.active else "disabled")


@dataclass(frozen=True, slots=True)
class SubscriberView:
    subscriber: Subscriber
    watchlists: list[str]
    deliveries: dict[str, int]


def list_subscribers(
    session: Session, status: str | None, managed_by: str | None, limit: int, offset: int
) -> tuple[list[SubscriberView], int]:
    rows, total = subscribers.page(session, status, managed_by, limit, offset)
    return views(session, rows), total


def views(session: Session, rows: list[Subscriber]) -> list[SubscriberView]:
    ids = [s.id for s in rows]
    watchlists = subscribers.watchlists_of(session, ids)
    counts = subscribers.delivery_counts_of(session, ids)
    return [SubscriberView(s, watchlists.get(s.id, []), counts.get(s.id, {})) for s in rows]


def disable(session: Session, subscriber: Subscriber) -> None:
    if subscriber.managed_by != API:
        raise Conflict("this subscriber is managed in the YAML: set enabled: false there")
    subscriber.status = "disabled"
    subscriber.active = False


def enable(session: Session, subscriber: Subscriber, config: Config) -> None:
    """Undo an operator's disable, or a YAML subscriber's unsubscribe (at their request)."""
    if subscriber.managed_by == API:
        if subscriber.status != "disabled":
            raise Conflict("this subscription is not disabled")
        subscriber.status = "active" if subscriber.confirmed_at else "pending"
        subscriber.active = subscriber.status == "active"
        return
    if subscriber.status != "unsubscribed":
        raise Conflict("this subscriber is managed in the YAML: set enabled: true there")
    configured = next((s for s in config.subscribers if s.id == subscriber.id), None)
    subscriber.status = None
    subscriber.active = configured is not None and configured.enabled
