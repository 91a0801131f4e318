"""The notifier protocol and the recipient value every channel receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from worker.core.types import Message


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who an alert goes to, resolved from the subscriber row and the environment."""

    subscriber_id: str
    """The subscriber's id, or the operator's."""
    channel: str
    address: str = field(repr=False)
    """E-mail address, webhook URL, Apprise URL, outbox folder or "console" (never logged)."""
    secret: str | None = field(default=None, repr=False)
    """Webhook signing secrets: one whsec_ secret, or two separated by a space (rotation)."""
    unsubscribe_token: str | None = field(default=None, repr=False)
    """Per-subscriber token for the List-Unsubscribe link, when a secret key is configured."""
    manage_token: str | None = field(default=None, repr=False)
    """An API subscriber's management token, for the link in every alert's footer."""
    security_phrase: str | None = field(default=None, repr=False)
    """The subscriber's own phrase, at the top of every alert and digest (anti-phishing)."""
    pgp_key: str | None = field(default=None, repr=False)
    """Armoured OpenPGP public key: the whole e-mail is encrypted to it."""
    role: Literal["subscriber", "operator"] = "subscriber"
    """Whom the message is for; error messages name it."""


class Notifier(Protocol):
    """Sends one outbox message of any kind to one recipient, or raises DeliveryError."""

    def send(self, message: Message, recipient: Recipient) -> None: ...
