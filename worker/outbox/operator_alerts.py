"""The operators' outbox (``operator_alerts``): feed-health messages, one per episode.

The poll that notices a feed failing, going stale or gone, or recovering writes
one row per operator in its own transaction
(:func:`worker.db.outbox.queue_operator_alerts`); the row is unique per
(operator, feed, event, episode), so an episode is announced once however often
the feed is polled or a poll is repeated. The rows are sent by the same state
machine and notifiers as subscribers' alerts
(:func:`worker.outbox.machine.process`), retried with backoff for up to
:data:`~worker.outbox.machine.LIFETIME`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from worker.core.types import Message, OperatorNotice
from worker.db import outbox
from worker.db.models import OperatorAlert
from worker.notify.base import Recipient
from worker.outbox.machine import LIFETIME, Prepared, resolve_env_refs
from worker.settings import Settings


@dataclass(frozen=True, slots=True)
class OperatorAlerts:
    """The :class:`~worker.outbox.machine.Box` of the ``operator_alerts`` table."""

    settings: Settings
    label: str = "operator alert"
    table: outbox.OutboxTable = OperatorAlert

    def busy(self, session: Session, row_id: str, at: datetime) -> bool:
        return False  # a few messages per feed episode: no receiver needs protecting

    def prepare(self, session: Session, row_id: str) -> Prepared | None:
        alert = session.get(OperatorAlert, row_id)
        if alert is None:
            return None
        address = alert.address
        if alert.channel == "apprise":
            address = resolve_env_refs(address, self.settings)
        recipient = Recipient(
            subscriber_id=alert.operator_id,
            channel=alert.channel,
            address=address,
            secret=self.settings.secret(alert.secret_env) if alert.secret_env else None,
            role="operator",
        )
        notice = OperatorNotice(
            delivery_id=alert.id,
            feed_id=alert.feed_id,
            event=alert.event,
            subject=alert.subject,
            body=alert.body,
            details=alert.details,
        )
        return Prepared(
            kind="operator",
            recipient=recipient,
            deadline=alert.created_at + LIFETIME,
            waiting_since=alert.created_at,
            attempts=alert.attempts,
            message=notice,
        )

    def sent(self, session: Session, row_id: str, message: Message, at: datetime) -> None:
        return None
