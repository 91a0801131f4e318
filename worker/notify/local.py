"""Channels for trying rightswatch without a mail server: the console and a folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from worker.core.errors import DeliveryError
from worker.core.types import Message
from worker.notify import render
from worker.notify.base import Recipient
from worker.notify.email import build_message
from worker.security.files import private_directory, write_private


class ConsoleNotifier:
    """Prints the text alert: what `make demo` shows."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: Message, recipient: Recipient) -> None:
        stream = self._stream or sys.stdout
        rule = "─" * 72
        stream.write(
            f"{rule}\nSubject: {render.subject(message)}\n\n{render.text_body(message)}{rule}\n"
        )
        stream.flush()


class OutboxNotifier:
    """Writes each alert as an .eml file (the e-mail that would have been sent), 0600."""

    def __init__(self, sender: str) -> None:
        self._sender = sender

    def send(self, message: Message, recipient: Recipient) -> None:
        folder = Path(recipient.address)
        mail = build_message(
            message, Recipient(recipient.subscriber_id, "email", "outbox@localhost"), self._sender
        )
        try:
            private_directory(folder)
            target = folder / f"{message.delivery_id}.eml"
            partial = target.with_suffix(".eml.part")
            write_private(partial, bytes(mail))
            os.replace(partial, target)
        except OSError as e:
            raise DeliveryError(f"cannot write to outbox folder: {e.strerror}") from e
