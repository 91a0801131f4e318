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
from bisect import bisect_left, bisect_right
from collections import defaultdict
from enum import IntEnum
from itertools import islice, repeat
from operator import itemgetter
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


def _single(match: re.Match[str]) -> str:
    return match.group(1)


def fold_token(token: str) -> str:
    """The comparison key of one word, in any supported script or spelling."""
    return _fold_lowered(token.lower())


def _fold_lowered(lowered: str) -> str:
    """`fold_token` of a word given in lower case (it depends on nothing else)."""
    if "ъ" in lowered:
        lowered = _BULGARIAN_HARD_SIGN.sub("а", lowered)
    latin = lowered.translate(_CHAR_TABLE)
    if not latin.isascii():
        latin = _COMBINING.sub("", unicodedata.normalize("NFKD", latin)).translate(_CHAR_TABLE)
    possessive = _POSSESSIVE.match(latin)
    if possessive:
        latin = possessive.group(1)
    latin = _DIGRAPHS.sub(_digraph, latin)
    if _DOUBLED.search(latin):
        latin = _DOUBLED.sub(_single, latin)
    if "ie" in latin or "io" in latin:
        latin = _SOFT_E.sub("e", latin)
        if _DOUBLED.search(latin):
            latin = _DOUBLED.sub(_single, latin)
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

    __slots__ = ("by_lowered", "limit")

    def __init__(self, limit: int = 1_000_000) -> None:
        super().__init__()
        self.limit = limit
        self.by_lowered: dict[str, str] = {}
        """Lower-cased token → key: "Miro", "MIRO" and "miro" are folded once."""

    def __missing__(self, token: str) -> str:
        lowered = token.lower()
        key = self.by_lowered.get(lowered)
        if key is None:
            key = _fold_lowered(lowered)
            if len(self.by_lowered) < self.limit:
                self.by_lowered[lowered] = key
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

_NEXT_IN_CHUNK: Final = "\x1f"
"""Marks, in `FoldedText.marked`, a token followed by another token of the same chunk."""
_CUT_ALSO: Final = ("\n", "\r", "\t")
"""Characters that `FoldedText` cuts text at, besides spaces."""
_NO_TOKENS: Final = "\x1e"
"""Stands, in `FoldedText.marked`, for a chunk without tokens (a dash, a lone comma, "")."""


def _mark_chunk(chunk: str) -> str:
    """Keys of the tokens of a space-free chunk, for `FoldedText.marked`."""
    if chunk.isalnum():  # exactly one token, the whole chunk (the common case)
        return TOKEN_KEYS[chunk] + " "
    pieces = None if chunk.isprintable() else chunk.split()
    if pieces is not None and (len(pieces) != 1 or len(pieces[0]) != len(chunk)):
        # Other white space inside (a no-break space, say): tokens never span it,
        # so the chunk is made of the pieces around it.
        marked = [_chunk_key(piece) for piece in pieces]
        keys = [piece[:-1] for piece in marked if piece != _NO_TOKENS]
    else:
        keys = [TOKEN_KEYS[token] for token in _TOKEN.findall(chunk)]
    return _NEXT_IN_CHUNK.join(keys) + " " if keys else _NO_TOKENS


_PENDING: Final = "\x00"
"""What `_CHUNK_KEYS` gives, and stores, for a chunk it has not seen before."""

_CHUNK_KEYS: Final[defaultdict[str, str]] = defaultdict(repeat(_PENDING).__next__)
"""Space-free chunk of text → keys of its tokens, marked (see `FoldedText.marked`).

Text is first cut at spaces (fast, in C); chunks such as "Аскарова," or
"(Askarov's" recur all the time, so each is tokenised and folded once. All
the chunks of a field are looked up in one C call, and a lookup in a
defaultdict whose default comes from C costs a third less than one in a dict
subclass with `__missing__` written in Python: a new chunk gets `_PENDING`
and is folded right after (`_fold_new`).
"""


def _chunk_key(chunk: str) -> str:
    """The marked keys of one chunk, from the cache or folded now (and kept)."""
    marked = _CHUNK_KEYS.get(chunk)
    if marked is None or marked == _PENDING:
        held = marked is not None  # the cache holds a placeholder for it already
        marked = _mark_chunk(chunk)
        if len(chunk) <= _MAX_CACHED_CHUNK and len(_CHUNK_KEYS) - held < _MAX_CACHED_CHUNKS:
            _CHUNK_KEYS[chunk] = marked
        else:  # the cache stops growing; later misses are folded each time
            _CHUNK_KEYS.pop(chunk, None)
    return marked


