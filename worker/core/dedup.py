"""Which items are the same report: within a feed (identity) and across feeds (stories).

Pure. Within a feed, a GUID is the feed's own promise of identity; without one,
the link (canonicalised, so tracking parameters and cosmetic URL differences do
not make a new entry); without either, a hash of the text. An entry is also
found again by its link when its GUID changes, and by its text when both change.

Across feeds, two entries are one story when they share a canonical link, or
when their texts are near-identical: the Jaccard similarity of their sets of
word 3-shingles is at least :data:`SAME_STORY_JACCARD` and their titles mostly
agree (:data:`SAME_TITLE_JACCARD`). Candidates are found
through a MinHash (bottom-k) sketch of each story's shingles, then the
similarity is computed exactly on the stored text.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "twclid",
        "ttclid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "_ga",
        "_gl",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

SKETCH_SIZE = 8
"""Smallest shingle hashes kept per story as its index keys (bottom-k MinHash)."""
MIN_SHARED_SKETCH = 2
"""Sketch values two texts must share to be compared exactly."""
MIN_SHINGLES = 12
"""Shorter texts (about a dozen words) are too short to call near-identical."""
SAME_STORY_JACCARD = 0.5
"""Near-identical texts share at least half of their distinct word 3-shingles…"""
SAME_TITLE_JACCARD = 0.5
"""…and their titles at least half of their distinct words.

Syndicated copies of one report differ by a few lines of boilerplate (site
footers, "The post … appeared first on …", share links) or a few edited words,
and score 0.84 to 0.95 in the tests. Distinct reports built on one template (an
urgent action whose appeal text is longer than the case it describes) can score
0.5 on their text, but their titles name different people; unrelated reports
score near 0. A false merge still cannot hide a person: a copy only skips
alerting a subscriber who was already told about every term it matched.
"""
_WORD = re.compile(r"\w+")


def canonical_link(link: str) -> str:
    """Lower-case scheme and host, no default port, no tracking params, no fragment.

    A link that cannot be split (an unbalanced IPv6 bracket) is its own key, stripped.
    """
    try:
        parts = urlsplit(link.strip())
    except ValueError:
        return link.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_PARAMS
        )
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


def entry_identity(guid: str | None, link: str | None, text_hash: str) -> str:
    if guid and guid.strip():
        return "guid:" + guid.strip()
    if link and link.strip():
        return "link:" + canonical_link(link)
    return "hash:" + text_hash


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def identity_key(identity: str) -> str:
    """Fixed-length key for the unique index (GUIDs can be very long)."""
    return _sha256(identity)


def link_key(link: str | None) -> str | None:
    """Key of a link that can name a report: not a site's home page, scheme ignored."""
    if not link or not link.strip():
        return None
    canonical = canonical_link(link)
    parts = urlsplit(canonical)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.path == "/" and not parts.query:
        return None
    return _sha256(canonical.split("://", 1)[1])


def repeated(values: Iterable[str | None]) -> set[str]:
    """Values given to more than one item of a feed document: they identify nothing."""
    counts = Counter(v for v in values if v)
    return {v for v, n in counts.items() if n > 1}


@dataclass(frozen=True, slots=True)
class EntryKeys:
    """The keys one entry is found again by: its identity, else its link."""

    identity_key: str
    link_key: str | None


@dataclass(frozen=True, slots=True)
class KnownEntry:
    """An entry of the feed already in the database."""

    id: int
    keys: EntryKeys
    content_hash: str


def resolve(fresh: Sequence[EntryKeys], known: Sequence[KnownEntry]) -> list[KnownEntry | None]:
    """For each fresh entry, the known entry it is (or None: a new one).

    Same identity first (the GUID, or the link, or the text hash), else same
    link (its GUID changed). A known entry is claimed at most once.
    """
    by_identity = {k.keys.identity_key: k for k in known}
    by_link: dict[str, KnownEntry] = {}
    for k in known:
        if k.keys.link_key:
            by_link.setdefault(k.keys.link_key, k)
    claimed: set[int] = set()
    found: list[KnownEntry | None] = []
    for keys in fresh:
        match = None
        for candidate in (
            by_identity.get(keys.identity_key),
            by_link.get(keys.link_key) if keys.link_key else None,
        ):
            if candidate is not None and candidate.id not in claimed:
                match = candidate
                break
        if match is not None:
            claimed.add(match.id)
        found.append(match)
    return found


# --- near-identical text ------------------------------------------------------------


def shingles(text: str) -> frozenset[int]:
    """CRC-32 hashes of the text's word 3-grams (case-folded).

    32 bits are plenty: a sketch only proposes candidates, and the similarity
    is then computed on the whole sets. Built with ``map`` (no Python-level loop).
    """
    words = _WORD.findall(text.casefold())
    grams = map(" ".join, zip(words, words[1:], words[2:], strict=False))
    return frozenset(map(zlib.crc32, map(str.encode, grams)))


def story_text(title: str, summary: str, content: str) -> str:
    """What is compared across feeds: the title and the fullest body the feed gave."""
    return f"{title}\n{content or summary}"


def sketch(hashes: frozenset[int]) -> tuple[int, ...]:
    """The bottom-k MinHash sketch: the smallest shingle hashes (empty for short texts).

    ``heapq.nsmallest`` keeps only k values on its heap, about twice as fast as
    sorting the hundreds of hashes of an article; both give them in ascending order.
    """
    if len(hashes) < MIN_SHINGLES:
        return ()
    return tuple(heapq.nsmallest(SKETCH_SIZE, hashes))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def title_words(title: str) -> frozenset[str]:
    return frozenset(_WORD.findall(title.casefold()))


def near_identical(
    a: frozenset[int], b: frozenset[int], a_title: frozenset[str], b_title: frozenset[str]
) -> bool:
    """Same report: long enough, texts mostly shared, titles mostly shared (if both have one)."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES or jaccard(a, b) < SAME_STORY_JACCARD:
        return False
    if not a_title or not b_title:
        return True
    return len(a_title & b_title) / len(a_title | b_title) >= SAME_TITLE_JACCARD
