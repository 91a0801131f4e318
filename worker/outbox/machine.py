"""The one outbox state machine: claim a row, send it through a notifier, record the outcome.

Every message rightswatch sends — alerts, digests, confirmation e-mails,
verification pings and operator alerts — is an outbox row, and every row goes
through :func:`process`, so every channel behaves the same for every kind of
message (reply caps, User-Agent, Retry-After, DKIM, refused recipients,
backoff). Safe to run twice for the same row: the claim is an atomic UPDATE, so
only one caller sends, and a row whose sender died is taken back by the sweep
when its claim expires (a possible repeat carries the same id, which is the
webhook-id and the Message-ID). Every state change is logged with the row's id::

    pending ─claim─▶ sending ─▶ sent
                        │
                        ├─▶ retrying ─(due)─▶ sending ─▶ …
                        ├─▶ dead        (not retryable, or its lifetime is over)
                        └─▶ cancelled   (nothing to send any more)

What differs between the tables (how a row becomes a message and a recipient,
what happens once it is sent) is a :class:`Box`.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy.orm import Session

from worker import metrics
from worker.core.clock import Clock
from worker.core.errors import DeliveryError
from worker.core.schedule import delivery_retry_at
from worker.core.types import Message
from worker.db import outbox
from worker.db.session import SessionFactory
from worker.notify.base import Notifier, Recipient
from worker.settings import Settings

log = logging.getLogger(__name__)

LIFETIME = timedelta(days=3)
"""A message still failing this long after it fell due is given up on (status dead)."""
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Outcome:
    row_id: str
    status: str
    """sent, retrying, dead, cancelled, deferred (destination busy) or skipped (not ours)."""
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A claimed row, ready to send: what, to whom, until when."""

    kind: str
    """alert, digest, confirm, verify or operator (for logs and metrics)."""
    recipient: Recipient
    deadline: datetime
    """Still failing at this time → dead."""
    waiting_since: datetime
    """Since when the message was due (for the delivery-latency metric)."""
    attempts: int
    message: Message | None = None
    """None: nothing to send any more (``cancel_reason`` says why) or cannot be made."""
    cancel_reason: str | None = None
    unsendable: DeliveryError | None = None
    """Set when the message cannot be made in this environment (retried until it can)."""


class Box(Protocol):
    """One outbox table: how its rows are claimed, turned into messages and followed up."""

    @property
    def table(self) -> outbox.OutboxTable:
        """The outbox table whose rows this box sends."""
        ...

    @property
    def label(self) -> str:
        """What a row is called in the logs ("delivery", "operator alert")."""
        ...

    def busy(self, session: Session, row_id: str, at: datetime) -> bool:
        """Whether the row's destination already has its share in flight (defer, not fail)."""
        ...

    def prepare(self, session: Session, row_id: str) -> Prepared | None:
        """The claimed row as a message and recipient; None if the row is gone."""
        ...

    def sent(self, session: Session, row_id: str, message: Message, at: datetime) -> None:
        """What a successful send changes besides the row (e.g. a verified webhook)."""
        ...


DEFER_DELAY = timedelta(seconds=5)
"""How long a row waits when its destination already has its share in flight."""


