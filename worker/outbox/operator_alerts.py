"""Operator alerts: feed-health messages to the config's ``operators``, through an outbox.

The poll that notices a feed failing, going stale or gone, or recovering writes
one ``operator_alerts`` row per operator in its own transaction; the row is
unique per (operator, feed, event, episode), so an episode is announced once
however often the feed is polled or a poll is repeated. After the commit the
rows are sent; a failed send is retried with backoff by the periodic tick for
up to :data:`LIFETIME`. Alerts to subscribers are a different message (an
``Alert`` about a match), so this module renders and sends its own plain text.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import random
import re
import smtplib
import ssl
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TextIO

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from worker.core.errors import DeliveryError
from worker.core.schedule import delivery_retry_at
from worker.db.models import OperatorAlert
from worker.notify.webhook import signature_header
from worker.security.destinations import PinnedTransport
from worker.settings import Settings, SmtpSettings

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]
LEASE = timedelta(minutes=5)
LIFETIME = timedelta(days=3)
_TIMEOUT = 30.0
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def due_ids(sessions: SessionMaker, now: datetime, limit: int = 100) -> list[str]:
    """Operator alerts to (re)send now: new, due for a retry, or left by a dead worker."""
    with sessions() as session:
        return list(
            session.scalars(
                select(OperatorAlert.id)
                .where(
                    or_(
                        OperatorAlert.status.in_(("pending", "retrying"))
                        & (OperatorAlert.next_attempt_at <= now),
                        (OperatorAlert.status == "sending") & (OperatorAlert.claimed_until < now),
                    )
                )
                .order_by(OperatorAlert.next_attempt_at)
                .limit(limit)
            )
        )


def send(
    sessions: SessionMaker,
    alert_id: str,
    *,
    settings: Settings,
    now: Callable[[], datetime],
    stream: TextIO | None = None,
    rng: random.Random | None = None,
) -> str:
    """Claim one operator alert, send it, record the outcome; returns the new status."""
    at = now()
    with sessions() as session, session.begin():
        claimed = session.execute(
            update(OperatorAlert)
            .where(
                OperatorAlert.id == alert_id,
                or_(
                    OperatorAlert.status.in_(("pending", "retrying"))
                    & (OperatorAlert.next_attempt_at <= at),
                    (OperatorAlert.status == "sending") & (OperatorAlert.claimed_until < at),
                ),
            )
            .values(status="sending", attempts=OperatorAlert.attempts + 1, claimed_until=at + LEASE)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            return "skipped"
    with sessions() as session:
        alert = session.get_one(OperatorAlert, alert_id)
    values: dict[str, Any]
    try:
        _send(alert, settings, stream)
    except DeliveryError as e:
        failed_at = now()
        error = f"{type(e).__name__}: {e}"
        if not e.retryable or failed_at - alert.created_at > LIFETIME:
            values = {"status": "dead", "last_error": error}
        else:
            retry_at = delivery_retry_at(
                failed_at, alert.attempts, (rng or random.Random()).random(), e.retry_after
            )
            values = {"status": "retrying", "last_error": error, "next_attempt_at": retry_at}
        log.warning("operator alert %s to %s: %s", alert_id, alert.operator_id, error)
    else:
        values = {"status": "sent", "last_error": None, "sent_at": now()}
        log.info("operator alert %s sent to %s: %s", alert_id, alert.operator_id, alert.subject)
    with sessions() as session, session.begin():
        session.execute(
            update(OperatorAlert)
            .where(OperatorAlert.id == alert_id, OperatorAlert.status == "sending")
            .values(claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        )
    return str(values["status"])


def _send(alert: OperatorAlert, settings: Settings, stream: TextIO | None) -> None:
    if alert.channel == "console":
        out = stream or sys.stdout
        rule = "─" * 72
        out.write(f"{rule}\nSubject: {alert.subject}\n\n{alert.body}{rule}\n")
        out.flush()
    elif alert.channel == "outbox":
        _write_outbox(alert, settings)
    elif alert.channel == "email":
        _send_email(alert, settings)
    elif alert.channel == "webhook":
        _send_webhook(alert, settings)
    elif alert.channel == "apprise":
        _send_apprise(alert, settings)
    else:
        raise DeliveryError(f"no operator channel {alert.channel!r}", retryable=False)


def _email(alert: OperatorAlert, sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = " ".join(alert.subject.split())
    message["From"] = sender
    message["To"] = Address(addr_spec=to)
    message["Date"] = format_datetime(alert.created_at)
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "rightswatch.local"
    message["Message-ID"] = f"<{alert.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Rightswatch-Feed"] = alert.feed_id
    message.set_content(alert.body)
    return message


def _write_outbox(alert: OperatorAlert, settings: Settings) -> None:
    folder = Path(alert.address)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{alert.id}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(_email(alert, settings.smtp_from, "outbox@localhost")))
        os.replace(partial, target)
    except OSError as e:
        raise DeliveryError(f"cannot write to outbox folder: {e.strerror}") from e


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "tls":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=_TIMEOUT)
        if smtp.security == "starttls":
            client.starttls(context=context)
    if smtp.username and smtp.password:
        client.login(smtp.username, smtp.password)
    return client


def _send_email(alert: OperatorAlert, settings: Settings) -> None:
    if settings.smtp is None:
        raise DeliveryError("e-mail operator but RIGHTSWATCH_SMTP_URL is not set")
    try:
        with _connect(settings.smtp) as client:
            client.send_message(_email(alert, settings.smtp_from, alert.address))
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(
            f"SMTP {e.smtp_code} {e.smtp_error!r}", retryable=400 <= e.smtp_code < 500
        ) from e
    except (TimeoutError, smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"SMTP connection failed: {type(e).__name__}: {e}") from e


def _send_webhook(alert: OperatorAlert, settings: Settings) -> None:
    secret = settings.secret(alert.secret_env) if alert.secret_env else None
    if not secret:
        raise DeliveryError("webhook secret is not set in the environment")
    sent_at = datetime.now(alert.created_at.tzinfo)
    payload = {
        "type": "feed.health",
        "version": 1,
        "timestamp": sent_at.isoformat(),
        "data": {
            "id": alert.id,
            "event": alert.event,
            "subject": alert.subject,
            "text": alert.body,
            **alert.details,
        },
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    headers = {
        "Content-Type": "application/json",
        "webhook-id": alert.id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature_header(secret, alert.id, sent_at, body),
    }
    transport = PinnedTransport(allow_private=settings.webhook_allow_private)
    try:
        with httpx.Client(
            transport=transport, timeout=_TIMEOUT, follow_redirects=False, trust_env=False
        ) as client:
            response = client.post(alert.address, content=body.encode(), headers=headers)
    except httpx.HTTPError as e:
        raise DeliveryError(f"webhook request failed: {type(e).__name__}: {e}") from e
    if not 200 <= response.status_code < 300:
        status = response.status_code
        raise DeliveryError(
            f"webhook answered HTTP {status}",
            retryable=status >= 500 or status in (408, 409, 425, 429),
        )


def _send_apprise(alert: OperatorAlert, settings: Settings) -> None:
    try:
        apprise = importlib.import_module("apprise")
    except ImportError as e:
        raise DeliveryError(
            "the apprise channel needs the optional extra: pip install 'rightswatch[apprise]'"
        ) from e
    client = apprise.Apprise()
    address = _ENV_REF.sub(lambda m: settings.secret(m.group(1)) or m.group(0), alert.address)
    if not client.add(address):
        raise DeliveryError("Apprise does not accept this URL", retryable=False)
    if not client.notify(title=alert.subject, body=alert.body):
        raise DeliveryError("Apprise could not deliver the notification")
