# ruff: noqa: RUF001 -- Cyrillic endings are the point here
"""Keyword-like terms: whole words that may take simple endings, or prefixes (пытк*).

Each word of a term is one of: a prefix (written with a trailing `*`, any word
of the term), a word that takes the plural and case endings of its language
(four letters or more: "agent" finds agents, "агент" агента, агентов, агентите),
or an exact word (shorter ones). Endings are not listed in folded form: the
word is inflected in its own script by the rules below and every form folded,
so the folded stem and the folded endings come out right whatever folding does
to them (иностранн+ых and иностранн+ый share the stem "inostran").

Derivations stay out (arrest does not find arrested, суд not судья), as they do
for names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from .folding import TOKEN, TOKEN_KEYS

MIN_PREFIX_LENGTH: Final = 3
_MIN_INFLECTED_LENGTH: Final = 4


class Mode(IntEnum):
    EXACT = 0
    PREFIX = 1
    ENDINGS = 2


@dataclass(frozen=True, slots=True)
class TermWord:
    """One word of a term: the folded key (or stem) and what may follow it in a token."""

    key: str
    mode: Mode
    rests: frozenset[str] = frozenset()
    """For ENDINGS: what may follow the stem (folded)."""


@dataclass(frozen=True, slots=True)
class Term:
    """A folded term; the automaton finds its words up to the first open one."""

    words: tuple[TermWord, ...]

    @property
    def head(self) -> int:
        """How many words the automaton pattern holds: up to the first non-exact one."""
        for index, word in enumerate(self.words):
            if word.mode is not Mode.EXACT:
                return index + 1
        return len(self.words)

    @property
    def pattern(self) -> str:
        head = self.words[: self.head]
        closed = head[-1].mode is Mode.EXACT
        return " " + " ".join(word.key for word in head) + (" " if closed else "")

    @property
    def open_head(self) -> TermWord | None:
        """The last word of the pattern, when the rest of its token must be checked."""
        last = self.words[self.head - 1]
        return None if last.mode is Mode.EXACT else last

    @property
    def tail(self) -> tuple[TermWord, ...]:
        """Words after the pattern, checked token by token."""
        return self.words[self.head :]


_ADJECTIVE: Final = re.compile(r"(?:ый|ий|ой|ая|яя|ое|ее|ые|ие|ій)$")
_ADJECTIVE_ENDINGS: Final = (
    "ый", "ий", "ой", "ого", "его", "ому", "ему", "ым", "им", "ом", "ем", "ых", "их", "ыми",
    "ими", "ая", "яя", "ую", "юю", "ое", "ее", "ые", "ие", "ей",
    "ій", "ім", "іх", "ими", "а", "у", "ою", "е", "і",  # Ukrainian
)  # fmt: skip
_ENDINGS_BY_LAST_LETTER: Final = {
    "а": ("а", "ы", "и", "е", "у", "ой", "ою", "ам", "ами", "ах", "ата", "ите", "і", "ою"),
    "я": ("я", "и", "е", "ю", "ей", "ею", "ям", "ями", "ях", "ята", "і"),
    "о": ("о", "а", "у", "ом", "е", "ам", "ами", "ах", "і"),
    "е": ("е", "я", "ю", "ем", "ям", "ями", "ях"),
    "й": ("й", "я", "ю", "ем", "е", "и", "ев", "ям", "ями", "ях", "ї", "єм"),
    "ь": ("ь", "я", "ю", "ем", "е", "и", "ей", "ям", "ями", "ях", "ью", "і"),
}
_CONSONANT_ENDINGS: Final = (
    "", "а", "у", "ом", "е", "ы", "и", "ов", "ам", "ами", "ах", "ей", "ем",
    "ові", "ів", "і",  # Ukrainian
    "ът", "ите", "та",  # Bulgarian definite forms
)  # fmt: skip
_FLEETING_O: Final = re.compile(r"[бвгджзклмнпрстфхцчшщ]ка$")
"""A noun in consonant + -ка takes -ок in the genitive plural (пытка → пыток, голодовок)."""
_CYRILLIC_WORD: Final = re.compile(r"[\u0400-\u04ff]+")
_LATIN_WORD: Final = re.compile(r"[a-zA-Z\u00c0-\u024f]+")


def _forms(word: str) -> tuple[str, list[str]] | None:
    """The stem spelling and the inflected spellings of a word, or None if it takes none."""
    lowered = word.lower()
    if len(lowered) < _MIN_INFLECTED_LENGTH:
        return None
    if _CYRILLIC_WORD.fullmatch(lowered):
        if _ADJECTIVE.search(lowered):
            stem = lowered[:-2]
            return stem, [stem + ending for ending in _ADJECTIVE_ENDINGS]
        endings = _ENDINGS_BY_LAST_LETTER.get(lowered[-1])
        if endings is not None:
            stem = lowered[:-1]
            forms = [stem + ending for ending in endings]
            if _FLEETING_O.search(lowered):
                forms.append(lowered[:-2] + "о" + lowered[-2])  # пытка → пыток
            return stem, forms
        return lowered, [lowered + ending for ending in _CONSONANT_ENDINGS]
    if _LATIN_WORD.fullmatch(lowered):
        return lowered, [lowered, lowered + "s", lowered + "es"]
    return None


def _common_prefix(keys: list[str]) -> str:
    first, last = min(keys), max(keys)
    length = 0
    while length < len(first) and first[length] == last[length]:
        length += 1
    return first[:length]


def _word(token: str) -> TermWord:
    key = TOKEN_KEYS[token]
    forms = _forms(token)
    if forms is None:
        return TermWord(key, Mode.EXACT)
    keys = {TOKEN_KEYS[form] for form in forms[1]} | {key}
    stem = _common_prefix(list(keys))
    if len(stem) < MIN_PREFIX_LENGTH:
        return TermWord(key, Mode.EXACT)
    return TermWord(stem, Mode.ENDINGS, frozenset(found[len(stem) :] for found in keys))


_TOKEN: Final = re.compile(TOKEN)
_STAR_INSIDE_WORD: Final = re.compile(r"\w\*(?=\w)")


def parse_term(text: str) -> Term:
    """Fold a configured term; a word ending in * is a prefix, other words take endings.

    Raises ValueError for a term without words, a * inside a word, or a prefix
    shorter than three letters.
    """
    inside = _STAR_INSIDE_WORD.search(text)
    if inside is not None:
        start = text.rfind(" ", 0, inside.start()) + 1
        raise ValueError(
            f"term {text!r}: * may only end a word (write {text[start : inside.end()]} for every"
            " word that starts so)"
        )
    words: list[TermWord] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        key = TOKEN_KEYS[token]
        if not key:
            continue
        if text.startswith("*", match.end()):
            if len(key) < MIN_PREFIX_LENGTH:
                raise ValueError(
                    f"term {text!r}: a prefix needs at least {MIN_PREFIX_LENGTH} letters"
                )
            words.append(TermWord(key, Mode.PREFIX))
        else:
            words.append(_word(token))
    if not words:
        raise ValueError(f"term {text!r} has no words to match")
    return Term(tuple(words))