def _fold_new(chunks: list[str], found: tuple[str, ...] | str, marked: str) -> str:
    """`marked`, the joined keys that the cache `found` for `chunks`, completed.

    Chunks new to the cache came back as `_PENDING`: fold those now and put
    their keys in the place of the placeholders.
    """
    if isinstance(found, str):  # a single chunk
        return _chunk_key(chunks[0])
    pieces = marked.split(_PENDING)
    parts = [pieces[0]]
    at = -1
    for piece in islice(pieces, 1, None):
        at = found.index(_PENDING, at + 1)
        parts += (_chunk_key(chunks[at]), piece)
    return "".join(parts)


def _chunk_span(chunk: str, index: int) -> tuple[int, int]:
    """Offsets in a chunk of its token `index`."""
    if chunk.isalnum():
        return 0, len(chunk)
    for number, match in enumerate(_TOKEN.finditer(chunk)):
        if number == index:
            return match.span()
    raise IndexError(index)


def _after_spaces(text: str, start: int, count: int, per_space: float) -> int:
    """The offset just past the `count`-th space from `start` on (there are that many).

    Guessed from the average distance between spaces, then corrected with
    str.count, str.index and str.rindex (C, nothing allocated): cheaper than
    adding up the lengths of all the chunks in between.
    """
    low = start
    guess = min(low + int(count * per_space) + 1, len(text))
    while True:
        spaces = text.count(" ", low, guess)
        if spaces > count + 4:  # far past it: halve the step
            guess = low + (guess - low) // 2
            continue
        if spaces >= count:
            position = guess
            for _ in range(spaces - count + 1):
                position = text.rindex(" ", low, position)
            return position + 1
        if count - spaces <= 4:
            position = guess - 1
            for _ in range(count - spaces):
                position = text.index(" ", position + 1)
            return position + 1
        low = guess
        count -= spaces
        guess = min(low + int(count * per_space) + 1, len(text))


class _Locator:
    """Where the tokens of one `FoldedText` are; built on its first lookup.

    The chunk of token i is i, less the tokens before it that share a chunk
    with the next one, plus the chunks without tokens before it: both lists are
    read off the markers in `FoldedText.marked`. A chunk's character offset is
    found by counting spaces from the nearest chunk whose offset is already known.
    """

    __slots__ = (
        "chunk_offsets",
        "chunk_starts",
        "next_in_chunk",
        "no_tokens",
        "per_space",
        "spans",
    )

    def __init__(self, text: FoldedText) -> None:
        marked = text.marked
        self.per_space = len(text.spaced) / len(text.chunks)
        """Average distance from one space to the next."""
        self.next_in_chunk: list[int] = []
        """Tokens followed by another token of their chunk, in order."""
        self.no_tokens: list[int] = []
        """Per chunk without tokens, the index of the token after it, in order."""
        self.chunk_starts = [0]
        self.chunk_offsets = [0]
        """Chunks whose character offset is known (sorted), and those offsets."""
        self.spans: dict[int, tuple[int, int]] = {}
        """Token → character offsets, for the tokens looked up so far."""
        # Walk the markers in order (str.find is fast; markers are rare), counting
        # the tokens before each: spaces and \\x1f end tokens.
        tokens = 0
        position = 1
        next_in_chunk = marked.find(_NEXT_IN_CHUNK, position)
        no_tokens = marked.find(_NO_TOKENS, position)
        while next_in_chunk >= 0 or no_tokens >= 0:
            if no_tokens < 0 or 0 <= next_in_chunk < no_tokens:
                tokens += marked.count(" ", position, next_in_chunk)
                self.next_in_chunk.append(tokens)
                tokens += 1
                position = next_in_chunk + 1
                next_in_chunk = marked.find(_NEXT_IN_CHUNK, position)
            else:
                tokens += marked.count(" ", position, no_tokens)
                self.no_tokens.append(tokens)
                position = no_tokens + 1
                no_tokens = marked.find(_NO_TOKENS, position)

    def span(self, text: FoldedText, index: int) -> tuple[int, int]:
        next_in_chunk = self.next_in_chunk
        inside = bisect_left(next_in_chunk, index)
        chunk = index - inside + bisect_right(self.no_tokens, index)
        within = 0
        while inside > within and next_in_chunk[inside - within - 1] == index - within - 1:
            within += 1
        known = bisect_right(self.chunk_starts, chunk) - 1
        offset = self.chunk_offsets[known]
        if self.chunk_starts[known] != chunk:
            offset = _after_spaces(
                text.spaced, offset, chunk - self.chunk_starts[known], self.per_space
            )
            self.chunk_starts.insert(known + 1, chunk)
            self.chunk_offsets.insert(known + 1, offset)
        start, end = _chunk_span(text.chunks[chunk], within)
        span = self.spans[index] = (offset + start, offset + end)
        return span


