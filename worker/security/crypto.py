"""Encryption at rest of the fields that would betray people, and their blind index.

A database seized from an NGO office must not give away who is watched nor
who cares: subscriber addresses, webhook URLs and secrets, what matched (the
snippets, hits and terms) and the reports they matched in are stored as
AES-256-GCM ciphertext under ``RIGHTSWATCH_ENCRYPTION_KEY``. Each value
carries the id of its key (``rw1:<key id>:<nonce+ciphertext>``), so old keys
(``RIGHTSWATCH_ENCRYPTION_OLD_KEYS``) still read while ``rotate-key``
re-encrypts row by row. Without a key, values are written with a plain-text
marker (``rw0:``) that a later ``rotate-key`` encrypts. Look-ups use a blind
index: HMAC-SHA256 under a key derived (HKDF) from the encryption key. Look-up
keys of entry content (link and identity keys, story signatures, the config
version) are keyed with another derived key, :attr:`Keyring.content_key`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from worker.core.errors import ConfigError, RightswatchError

log = logging.getLogger(__name__)

PLAIN = "rw0:"
SEALED = "rw1:"
_AAD = b"rightswatch field v1"
_NO_KEY_INDEX = b"rightswatch blind index without an encryption key"


class DecryptionError(RightswatchError):
    """A stored value cannot be decrypted with the configured keys."""


def parse_key(value: str, name: str = "RIGHTSWATCH_ENCRYPTION_KEY") -> bytes:
    """A key is 32 random bytes, URL-safe base64 (``rightswatch generate-key`` makes one)."""
    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (binascii.Error, ValueError) as e:
        raise ConfigError(f"{name}: not base64 (make a key with `rightswatch generate-key`)") from e
    if len(key) != 32:
        raise ConfigError(
            f"{name}: must decode to 32 bytes, got {len(key)} (make a key with "
            "`rightswatch generate-key`)"
        )
    return key


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def key_id(key: bytes) -> str:
    """Names a key in the ciphertext without revealing it."""
    return hashlib.sha256(b"rightswatch key id" + key).hexdigest()[:8]


class Keyring:
    """The current key (may be None: no encryption) and old keys that still decrypt."""

    def __init__(self, current: bytes | None, old: Sequence[bytes] = ()) -> None:
        self.current_id = key_id(current) if current else None
        self._ciphers = {key_id(k): AESGCM(k) for k in (*old, *([current] if current else []))}
        self._index_key = (
            HKDF(hashes.SHA256(), 32, salt=None, info=b"rightswatch blind index").derive(current)
            if current
            else _NO_KEY_INDEX
        )
        self.content_key: bytes | None = (
            HKDF(hashes.SHA256(), 32, salt=None, info=b"rightswatch content keys").derive(current)
            if current
            else None
        )
        """Key of every look-up hash of entry content (None without an encryption key: then
        they are plain SHA-256, as before keys existed)."""
        self.content_key_id = key_id(self.content_key) if self.content_key else "none"

    def __repr__(self) -> str:
        return f"Keyring(current={self.current_id}, keys={len(self._ciphers)})"

    @property
    def enabled(self) -> bool:
        return self.current_id is not None

    def encrypt(self, text: str) -> str:
        if self.current_id is None:
            return PLAIN + text
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current_id].encrypt(nonce, text.encode(), _AAD)
        return f"{SEALED}{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str) -> str:
        if stored.startswith(PLAIN):
            return stored[len(PLAIN) :]
        if not stored.startswith(SEALED):
            return stored  # written before encryption existed
        kid, _, blob = stored[len(SEALED) :].partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise DecryptionError(
                f"a value is encrypted with key {kid}, which is neither "
                "RIGHTSWATCH_ENCRYPTION_KEY nor in RIGHTSWATCH_ENCRYPTION_OLD_KEYS"
            )
        try:
            raw = base64.b64decode(blob)
            return cipher.decrypt(raw[:12], raw[12:], _AAD).decode()
        except (InvalidTag, binascii.Error, ValueError) as e:
            raise DecryptionError(f"a value encrypted with key {kid} is corrupt") from e

    def is_current(self, stored: str) -> bool:
        """Already in the form the current key would write (rotate-key skips it)."""
        if self.current_id is None:
            return stored.startswith(PLAIN)
        return stored.startswith(f"{SEALED}{self.current_id}:")

    def lookup_hash(self, data: str | bytes) -> str:
        """SHA-256 of ``data``, or with an encryption key its HMAC under :attr:`content_key`:
        how a look-up hash of entry or configuration content is stored."""
        raw = data.encode() if isinstance(data, str) else data
        if self.content_key is None:
            return hashlib.sha256(raw).hexdigest()
        return hmac.new(self.content_key, raw, "sha256").hexdigest()

    def blind_index(self, value: str) -> str:
        """Keyed hash for equality look-ups (e-mail addresses compare case-insensitively)."""
        return hmac.new(self._index_key, value.strip().lower().encode(), "sha256").hexdigest()


_keyring: Keyring | None = None
_warned = False


def configure(current: bytes | None, old: Sequence[bytes] = ()) -> Keyring:
    """Use these keys in this process."""
    global _keyring
    _keyring = Keyring(current, old)
    return _keyring


def warn_if_disabled() -> None:
    """At a service's start-up, once per process: say that nothing is encrypted."""
    global _warned
    if not keyring().enabled and not _warned:
        _warned = True
        log.warning(
            "RIGHTSWATCH_ENCRYPTION_KEY is not set: subscriber addresses, webhook secrets and "
            "matches are stored unencrypted (see docs/SECURITY.md)"
        )


def keyring() -> Keyring:
    """This process's keyring, as :func:`configure` set it (a ``Runtime`` does at start).

    Never read from the environment here: an unconfigured process must fail loudly
    rather than write a value unencrypted that should have been sealed.
    """
    if _keyring is None:
        raise RightswatchError(
            "encryption keys were not configured in this process (build a Runtime, or call "
            "worker.security.crypto.configure, before touching the database)"
        )
    return _keyring


def blind_index(value: str) -> str:
    return keyring().blind_index(value)


class EncryptedText(TypeDecorator[str]):
    """Text stored encrypted under the process's keyring."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document stored encrypted (as text) under the process's keyring."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(keyring().decrypt(value))
