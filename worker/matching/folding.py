# ruff: noqa: RUF001, RUF003 -- Cyrillic and other look-alike letters are the point here
"""Fold words of any supported spelling into one comparison key.

Every spelling of a name — Cyrillic, BGN/PCGN, GOST 7.79, ISO 9, scholarly or
a journalist's habit — is folded into one phonetic-ish skeleton, in the manner
of the Europe Media Monitor: "Азимжан", "Azimzhan" and "Azimjan" all become
"azimjan". Keys are compared, never spellings, so no list of spellings per
romanisation system is needed.

Folding works on tokens (runs of letters and digits, with apostrophes inside
words); each token is folded once and cached, and the keys of a text are joined
by single spaces for the automaton (see `FoldedText`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from enum import IntEnum
from itertools import accumulate
from typing import Final

from .snippets import make_snippet

_WORD_CHARS: Final = r"[\w\u0300-\u036f]+"
_APOSTROPHES: Final = "'’ʼʻ`ʹ‘"
TOKEN: Final = rf"{_WORD_CHARS}(?:[{_APOSTROPHES}]{_WORD_CHARS})*"
"""A word: letters and digits, with apostrophes allowed inside (O'Brien, Askarov's)."""
_TOKEN: Final = re.compile(TOKEN)

# Cyrillic letters of Russian, Ukrainian, Belarusian, Bulgarian, Serbian, Macedonian,
# Kazakh, Kyrgyz, Uzbek and Tajik, to a plain Latin spelling that `_DIGRAPHS` then
# reduces to the skeleton. Lower case only: tokens are lowered first. й, ы and the
# iotated vowels use i, as the Latin y does below.
_CYRILLIC: Final = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "iu",
    "я": "ia",
    "і": "i", "ї": "ii", "є": "ie", "ґ": "g", "ў": "u",
    "ә": "a", "ғ": "gh", "қ": "k", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h",
    "ҳ": "h", "ҷ": "j", "ӣ": "i", "ӯ": "u", "ҙ": "z", "ҫ": "s", "ӑ": "a", "ӗ": "e",
    "ј": "i", "љ": "li", "њ": "ni", "ђ": "dj", "ћ": "ch", "џ": "dzh", "ѓ": "gj",
    "ќ": "kj", "ѕ": "dz", "ӏ": "",
}  # fmt: skip

# Latin letters whose diacritic carries a sound of its own (š = ш, not s), and the
# single letters that romanisations use interchangeably (y/i, w/v, q/k, x/ks); all
# other diacritics are simply dropped through NFKD.
_LATIN: Final = {
    "š": "sh", "ž": "zh", "č": "ch", "ŝ": "shch", "ĉ": "ch", "ş": "sh", "ș": "sh",
    "ç": "ch", "ğ": "gh", "ı": "i", "ñ": "ng", "ŋ": "ng", "ä": "a", "ö": "o", "ü": "u",
    "ə": "a", "ț": "ts", "ţ": "ts", "ś": "s", "ź": "z", "ż": "zh", "ł": "l", "ø": "o",
    "æ": "ae", "œ": "oe", "ß": "ss", "đ": "dj", "ð": "d", "þ": "th", "ĭ": "i", "ŭ": "u",
    "ʹ": "", "ʺ": "", "ǵ": "g", "ḱ": "k",
    "y": "i", "w": "v", "q": "k", "x": "ks",
}  # fmt: skip

_CHAR_TABLE: Final = str.maketrans(
    {**_CYRILLIC, **_LATIN, **dict.fromkeys(_APOSTROPHES.replace("ʹ", ""), "'")}
)

_POSSESSIVE: Final = re.compile(r"^(.*\w)'s$")
_BULGARIAN_HARD_SIGN: Final = re.compile(r"ъ(?![еёюя])")
"""Before a consonant ъ is the Bulgarian vowel (Кръстев = Krastev), not the Russian sign."""
_COMBINING: Final = re.compile(r"[\u0300-\u036f]")

# Romanisation-collapsing rules for letter groups, applied in one left-to-right pass
# (longest group first) to the lower-case Latin spelling.
_DIGRAPH_RULES: Final = {
    "o'": "u",  # Uzbek oʻ = ў, read u in Russian-style spellings (Oʻtkir = Уткир)
    "g'": "g",  # Uzbek gʻ = ғ
    "'": "",  # apostrophes and soft signs
    "tsch": "ch",  # German ч (Tschernenko)
    "shch": "sh",  # щ (BGN)
    "shh": "sh",  # щ (GOST 7.79 B)
    "sch": "sh",  # щ (German)
    "tch": "ch",  # French ч (Tchaikovsky)
    "cz": "ch",  # Polish ч
    "dzh": "j",  # дж (Dzhamshid = Jamshid)
    "dj": "j",
    "zh": "j",  # ж (Azimzhan = Azimjan)
    "kh": "h",  # х
    "ck": "k",
    "ch": "ch",  # ч, kept whole so that the next rule leaves it alone
    "c": "k",
    "tz": "ts",  # ц
    "ph": "f",
    "th": "t",
    "gh": "g",  # ғ (Ghafur = Gafur)
    "ng": "n",  # Kazakh/Kyrgyz ң (Zhengis = Zhenis)
    "j": "i",  # only word-final after a vowel: ISO/scholarly й (Sergej, Nikolaj)
}
_DIGRAPHS: Final = re.compile(
    "|".join(re.escape(group) for group in _DIGRAPH_RULES if group != "j") + "|(?<=[aeiou])j$"
)
_DOUBLED: Final = re.compile(r"(.)\1+")
"""Doubled letters (Kirill = Kiril)."""
_SOFT_E: Final = re.compile(r"ie|io")
"""е, ё after a soft consonant or a vowel (Vasiliev = Vasilev, Fyodor = Fedor)."""


def _digraph(match: re.Match[str]) -> str:
    return _DIGRAPH_RULES[match.group()]


def fold_token(token: str) -> str:
    """The comparison key of one word, in any supported script or spelling."""
    lowered = token.lower()
    if "ъ" in lowered:
        lowered = _BULGARIAN_HARD_SIGN.sub("а", lowered)
    latin = lowered.translate(_CHAR_TABLE)
    if not latin.isascii():
        latin = _COMBINING.sub("", unicodedata.normalize("NFKD", latin)).translate(_CHAR_TABLE)
    possessive = _POSSESSIVE.match(latin)
    if possessive:
        latin = possessive.group(1)
    latin = _DOUBLED.sub(r"\1", _DIGRAPHS.sub(_digraph, latin))
    if "ie" in latin or "io" in latin:
        latin = _DOUBLED.sub(r"\1", _SOFT_E.sub("e", latin))
    if possessive:
        latin += "s"
    return latin.replace(" ", "") or lowered


def is_possessive(token: str) -> bool:
    """Whether a token ends in an English possessive 's (Askarov's)."""
    return _POSSESSIVE.match(token.lower().translate(_CHAR_TABLE)) is not None


def tokens_of(text: str) -> list[str]:
    """The words of a configured name or term, in order."""
    return _TOKEN.findall(text)


def fold_words(text: str) -> tuple[str, ...]:
    """The keys of the words of a configured name or term."""
    return tuple(key for key in map(TOKEN_KEYS.__getitem__, tokens_of(text)) if key)


class _TokenKeyCache(dict[str, str]):
    """Token → key memo; words repeat a lot, so most tokens are folded only once.

    Lookups go through `dict.__getitem__` (C speed, usable with `map`); a miss
    folds the token. The cache stops growing at `limit` entries so that a stream
    of unusual words cannot exhaust memory; later misses are folded each time.
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int = 1_000_000) -> None:
        super().__init__()
        self.limit = limit

    def __missing__(self, token: str) -> str:
        key = fold_token(token)
        if len(self) < self.limit:
            self[token] = key
        return key


