"""Messages about a subscription itself: the double opt-in e-mail and the webhook ping.

They travel through the same outbox as alerts (``deliveries`` rows of kind
``confirm`` and ``verify``), so a mail server that is down or a crash delays
them but loses none. The confirmation e-mail's text part shows its links in
full; the verification ping is a signed Standard Webhooks POST whose
``challenge`` the receiver must send back in its 2xx reply, which proves that
whoever runs the URL asked for our alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from worker.core.clock import utcnow
from worker.core.errors import DeliveryError
from worker.notify.base import Recipient
from worker.notify.email import EmailNotifier
from worker.notify.render import PAYLOAD_VERSION
from worker.notify.webhook import WebhookNotifier
from worker.settings import Settings

SUBSCRIPTION_KINDS = frozenset({"confirm", "verify"})
"""Outbox kinds that are about the subscription, not about a match."""

_env = Environment(
    loader=PackageLoader("worker.notify", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The double opt-in e-mail: follow the link to start receiving alerts."""

    delivery_id: str
    confirm_url: str
    manage_url: str
    watchlists: tuple[str, ...]
    """Titles of the watch lists subscribed to."""
    frequency: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class VerificationPing:
    """The first POST to a new webhook: it must answer with the challenge."""

    delivery_id: str
    subscription_id: str
    challenge: str
    watchlists: tuple[str, ...]
    """Ids of the watch lists subscribed to."""


SubscriptionMessage = Confirmation | VerificationPing


def confirmation_mail(message: Confirmation, address: str, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = "[rightswatch] Confirm your subscription"
    mail["From"] = sender
    mail["To"] = Address(addr_spec=address)
    mail["Date"] = format_datetime(utcnow())
    domain = (parseaddr(sender)[1] or "rightswatch@localhost").rsplit("@", 1)[-1]
    mail["Message-ID"] = f"<{message.delivery_id}@{domain or 'rightswatch.local'}>"
    mail["X-Rightswatch-Delivery"] = message.delivery_id
    mail["Auto-Submitted"] = "auto-generated"
    context = {
        "message": message,
        "expires": message.expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    mail.set_content(_env.get_template("confirm.txt").render(context))
    mail.add_alternative(_env.get_template("confirm.html").render(context), subtype="html")
    return mail


def verification_payload(ping: VerificationPing, timestamp: datetime) -> dict[str, Any]:
    return {
        "type": "subscription.verification",
        "version": PAYLOAD_VERSION,
        "timestamp": timestamp.isoformat(),
        "data": {
            "subscription_id": ping.subscription_id,
            "challenge": ping.challenge,
            "watchlists": list(ping.watchlists),
        },
    }


def send(message: SubscriptionMessage, recipient: Recipient, settings: Settings) -> None:
    """Send one subscription message, or raise DeliveryError."""
    if isinstance(message, Confirmation):
        mail = confirmation_mail(message, recipient.address, settings.smtp_from)
        EmailNotifier(settings).send_mail(mail)
        return
    notifier = WebhookNotifier(settings)
    try:
        reply = notifier.post(
            recipient, message.delivery_id, lambda now: verification_payload(message, now)
        )
    finally:
        notifier.close()
    if message.challenge not in reply:
        raise DeliveryError(
            "the webhook answered the verification ping without its challenge "
            "(reply with the data.challenge value)"
        )
