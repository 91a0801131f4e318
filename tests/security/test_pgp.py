"""A PGP-encrypted alert decrypts with the subscriber's private key and holds the whole alert."""

from __future__ import annotations

import email
import warnings
from collections.abc import Callable
from email import policy
from pathlib import Path
from typing import Any

import pgpy
import pytest
from pgpy.constants import (
    CompressionAlgorithm,
    HashAlgorithm,
    KeyFlags,
    PubKeyAlgorithm,
    SymmetricKeyAlgorithm,
)

from tests.support.scenario import subscriber, watch_config
from worker.config import load_config
from worker.core.errors import ConfigError
from worker.embedded import EmbeddedService
from worker.settings import Settings

PHRASE = "apricots in Osh"
ITEMS = [
    {
        "guid": "n1",
        "title": "Azimjan Askarov remembered",
        "description": "Friends of Azimjan Askarov gathered.",
    }
]
CONFIG = watch_config(
    "{feed_url}",
    subscribers=subscriber(
        "desk", email="desk@example.org", pgp_key="keys/desk.asc", security_phrase="{phrase}"
    ),
)


def _gnupg_style_key() -> Any:
    """A signing primary key with an encryption subkey, as GnuPG makes them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = pgpy.PGPKey.new(PubKeyAlgorithm.RSAEncryptOrSign, 2048)
        key.add_uid(
            pgpy.PGPUID.new("Desk", email="desk@example.org"),
            usage={KeyFlags.Sign, KeyFlags.Certify},
            hashes=[HashAlgorithm.SHA256],
            ciphers=[SymmetricKeyAlgorithm.AES256],
            compression=[CompressionAlgorithm.Uncompressed],
        )
        subkey = pgpy.PGPKey.new(PubKeyAlgorithm.RSAEncryptOrSign, 2048)
        key.add_subkey(subkey, usage={KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage})
    return key


def test_an_encrypted_alert_decrypts_to_the_whole_alert(
    feeds: Callable[..., str],
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    make_service: Callable[[Settings], EmbeddedService],
    tmp_path: Path,
) -> None:
    smtp_url, inbox = smtp_server
    feed_url = feeds(ITEMS)
    key = _gnupg_style_key()
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "desk.asc").write_text(str(key.pubkey))
    config = write_config(CONFIG.format(feed_url=feed_url, phrase=PHRASE))
    service = make_service(make_settings(config, RIGHTSWATCH_SMTP_URL=smtp_url))
    assert service.run_once().alerts_sent == 1
    (mail,) = inbox.messages
    raw = bytes(mail)
    assert mail.get_content_type() == "multipart/encrypted"
    assert mail.get_param("protocol") == "application/pgp-encrypted"
    assert str(mail["Subject"]) == "[rightswatch] encrypted alert"
    assert b"Askarov" not in raw and PHRASE.encode() not in raw
    control, data = mail.iter_parts()
    assert control.get_content_type() == "application/pgp-encrypted"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decrypted = key.decrypt(pgpy.PGPMessage.from_blob(data.get_content())).message
    inner = email.message_from_string(
        decrypted if isinstance(decrypted, str) else decrypted.decode(), policy=policy.default
    )
    assert "Azimjan Askarov" in str(inner["Subject"])
    text = str(inner.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    html = str(inner.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert text.startswith(f"Your security phrase: {PHRASE}")
    assert "Azimjan Askarov remembered" in text and "https://example.org/n1" in text
    assert "As it appeared: Azimjan Askarov" in text
    assert PHRASE in html and "Azimjan Askarov remembered" in html


def test_a_private_or_broken_key_is_a_config_error(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "desk.asc").write_text(str(_gnupg_style_key()))
    config = write_config(CONFIG.format(feed_url="https://example.org/f.xml", phrase=PHRASE))
    with pytest.raises(ConfigError, match="private key"):
        load_config(config)
    (tmp_path / "keys" / "desk.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\nnonsense\n")
    with pytest.raises(ConfigError, match=r"subscribers\[0\]\.pgp_key"):
        load_config(config)


def test_pgp_key_is_for_email_subscribers_only(write_config: Callable[..., Path]) -> None:
    config = write_config(
        CONFIG.format(feed_url="https://example.org/f.xml", phrase=PHRASE).replace(
            "email: desk@example.org", "console: true"
        )
    )
    with pytest.raises(ConfigError, match="pgp_key only applies to e-mail subscribers"):
        load_config(config)