TOKEN_KEYS: Final = _TokenKeyCache()
"""The shared token → key memo (folding does not depend on the configuration)."""


class Gap(IntEnum):
    """What lies between two tokens; names may only span the mild kinds."""

    SPACE = 0
    """Whitespace with at most one line break."""
    HYPHEN = 1
    """A hyphen with no space around it (Rimsky-Korsakov)."""
    COMMA = 2
    """A comma with optional spaces (Askarov, Azimjan)."""
    DOT = 3
    """A full stop with optional spaces (A. Askarov)."""
    BREAK = 4
    """Anything else: sentence or clause punctuation, quotes, blank lines."""


_HYPHENS: Final = frozenset("-‐‑")


def classify_gap(separator: str) -> Gap:
    """The kind of text between two adjacent tokens."""
    stripped = separator.strip()
    if not stripped:
        return Gap.SPACE if separator.count("\n") < 2 else Gap.BREAK
    if stripped == separator and stripped in _HYPHENS:
        return Gap.HYPHEN
    if stripped == ",":
        return Gap.COMMA
    if stripped == ".":
        return Gap.DOT
    return Gap.BREAK


class _GapCache(dict[str, Gap]):
    """Separator → `Gap` memo; the same few separators recur everywhere."""

    __slots__ = ()

    def __missing__(self, separator: str) -> Gap:
        gap = classify_gap(separator)
        if len(self) < 100_000:
            self[separator] = gap
        return gap


GAPS: Final = _GapCache()
"""The shared separator → `Gap` memo."""


