"""Operators' desk passwords: Argon2id hashes (argon2-cffi, RFC 9106's low-memory
profile: 64 MiB, 3 passes, 4 lanes), so a leaked YAML does not give the passwords away."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


@cache
def _decoy() -> str:
    """Checked against when the name is unknown, so the answer takes as long as for a known
    one (made when first needed: hashing takes a moment)."""
    return _HASHER.hash("no operator has this name")


def hash_password(password: str) -> str:
    """``$argon2id$v=19$m=65536,t=3,p=4$…`` for the YAML's ``password_hash``."""
    return _HASHER.hash(password)


def is_argon2id(value: str) -> bool:
    try:
        return extract_parameters(value).type is Type.ID
    except InvalidHashError:
        return False


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from (None: no operator
    of that name; the decoy is checked so timing does not tell)."""
    try:
        return _HASHER.verify(password_hash or _decoy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
