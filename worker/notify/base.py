"""The notifier protocol and the recipient value every channel receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from worker.types import Alert


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who an alert goes to, resolved from the subscriber row and the environment."""

    subscriber_id: str
    channel: str
    address: str = field(repr=False)
    """E-mail address, webhook URL, outbox folder or "console" (never logged)."""
    secret: str | None = field(default=None, repr=False)


class Notifier(Protocol):
    """Sends one alert to one recipient or raises DeliveryError."""

    def send(self, alert: Alert, recipient: Recipient) -> None: ...
