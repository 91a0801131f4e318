"""Signal, Matrix, Telegram, ntfy… through Apprise (the optional ``apprise`` extra).

Defenders and their networks use messengers more than e-mail. Apprise reports
only success or failure, so every failure is retried until the delivery's
lifetime ends; its warnings are captured into the delivery's last error.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from worker.core.errors import DeliveryError
from worker.core.types import Message
from worker.notify import render
from worker.notify.base import Recipient

_MAX_BODY = 4000
"""Messengers cap message length (Signal, Telegram ≈ 4096); longer digests are cut."""


def _apprise() -> Any:
    try:
        return importlib.import_module("apprise")
    except ImportError as e:
        raise DeliveryError(
            "the apprise channel needs the optional extra: pip install 'rightswatch[apprise]'"
        ) from e


class AppriseNotifier:
    def send(self, message: Message, recipient: Recipient) -> None:
        apprise = _apprise()
        client = apprise.Apprise()
        if not client.add(recipient.address):
            raise DeliveryError(
                "Apprise does not accept this URL (unknown scheme or malformed)", retryable=False
            )
        body = render.text_body(message, security_phrase=recipient.security_phrase)
        if len(body) > _MAX_BODY:
            body = body[: _MAX_BODY - 1] + "…"
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            sent = client.notify(title=render.subject(message), body=body)
            log_text = captured.getvalue()
        if not sent:
            reason = render.one_line(log_text.strip().splitlines()[-1], 300) if log_text else ""
            raise DeliveryError(f"Apprise could not deliver the notification: {reason}".strip())
