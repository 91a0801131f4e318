"""List-Unsubscribe goes out as plain ASCII ``<https://…>, <mailto:…>`` (not RFC 2047
encoded words), so mail clients offer RFC 8058 one-click unsubscribe (issue 15, item 14)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.security.test_link_schemes import alert
from worker.notify.base import Recipient
from worker.notify.email import EmailNotifier
from worker.settings import Settings

TOKEN = "uT0k3n_" + "x" * 40
PUBLIC_URL = "https://alerts.rightswatch.example.org/some/longer/prefix"


def dkim_env(tmp_path: Path) -> dict[str, str]:
    """Settings that DKIM-sign every message with a new key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "dkim.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "RIGHTSWATCH_DKIM_DOMAIN": "rightswatch.example.org",
        "RIGHTSWATCH_DKIM_SELECTOR": "rw2026",
        "RIGHTSWATCH_DKIM_PRIVATE_KEY_FILE": str(tmp_path / "dkim.pem"),
    }


@pytest.mark.parametrize("signed", [False, True])
def test_list_unsubscribe_header_bytes_are_plain(
    signed: bool,
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    smtp_url, inbox = smtp_server
    env = {
        "RIGHTSWATCH_SMTP_URL": smtp_url,
        "RIGHTSWATCH_SMTP_FROM": "rightswatch <alerts@rightswatch.example.org>",
        "RIGHTSWATCH_PUBLIC_URL": PUBLIC_URL,
    }
    if signed:
        env |= dkim_env(tmp_path)
    settings = make_settings(write_config("feeds: []\n"), **env)
    recipient = Recipient("desk", "email", "desk@example.org", unsubscribe_token=TOKEN)
    EmailNotifier(settings).send(alert("https://example.org/a"), recipient)
    raw = bytes(inbox.envelopes[0].original_content or inbox.envelopes[0].content)
    header = re.search(rb"\r?\nList-Unsubscribe:(.*?)\r?\n(?![ \t])", raw, re.DOTALL)
    assert header is not None, raw[:2000]
    value = re.sub(rb"\r?\n[ \t]+", b" ", header.group(1)).strip()
    assert (
        value
        == (
            f"<{PUBLIC_URL}/unsubscribe/{TOKEN}>, "
            f"<mailto:alerts@rightswatch.example.org?subject=unsubscribe%20{TOKEN}>"
        ).encode()
    )
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in raw
