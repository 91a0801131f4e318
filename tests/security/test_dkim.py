"""Outgoing mail carries a DKIM signature that verifies against the published key."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.scenario import STATEMENT, keyword_config, subscriber
from worker.core.errors import ConfigError
from worker.embedded import EmbeddedService
from worker.settings import load_settings

CONFIG = keyword_config(
    subscriber("desk", email="desk@example.org", security_phrase="salt and bread")
)


def test_alerts_are_dkim_signed(
    feeds: Callable[..., str],
    smtp_server: tuple[str, Any],
    service_on: Callable[..., EmbeddedService],
    tmp_path: Path,
) -> None:
    smtp_url, inbox = smtp_server
    feed_url = feeds([STATEMENT])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "dkim.pem").write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    service = service_on(
        CONFIG.format(feed_url=feed_url),
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@rights.example.org>",
        RIGHTSWATCH_DKIM_DOMAIN="rights.example.org",
        RIGHTSWATCH_DKIM_SELECTOR="rw2026",
        RIGHTSWATCH_DKIM_PRIVATE_KEY_FILE=str(tmp_path / "dkim.pem"),
    )
    assert service.run_once().alerts_sent == 1
    (envelope,) = inbox.envelopes
    raw = envelope.original_content or envelope.content
    assert b"d=rights.example.org" in raw and b"s=rw2026" in raw
    looked_up: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        looked_up.append(name)
        return record if name == b"rw2026._domainkey.rights.example.org." else b""

    assert dkim.verify(raw, dnsfunc=dns)
    assert looked_up == [b"rw2026._domainkey.rights.example.org."]
    assert not dkim.verify(raw.replace(b"salt and bread", b"salt and bred"), dnsfunc=dns)


def test_dkim_settings_come_together_or_not_at_all(tmp_path: Path) -> None:
    assert load_settings({}).dkim is None
    with pytest.raises(ConfigError, match="DKIM needs"):
        load_settings({"RIGHTSWATCH_DKIM_DOMAIN": "rights.example.org"})