class FoldedText:
    """One field of a document: its tokens, their keys, and the gaps between them.

    Only the key text is built up front, in C (split, dictionary lookups, join):
    the text is cut at spaces into chunks, and each chunk's keys come from a
    cache. Where tokens are in the original text is worked out on demand, only
    around automaton hits (see `_Locator`), and remembered.

    `marked` is the key text with two markers that keep track of chunks: a
    token followed by another token of the same chunk (Rimsky-Korsakov,
    "end.\\nNext") ends with \\x1f instead of a space, and a chunk without
    tokens is a lone \\x1e.
    """

    __slots__ = (
        "_gaps",
        "_keys",
        "_locator",
        "_snippets",
        "_token_count",
        "chunks",
        "key_bytes",
        "marked",
        "name",
        "spaced",
        "text",
    )

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        # Line breaks and tabs count as spaces for cutting (same length, so offsets
        # stay right): "end.\n\nNext" gives the cached chunks "end." and "Next".
        spaced = text
        for blank in _CUT_ALSO:
            if blank in spaced:
                spaced = spaced.replace(blank, " ")
        self.spaced = spaced
        self.chunks = chunks = spaced.split(" ")
        # itemgetter looks every chunk up in one C call (a single chunk comes back
        # as a string, whose characters join back into the same string).
        found = itemgetter(*chunks)(_CHUNK_KEYS)
        marked = "".join(found)
        if _PENDING in marked:
            marked = _fold_new(chunks, found, marked)
        self.marked = " " + marked
        self.key_bytes = self.marked.encode().replace(b"\x1f", b" ").replace(b"\x1e", b"")
        """The token keys, UTF-8, each preceded and followed by a single space."""
        self._token_count: int | None = None
        self._gaps: dict[int, Gap] | None = None
        self._keys: list[str] | None = None
        self._locator: _Locator | None = None
        self._snippets: dict[tuple[int, int], str] | None = None

    @property
    def token_count(self) -> int:
        if self._token_count is None:
            self._token_count = self.key_bytes.count(b" ") - 1
        return self._token_count

    @property
    def key_text(self) -> str:
        """The token keys, each preceded and followed by a single space."""
        return self.key_bytes.decode()

    @property
    def keys(self) -> list[str]:
        """The key of every token, in order."""
        if self._keys is None:
            self._keys = self.key_text.split(" ")[1:-1]
        return self._keys

    def _locate(self, index: int) -> tuple[int, int]:
        """Character offsets of token `index`."""
        locator = self._locator
        if locator is None:
            locator = self._locator = _Locator(self)
        else:
            span = locator.spans.get(index)
            if span is not None:
                return span
        return locator.span(self, index)

    def token(self, index: int) -> str:
        start, end = self._locate(index)
        return self.text[start:end]

    def key(self, index: int) -> str:
        """The key of token `index` (without building `keys`)."""
        if self._keys is not None:
            return self._keys[index]
        start, end = self._locate(index)
        return TOKEN_KEYS[self.text[start:end]]

    def separator(self, index: int) -> str:
        """The text between token `index` and the next one (or the end of the field)."""
        end = self._locate(index)[1]
        if index + 1 < self.token_count:
            return self.text[end : self._locate(index + 1)[0]]
        return self.text[end:]

    def gap(self, index: int) -> Gap:
        """What separates token `index` from the next one."""
        gaps = self._gaps
        if gaps is None:
            gaps = self._gaps = {}
        else:
            gap = gaps.get(index)
            if gap is not None:
                return gap
        gap = gaps[index] = GAPS[self.separator(index)]
        return gap

    def followed_by_dot(self, index: int) -> bool:
        return self.separator(index).lstrip().startswith(".")

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character offsets of tokens first..last in the original text."""
        if first == last:
            return self._locate(first)
        return self._locate(first)[0], self._locate(last)[1]

    def snippet(self, start: int, end: int) -> str:
        """The snippet around text[start:end]; several watch lists often hit the same words."""
        snippets = self._snippets
        if snippets is None:
            snippets = self._snippets = {}
        snippet = snippets.get((start, end))
        if snippet is None:
            snippet = snippets[start, end] = make_snippet(self.text, start, end)
        return snippet
