"""A PGP/MIME alert's outer (unencrypted) headers are neutral: no List-Id naming the
watch list, no unsubscribe token; those travel inside, as protected headers
(issue 15, item 13)."""

from __future__ import annotations

import email
import warnings
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

import pgpy

from tests.security.test_link_schemes import alert
from tests.security.test_pgp import _gnupg_style_key
from worker.notify.base import Recipient
from worker.notify.email import EmailNotifier
from worker.settings import Settings

TOKEN = "UnsubTokenForTheTest_0123456789abcdef"
NEUTRAL = {
    "from",
    "to",
    "date",
    "message-id",
    "subject",
    "mime-version",
    "content-type",
    "x-rightswatch-delivery",
    "auto-submitted",
}


def test_outer_headers_of_an_encrypted_alert_are_neutral(
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    smtp_url, inbox = smtp_server
    settings = make_settings(
        write_config("feeds: []\n"),
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@example.org>",
        RIGHTSWATCH_PUBLIC_URL="https://alerts.example.org",
    )
    key = _gnupg_style_key()
    recipient = Recipient(
        "desk", "email", "desk@example.org", unsubscribe_token=TOKEN, pgp_key=str(key.pubkey)
    )
    EmailNotifier(settings).send(alert("https://example.org/a"), recipient)
    raw = bytes(inbox.envelopes[0].original_content or inbox.envelopes[0].content)
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    outer = email.message_from_bytes(raw, policy=policy.default)
    assert {name.lower() for name in outer} <= NEUTRAL, list(outer)
    for leak in (TOKEN, "kg", "Kyrgyzstan", "List-"):
        assert leak not in head
    (_, data) = outer.iter_parts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decrypted = key.decrypt(pgpy.PGPMessage.from_blob(data.get_content())).message
    inner = email.message_from_string(
        decrypted if isinstance(decrypted, str) else decrypted.decode(), policy=policy.default
    )
    assert "kg" in str(inner["List-Id"])
    assert TOKEN in str(inner["List-Unsubscribe"])
