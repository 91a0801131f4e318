"""Which items are the same report: within a feed (identity) and across feeds (stories).

Pure. Within a feed, a GUID is the feed's own promise of identity; without one,
the link (canonicalised, so tracking parameters and cosmetic URL differences do
not make a new entry); without either, a hash of the text. An entry is also
found again by its link when its GUID changes, and by its text when both change.

Across feeds, two entries are one story when they share a canonical link, or
when their texts are near-identical: the Jaccard similarity of their sets of
word 3-shingles is at least :data:`SAME_STORY_JACCARD` and their titles mostly
agree (:data:`SAME_TITLE_JACCARD`). Candidates are found by locality-sensitive
hashing: each story stores a MinHash signature (one-permutation hashing, :data:`BINS`
values) and its :data:`BANDS` band keys; only stories sharing a band are read, at most
:data:`BUCKET_LIMIT` per band, only the :data:`CANDIDATE_LIMIT` best by estimated
similarity are compared exactly. So the work per entry is bounded, however many
stored stories share a template or a footer with it.

With an encryption key, the signature hashes every shingle with a keyed
pseudo-random permutation (AES) and link and identity keys are HMACs: a seized
database cannot be joined to the public feeds it came from.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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

BANDS = 20
ROWS = 3
"""LSH banding: a stored story is a candidate when all :data:`ROWS` signature values of
one of :data:`BANDS` bands agree. The chance that two texts of similarity J share a band
is 1 - (1 - J**3)**20: 0.93 at J = 0.5, 0.996 at 0.6, 1.0 at the 0.84 of syndicated
copies, 0.15 at 0.2 (the S-curve's steep part sits just under the 0.5 threshold)."""
BINS = BANDS * ROWS
"""Signature length (one-permutation MinHash with rotation densification)."""
BUCKET_LIMIT = 16
"""Stories read per band (the newest): a band shared by thousands of stories (a template,
a footer) still costs 16 rows."""
CANDIDATE_LIMIT = 8
"""Candidates compared exactly per entry, the best by estimated similarity."""
MIN_ESTIMATE = 0.3
"""Estimated similarity below which a candidate is not compared (4.6 standard errors of a
60-value estimate under the 0.5 threshold)."""
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


UNKNOWN_TEXT = ""
"""The content hash of an entry retention emptied before a key rotation: its text is
gone, so no hash under the new key can be made, and it is compared with nothing."""


def lookup_hash(text: str, key: bytes | None = None) -> str:
    """SHA-256 of the text, or with a key its HMAC-SHA256: what a look-up key of entry
    content is stored as (keyed, nobody can compute it from a public feed)."""
    if key is None:
        return hashlib.sha256(text.encode()).hexdigest()
    return hmac.new(key, text.encode(), "sha256").hexdigest()


def content_hash(title: str, summary: str, content: str) -> str:
    """What tells a changed text (and identifies an item with neither GUID nor link)."""
    return lookup_hash("\x1f".join((title, summary, content)))


def identity_key(identity: str, key: bytes | None = None) -> str:
    """Fixed-length key for the unique index (GUIDs can be very long)."""
    return lookup_hash(identity, key)


def link_key(link: str | None, key: bytes | None = None) -> str | None:
    """Key of a link that can name a report: not a site's home page, scheme ignored."""
    if not link or not link.strip():
        return None
    return canonical_link_key(canonical_link(link), key)


def canonical_link_key(canonical: str, key: bytes | None = None) -> str | None:
    """:func:`link_key` of a link already made :func:`canonical_link` (not made twice)."""
    parts = urlsplit(canonical)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.path == "/" and not parts.query:
        return None
    return lookup_hash(canonical.split("://", 1)[1], key)


def repeated(values: Iterable[str | None]) -> set[str]:
    """Values given to more than one item of a feed document: they identify nothing."""
    counts = Counter(v for v in values if v)
    return {v for v, n in counts.items() if n > 1}


@dataclass(frozen=True, slots=True)
class EntryKeys:
    """The keys one entry is found again by: its identity, else its link."""

    identity_key: str
    link_key: str | None
    identity: str | None = field(default=None, compare=False)
    """What ``identity_key`` hashes (kept encrypted, so a new key can re-key it)."""


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

    32 bits are plenty: a signature only proposes candidates, and the similarity
    is then computed on the whole sets. Built with ``map`` (no Python-level loop).
    """
    words = _WORD.findall(text.casefold())
    grams = map(" ".join, zip(words, words[1:], words[2:], strict=False))
    return frozenset(map(zlib.crc32, map(str.encode, grams)))


def story_text(title: str, summary: str, content: str) -> str:
    """What is compared across feeds: the title and the fullest body the feed gave."""
    return f"{title}\n{content or summary}"


_UNKEYED_PERMUTATION = hashlib.sha256(b"rightswatch signature without an encryption key").digest()
_SPREAD = 0x9E3779B9
"""Odd constant that tells a value borrowed from a bin ``d`` places on from that bin's own."""


def signature(hashes: frozenset[int], key: bytes | None = None) -> tuple[int, ...]:
    """The text's MinHash signature: :data:`BINS` 32-bit values (empty for short texts).

    One-permutation hashing: each shingle is mapped by a pseudo-random permutation
    (AES-256 under ``key``; a public key without one) to 64 bits, which choose its bin
    and its value; each bin keeps its smallest value. An empty bin borrows the value of
    the next non-empty one, marked by the distance (rotation densification), so two
    texts' values at one position agree with probability close to their Jaccard
    similarity. One AES call per text.
    """
    if len(hashes) < MIN_SHINGLES:
        return ()
    n = len(hashes)
    blocks = bytearray(16 * n)
    packed = struct.pack(f"<{n}I", *hashes)
    for byte in range(4):
        blocks[byte::16] = packed[byte::4]
    encryptor = Cipher(algorithms.AES(key or _UNKEYED_PERMUTATION), modes.ECB()).encryptor()
    permuted = memoryview(encryptor.update(bytes(blocks))).cast("Q")[::2].tolist()
    permuted.sort(reverse=True)
    # Each bin's smallest value: a dict keeps the last of equal keys (no loop in Python).
    smallest = dict(zip(map(BINS.__rmod__, permuted), permuted, strict=True))
    mins = {b: (value // BINS) >> 26 for b, value in smallest.items()}
    if len(mins) == BINS:  # no empty bin, nothing borrowed: most texts of a few KB
        return tuple(mins[position] & 0xFFFFFFFF for position in range(BINS))
    values = [0] * BINS
    for position in range(BINS):
        for distance in range(BINS):
            found = mins.get((position + distance) % BINS)
            if found is not None:
                values[position] = (found + distance * _SPREAD) & 0xFFFFFFFF
                break
    return tuple(values)


def bands(values: Sequence[int]) -> tuple[int, ...]:
    """The signature's LSH band keys (signed 64-bit, for a BIGINT column)."""
    if not values:
        return ()
    packed = struct.pack(f"<{len(values)}I", *values)
    width = 4 * ROWS
    return tuple(
        int.from_bytes(
            hashlib.blake2b(
                bytes((band,)) + packed[band * width : (band + 1) * width], digest_size=8
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(BANDS)
    )


def pack_signature(values: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(values)}I", *values)


def unpack_signature(blob: bytes) -> tuple[int, ...]:
    return struct.unpack(f"<{len(blob) // 4}I", blob)


def positions(values: Sequence[int]) -> frozenset[int]:
    """A signature as a set of (position, value) pairs, for :func:`estimate`."""
    return frozenset(i << 32 | v for i, v in enumerate(values))


def estimate(a: frozenset[int], b: frozenset[int]) -> float:
    """Estimated Jaccard similarity: the share of signature positions that agree
    (``a``, ``b``: :func:`positions`; a set intersection runs in C)."""
    if not a or not b:
        return 0.0
    return len(a & b) / BINS


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)  # the union's size follows: no second set is built
    return shared / (len(a) + len(b) - shared)


def title_words(title: str) -> frozenset[str]:
    return frozenset(_WORD.findall(title.casefold()))


def near_identical(
    a: frozenset[int], b: frozenset[int], a_title: frozenset[str], b_title: frozenset[str]
) -> bool:
    """Same report: long enough, texts mostly shared, titles mostly shared (if both have one)."""
    return titles_agree(a_title, b_title) and text_similarity(a, b) >= SAME_STORY_JACCARD


def titles_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Titles mostly shared, or one is missing (checked first: it costs no shingling)."""
    if not a or not b:
        return True
    return len(a & b) / len(a | b) >= SAME_TITLE_JACCARD


def text_similarity(a: frozenset[int], b: frozenset[int]) -> float:
    """The texts' Jaccard similarity, 0 when either is too short to call near-identical."""
    if len(a) < MIN_SHINGLES or len(b) < MIN_SHINGLES:
        return 0.0
    return jaccard(a, b)
