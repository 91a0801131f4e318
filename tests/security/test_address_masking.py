"""Addresses in any script are masked in the logs, whatever logs them (issue 15, item 8):
an SMTP server's refusal naming ``reject.someone@почта.рф`` reaches the log masked,
though no configuration lists the address (an API subscriber's)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.security.test_link_schemes import alert
from tests.support.network import free_port
from worker import logs
from worker.core.errors import DeliveryError
from worker.notify.base import Recipient
from worker.notify.email import EmailNotifier
from worker.settings import Settings

ADDRESSES = [
    "reject.someone@почта.рф",
    "jörg.müller@beispiel.de",
    "tolekan@xn--80a1acny.xn--p1ai",
    "用户名@例子.广告",
    "o'brien@example.ie",
]


class Refusing:
    """Refuses every recipient, naming it in the reply, as real servers do."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


@pytest.fixture
def refusing_smtp() -> Iterator[str]:
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.setup("DEBUG", "text", stream)
    try:
        yield stream
    finally:
        logs.setup("WARNING")


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_smtp_refusal_is_logged_without_the_address(
    address: str,
    refusing_smtp: str,
    log_text: io.StringIO,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(write_config("feeds: []\n"), RIGHTSWATCH_SMTP_URL=refusing_smtp)
    with pytest.raises(DeliveryError) as refused:
        EmailNotifier(settings).send(
            alert("https://example.org/a"), Recipient("a", "email", address)
        )
    assert "550" in str(refused.value)
    logging.getLogger("worker.outbox").warning("delivery failed: %s", refused.value)
    logging.getLogger("some.library").info("to=%s", address)
    text = log_text.getvalue()
    assert "550" in text and "***@" in text
    local = address.split("@")[0]
    assert local not in text and local[1:] not in text