def process(
    box: Box,
    sessions: SessionFactory,
    row_id: str,
    *,
    notifiers: Mapping[str, Notifier],
    settings: Settings,
    now: Clock,
    rng: random.Random | None = None,
) -> Outcome:
    """Claim one row, send it, record the result. Safe to call twice."""
    at = now()
    with sessions() as session, session.begin():
        if box.busy(session, row_id, at):
            outbox.defer(session, box.table, row_id, at + DEFER_DELAY)
            log.info("%s %s deferred: its destination is busy", box.label, row_id)
            return Outcome(row_id, "deferred")
        if not outbox.claim(session, box.table, row_id, at, settings.delivery_lease):
            return Outcome(row_id, "skipped")
    with sessions() as session, session.begin():
        prepared = box.prepare(session, row_id)
    if prepared is None:
        return Outcome(row_id, "skipped")
    log.info(
        "%s %s: → sending (attempt %d, %s via %s to %s %s)",
        box.label,
        row_id,
        prepared.attempts,
        prepared.kind,
        prepared.recipient.channel,
        prepared.recipient.role,
        prepared.recipient.subscriber_id,
    )
    rng = rng or random.Random()
    if prepared.unsendable is not None:
        outcome = _failed(box, sessions, row_id, prepared, prepared.unsendable, now(), rng)
    elif prepared.message is None:
        outcome = _record(box, sessions, row_id, "cancelled", prepared.cancel_reason)
    else:
        outcome = _send(box, sessions, row_id, prepared, prepared.message, notifiers, now, rng)
    metrics.delivered(
        prepared.recipient.channel, prepared.kind, outcome.status, prepared.waiting_since
    )
    return outcome


def resolve_env_refs(address: str, settings: Settings) -> str:
    """``${VAR}`` in an Apprise URL from the environment (tokens stay out of the YAML)."""
    return _ENV_REF.sub(lambda m: settings.secret(m.group(1)) or m.group(0), address)


def _send(
    box: Box,
    sessions: SessionFactory,
    row_id: str,
    prepared: Prepared,
    message: Message,
    notifiers: Mapping[str, Notifier],
    now: Clock,
    rng: random.Random,
) -> Outcome:
    recipient = prepared.recipient
    try:
        notifier = notifiers.get(recipient.channel)
        if notifier is None:
            raise DeliveryError(f"no notifier for channel {recipient.channel!r}", retryable=False)
        if unset := _ENV_REF.search(recipient.address):
            raise DeliveryError(f"environment variable {unset.group(1)} is not set")
        notifier.send(message, recipient)
    except DeliveryError as e:
        return _failed(box, sessions, row_id, prepared, e, now(), rng)
    except Exception as e:
        log.exception("%s %s: unexpected error while sending", box.label, row_id)
        return _failed(box, sessions, row_id, prepared, DeliveryError(str(e)), now(), rng, e)
    sent_at = now()
    with sessions() as session, session.begin():
        box.sent(session, row_id, message, sent_at)
    return _record(box, sessions, row_id, "sent", sent_at=sent_at)


def _failed(
    box: Box,
    sessions: SessionFactory,
    row_id: str,
    prepared: Prepared,
    error: DeliveryError,
    at: datetime,
    rng: random.Random,
    cause: Exception | None = None,
) -> Outcome:
    text = f"{type(cause or error).__name__}: {error}"
    if not error.retryable or at >= prepared.deadline:
        return _record(box, sessions, row_id, "dead", text, error.status)
    retry_at = delivery_retry_at(at, prepared.attempts, rng.random(), error.retry_after)
    return _record(
        box, sessions, row_id, "retrying", text, error.status, min(retry_at, prepared.deadline)
    )


def _record(
    box: Box,
    sessions: SessionFactory,
    row_id: str,
    status: Literal["sent", "retrying", "dead", "cancelled"],
    error: str | None = None,
    code: int | None = None,
    retry_at: datetime | None = None,
    sent_at: datetime | None = None,
) -> Outcome:
    values: dict[str, object] = {"status": status, "last_error": error, "last_status": code}
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    if sent_at is not None:
        values["sent_at"] = sent_at
    with sessions() as session, session.begin():
        outbox.finish(session, box.table, row_id, values)
    label = box.label
    if status == "sent":
        log.info("%s %s: sending → sent", label, row_id)
    elif status == "retrying":
        assert retry_at is not None
        when = retry_at.isoformat()
        log.warning("%s %s: sending → retrying at %s: %s", label, row_id, when, error)
    else:
        log.warning("%s %s: sending → %s: %s", label, row_id, status, error)
    return Outcome(row_id, status, error)