_MAX_CACHED_CHUNK: Final = 64
_MAX_CACHED_CHUNKS: Final = 500_000
_OFFSET_BITS: Final = 32
_OFFSET_MASK: Final = (1 << _OFFSET_BITS) - 1


def _chunk_size(spans: tuple[tuple[int, int], ...], chunk: str) -> int:
    """Tokens in a chunk and characters it takes up (with its space), packed in one int."""
    return (len(spans) << _OFFSET_BITS) | (len(chunk) + 1)


class _ChunkSpans(dict[str, tuple[tuple[int, int], ...]]):
    """Space-free chunk of text → character spans of the tokens in it."""

    __slots__ = ()

    def __missing__(self, chunk: str) -> tuple[tuple[int, int], ...]:
        return tuple(match.span() for match in _TOKEN.finditer(chunk))


class _ChunkSizes(dict[str, int]):
    """Space-free chunk of text → `_chunk_size`."""

    __slots__ = ()

    def __missing__(self, chunk: str) -> int:
        return _chunk_size(_CHUNK_SPANS[chunk], chunk)


class _ChunkKeys(dict[str, str]):
    """Space-free chunk of text → keys of its tokens, each followed by a space.

    Text is first cut at plain spaces (fast, in C); chunks such as "Аскарова,"
    or "(Askarov's" recur all the time, so each is tokenised and folded once.
    """

    __slots__ = ()

    def __missing__(self, chunk: str) -> str:
        spans = _CHUNK_SPANS[chunk]
        keys = "".join(TOKEN_KEYS[chunk[start:end]] + " " for start, end in spans)
        if len(chunk) <= _MAX_CACHED_CHUNK and len(self) < _MAX_CACHED_CHUNKS:
            self[chunk] = keys
            _CHUNK_SPANS[chunk] = spans
            _CHUNK_SIZES[chunk] = _chunk_size(spans, chunk)
        return keys


_CHUNK_SPANS: Final = _ChunkSpans()
_CHUNK_SIZES: Final = _ChunkSizes()
_CHUNK_KEYS: Final = _ChunkKeys()


class FoldedText:
    """One field of a document: its tokens, their keys, and the gaps between them.

    Only the key text is built up front; token offsets and the list of keys are
    worked out on first use, which is only where the automaton found something.
    """

    __slots__ = (
        "_chunk_starts",
        "_keys",
        "_snippets",
        "chunks",
        "key_text",
        "name",
        "text",
        "token_count",
    )

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        self.chunks = text.split(" ")
        self.key_text = " " + "".join(map(_CHUNK_KEYS.__getitem__, self.chunks))
        """The token keys, each preceded and followed by a single space."""
        self.token_count = self.key_text.count(" ") - 1
        self._keys: list[str] | None = None
        self._chunk_starts: list[int] | None = None
        """Per chunk, tokens before it and its character offset, packed (`_chunk_size`)."""
        self._snippets: dict[tuple[int, int], str] = {}

    @property
    def keys(self) -> list[str]:
        """The key of every token, in order."""
        if self._keys is None:
            self._keys = self.key_text.split()
        return self._keys

    def _locate(self, index: int) -> tuple[int, int]:
        """Character offsets of token `index`."""
        if self._chunk_starts is None:
            sizes = map(_CHUNK_SIZES.__getitem__, self.chunks)
            self._chunk_starts = list(accumulate(sizes, initial=0))
        chunk = bisect_right(self._chunk_starts, (index << _OFFSET_BITS) | _OFFSET_MASK) - 1
        packed = self._chunk_starts[chunk]
        start, end = _CHUNK_SPANS[self.chunks[chunk]][index - (packed >> _OFFSET_BITS)]
        offset = packed & _OFFSET_MASK
        return offset + start, offset + end

    def token(self, index: int) -> str:
        start, end = self._locate(index)
        return self.text[start:end]

    def separator(self, index: int) -> str:
        """The text between token `index` and the next one (or the end of the field)."""
        end = self._locate(index)[1]
        if index + 1 < self.token_count:
            return self.text[end : self._locate(index + 1)[0]]
        return self.text[end:]

    def gap(self, index: int) -> Gap:
        """What separates token `index` from the next one."""
        return GAPS[self.separator(index)]

    def followed_by_dot(self, index: int) -> bool:
        return self.separator(index).lstrip().startswith(".")

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets of tokens first..last in the original text."""
        if first == last:
            return self._locate(first)
        return self._locate(first)[0], self._locate(last)[1]

    def snippet(self, start: int, end: int) -> str:
        """The snippet around text[start:end]; several watch lists often hit the same words."""
        snippet = self._snippets.get((start, end))
        if snippet is None:
            snippet = self._snippets[start, end] = make_snippet(self.text, start, end)
        return snippet
