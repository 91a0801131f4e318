"""Addresses that cannot be delivered are refused when subscribing, not retried forever
(issue 15, item 20): a non-ASCII local part gets a clear 422; a non-ASCII domain is
sent in its IDNA form; a configured non-ASCII local part goes with SMTPUTF8 where the
server offers it (the test server does) and fails for good (not retried) where it does not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import _Inbox
from tests.security.test_link_schemes import alert
from tests.security.test_list_unsubscribe import dkim_env
from tests.support.api import Stack
from tests.support.network import free_port
from worker.core.errors import DeliveryError
from worker.notify.base import Recipient
from worker.notify.email import EmailNotifier
from worker.settings import Settings


def test_a_non_ascii_local_part_is_refused_at_subscribe_time(stack: Stack) -> None:
    for path, body in (
        ("/subscriptions", {"email": "jörg@example.org", "watchlists": ["kg"]}),
        ("/subscriptions/resend-confirmation", {"email": "jörg@example.org"}),
    ):
        answer = stack.api.post(path, json=body)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "body.email"
        assert "non-ASCII characters before the @" in answer.json()["detail"]
    accepted = stack.api.post(
        "/subscriptions", json={"email": "desk@почта.рф", "watchlists": ["kg"]}
    )
    assert accepted.status_code == 202


@pytest.fixture
def ascii_smtp() -> Iterator[tuple[str, _Inbox]]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", inbox
    finally:
        controller.stop()


def settings_for(
    smtp_url: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    **env: str,
) -> Settings:
    return make_settings(
        write_config("feeds: []\n"),
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@example.org>",
        **env,
    )


def test_a_non_ascii_domain_is_sent_as_idna(
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    smtp_url, inbox = smtp_server
    notifier = EmailNotifier(settings_for(smtp_url, write_config, make_settings))
    notifier.send(alert("https://example.org/a"), Recipient("d", "email", "desk@почта.рф"))
    assert inbox.envelopes[0].rcpt_tos == ["desk@xn--80a1acny.xn--p1ai"]


@pytest.mark.parametrize("signed", [False, True])
def test_a_non_ascii_local_part_uses_smtputf8_or_fails_for_good(
    signed: bool,
    tmp_path: Path,
    smtp_server: tuple[str, Any],
    ascii_smtp: tuple[str, _Inbox],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    recipient = Recipient("d", "email", "jörg@example.org")
    env = dkim_env(tmp_path) if signed else {}
    plain = EmailNotifier(settings_for(ascii_smtp[0], write_config, make_settings, **env))
    with pytest.raises(DeliveryError, match="SMTPUTF8") as refused:
        plain.send(alert("https://example.org/a"), recipient)
    assert refused.value.retryable is False
    assert ascii_smtp[1].envelopes == []
    utf8 = EmailNotifier(settings_for(smtp_server[0], write_config, make_settings, **env))
    utf8.send(alert("https://example.org/a"), recipient)
    assert smtp_server[1].envelopes[0].rcpt_tos == ["jörg@example.org"]
