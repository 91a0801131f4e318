"""Link tokens and bearer tokens: made here, checked here, compared in constant time.

Tokens are 256-bit HMACs under RIGHTSWATCH_SECRET_KEY of a purpose and the
subscriber's id (which carries 128 random bits); the database keeps only their
SHA-256. A presented token is looked up by that hash and then compared, in
constant time, with the one rebuilt from the key, so neither a database dump
nor a timing side channel yields a working link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def unsubscribe_token(secret_key: str, subscriber_id: str) -> str:
    """The subscriber's unsubscribe token: HMAC-SHA256 of its id under RIGHTSWATCH_SECRET_KEY.

    Derived rather than random so any process can rebuild it for an e-mail,
    while the database keeps only its SHA-256 (:func:`token_hash`) for lookup.
    """
    return subscriber_token(secret_key, "unsubscribe", subscriber_id)


def subscriber_token(secret_key: str, purpose: str, subject: str) -> str:
    """A 256-bit token for one purpose (unsubscribe, manage, confirm, challenge) and subject.

    API subscriber ids carry 128 random bits, so their tokens are unguessable
    without the key and cannot be rebuilt from the database alone.
    """
    mac = hmac.new(secret_key.encode(), f"{purpose}:{subject}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(secret_key: str, purpose: str, subscriber_id: str, given: str) -> bool:
    """Whether ``given`` is the subscriber's token for ``purpose`` (constant time)."""
    expected = subscriber_token(secret_key, purpose, subscriber_id)
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def bearer_matches(expected: str | None, authorization: str | None) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time."""
    if not expected or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))
