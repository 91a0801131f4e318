"""OpenPGP (PGP/MIME, RFC 3156) for e-mail alerts, with PGPy.

An alert names a defender; a mailbox can be seized or read by the provider.
With a subscriber's public key the whole alert (text, HTML, and the real
subject as a protected header) travels inside the encrypted part; the outer
message carries only a neutral subject and the routing headers. List-Id (which
names the watch list) and List-Unsubscribe (which holds the subscriber's token)
are protected headers too: a mail provider sees neither, at the price of no
one-click unsubscribe button (the link is in the encrypted text).
"""

from __future__ import annotations

import warnings
from email.message import EmailMessage
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # PGPy's imports warn about deprecated cryptography APIs
    import pgpy
    from pgpy.constants import KeyFlags

from worker.core.errors import DeliveryError

OUTER_SUBJECT = "[rightswatch] encrypted alert"
_PROTECTED = ("Subject", "From", "To", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")
_ROUTING = (
    "From",
    "To",
    "Date",
    "Message-ID",
    "X-Rightswatch-Delivery",
    "Auto-Submitted",
)


def _load(armoured: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key, _ = pgpy.PGPKey.from_blob(armoured)
    if not key.is_public:
        raise ValueError("this is a private key: give the subscriber's public key")
    return key


def _encryption_key(key: Any) -> Any:
    """The key, once checked that it or a subkey may encrypt (GnuPG keys encrypt with a
    subkey, which PGPy picks itself when asked to encrypt with the primary key)."""
    for candidate in (key, *key.subkeys.values()):
        flags: set[Any] = set()
        for signature in candidate._signatures:  # the key flags live in its self-signatures
            flags |= set(signature.key_flags or ())
        if flags & {KeyFlags.EncryptCommunications, KeyFlags.EncryptStorage}:
            return key
    raise ValueError("the key has no encryption (sub)key")


def check_public_key(armoured: str) -> str:
    """Validate an armoured public key for the configuration (``ValueError`` with the reason)."""
    try:
        _encryption_key(_load(armoured))
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"not a usable OpenPGP public key: {e}") from e
    return armoured


def encrypt_mail(mail: EmailMessage, armoured: str) -> EmailMessage:
    """The PGP/MIME message carrying ``mail`` (its body and its subject) encrypted."""
    inner = EmailMessage()
    for name in _PROTECTED:
        if mail[name] is not None:
            inner[name] = mail[name]
    payload = mail.get_payload()
    inner.set_type(mail.get_content_type())
    inner.set_payload(payload)
    boundary = mail.get_boundary()
    if boundary:
        inner.set_boundary(boundary)
    inner.set_param("protected-headers", "v1")
    try:
        key = _encryption_key(_load(armoured))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sealed = key.encrypt(pgpy.PGPMessage.new(inner.as_string(), format="u"))
    except Exception as e:
        raise DeliveryError(f"OpenPGP encryption failed: {e}", retryable=False) from e
    outer = EmailMessage()
    for name in _ROUTING:
        if mail[name] is not None:
            outer[name] = mail[name]
    outer["Subject"] = OUTER_SUBJECT
    outer["MIME-Version"] = "1.0"
    outer["Content-Type"] = 'multipart/encrypted; protocol="application/pgp-encrypted"'
    control = EmailMessage()
    control["Content-Type"] = "application/pgp-encrypted"
    control["Content-Description"] = "PGP/MIME version identification"
    control.set_payload("Version: 1\n")
    data = EmailMessage()
    data["Content-Type"] = 'application/octet-stream; name="encrypted.asc"'
    data["Content-Description"] = "OpenPGP encrypted message"
    data["Content-Disposition"] = 'inline; filename="encrypted.asc"'
    data.set_payload(str(sealed))
    outer.attach(control)
    outer.attach(data)
    return outer
