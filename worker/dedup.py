"""Entry identity: which items of a feed are the same report.

Pure. A GUID is the feed's own promise of identity; without one, the link
(canonicalised, so tracking parameters and cosmetic URL differences do not
make a new entry); without either, a hash of the text.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_",)
_TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "mc_cid", "mc_eid", "yclid", "igshid"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_link(link: str) -> str:
    """Lower-case scheme and host, no default port, no tracking params, no fragment."""
    parts = urlsplit(link.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_PARAMS
        ]
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def entry_identity(guid: str | None, link: str | None, text_hash: str) -> str:
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if link and link.strip():
        return "link:" + canonical_link(link)
    return "hash:" + text_hash


def identity_key(identity: str) -> str:
    """Fixed-length key for the unique index (GUIDs can be very long)."""
    return hashlib.sha256(identity.encode()).hexdigest()
