# ruff: noqa: RUF001, RUF002, RUF003 -- Cyrillic and other look-alike letters are the point here
"""Turn a configured person (name, aliases, exclude phrases) into folded name forms.

A name form is one way of writing the person: given-name words and surname
words, each folded to keys. The canonical name and every alias give one form
each; matching then tries normal order, reversed order, initials and the bare
surname against every form (see `engine`).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NamedTuple

from worker.core.types import PersonSpec

from .endings import StemClass, given_name_core, is_patronymic, matches_given_name, split_stem
from .folding import TOKEN_KEYS, FoldedText, tokens_of
from .readings import (
    BULGARIAN_U_RULE,
    CYRILLIC_LETTER,
    cyrillic_readings,
    has_hard_sign,
    is_latin,
    latin_readings,
    looks_stripped,
)
from .readings import transcriptions as transcriptions_of

_SPELLING_ALTERNATES: Final = (
    (re.compile(r"[xX]"), "kh"),  # Uzbek Latin x = х (Xolmatov = Холматов)
    (re.compile(r"[cC](?![hHkKzZ])"), "ts"),  # ISO 9 / Balkan c = ц (Cvetkov = Цветков)
    (re.compile(r"[jJ](?=[aeiouAEIOU])"), "y"),  # German/ISO j = й (Ilja, Jurij)
    (re.compile(r"(?<![cCgGkKpPsStTzZ])[hH]"), "g"),  # Ukrainian/Belarusian h = г (Oleh = Олег)
    (re.compile(r"[гГ]"), "х"),  # and the other way: Олег is also Oleh
)
"""Letters that are ambiguous in a configured spelling; both readings are searched.

Latin h is х in Russian and Central Asian romanisations (Hamroev) but г in
Ukrainian and Belarusian ones (Oleh, Hennadiy), and text folds it as х; so a
configured h is also read as г, and a configured г also as h.
"""


_ANY_ALTERNATE: Final = re.compile("|".join(pattern.pattern for pattern, _ in _SPELLING_ALTERNATES))
"""Whether any of them applies: most words have none (no replacement adds one)."""

_ALTERNATE_RULES: Final = (
    "x read as kh (Uzbek Latin)",
    "c read as ts (ISO 9, Balkan)",
    "j before a vowel read as y",
    "h read as г (Ukrainian, Belarusian)",
    "г read as h",
)


Guess = int
"""Which guessed readings (see `readings`) a configured spelling gets: one of the below."""
GUESS_NONE: Final = 0
"""The person has a Cyrillic spelling: only the sure readings."""
GUESS_LATIN: Final = 1
"""Latin spellings only: Bulgarian ъ and transcription readings too."""
GUESS_STRIPPED: Final = 2
"""Latin spellings that look scholarly without diacritics: every s, z, c, u read both ways."""


Surface = tuple[str, ...]
"""Configured words, case-folded, to tell an exact mention from a variant."""


class Reading(NamedTuple):
    """One way a configured word may be written in text, and the rule that says so."""

    spelling: str
    key: str
    rule: str
    transcribed: bool = False


def alternate_rules(word: str) -> list[str]:
    """The sure-reading rules that apply to a configured word (for `--explain`)."""
    return [
        rule
        for (pattern, _), rule in zip(_SPELLING_ALTERNATES, _ALTERNATE_RULES, strict=True)
        if pattern.search(word)
    ]


def readings(word: str, guess: Guess = GUESS_NONE) -> tuple[Reading, ...]:
    """The readings of a configured word, the spelling as configured first; keys distinct.

    Not cached: its callers (`_given_part`, `_surname_part`) are, and a cache here
    would hold every word of every watch list once more.
    """
    keys = TOKEN_KEYS
    primary = keys[word]
    configured = Reading(word, primary, "as configured")
    alternate = _ANY_ALTERNATE.search(word) is not None
    if not alternate and guess == GUESS_NONE and (word.isascii() or not has_hard_sign(word)):
        return (configured,)  # most words: no rule gives them another reading
    found = {primary: configured}
    spellings = {word}
    if alternate:
        for pattern, replacement in _SPELLING_ALTERNATES:
            spellings |= {pattern.sub(replacement, spelling) for spelling in spellings}
    if len(spellings) > 1:
        rule = "; ".join(alternate_rules(word))
        for spelling in spellings:
            key = keys[spelling]
            if key not in found:
                found[key] = Reading(spelling, key, rule)
    guessed: list[tuple[str, str, bool]] = []
    if not word.isascii():
        guessed += [(spelling, rule, False) for spelling, rule in cyrillic_readings(word)]
    if guess != GUESS_NONE and is_latin(word):
        guessed += [
            (spelling, rule, False)
            for spelling, rule in latin_readings(word, stripped=guess == GUESS_STRIPPED)
        ]
        guessed += [(spelling, rule, True) for spelling, rule in transcriptions_of(word)]
    for spelling, rule, transcribed in guessed:
        key = keys[spelling]
        if key and key not in found:
            found[key] = Reading(spelling, key, rule, transcribed)
    return tuple(found.values())


def spelling_keys(word: str) -> tuple[str, ...]:
    """The key of a configured word, then the keys of its other plausible readings.

    Text is folded one way only (x → ks, c → k, j → ж, h → х, г → g), so the
    configured spelling carries the alternatives: "Xolmatov" is searched as
    ksolmatov and as holmatov, which is how Холматов folds.
    """
    primary, *others = (reading.key for reading in readings(word))
    return (primary, *sorted(others))


def person_guess(spellings: tuple[str, ...]) -> Guess:
    """Guessed readings only for a person configured without any Cyrillic spelling."""
    for spelling in spellings:
        if not spelling.isascii() and CYRILLIC_LETTER.search(spelling):
            return GUESS_NONE
    return GUESS_STRIPPED if looks_stripped(spellings) else GUESS_LATIN


@dataclass(frozen=True, slots=True)
class SurnamePart:
    """One token of a surname: the stems it is searched by and the endings each allows."""

    stems: tuple[tuple[str, StemClass], ...]
    transcribed: frozenset[str] = frozenset()
    """Stems that only a transcription reading gives (variant "transcribed")."""
    variants: frozenset[str] = frozenset()
    """Stems that only the BGN u = ъ reading gives, each the first stem with some u
    read as a: searched as patterns of the first stem's surname group rather than
    as groups of their own (a Latin-only surname with three u has eight such stems)."""

    def ending_of(self, token_key: str) -> str | None:
        """The case ending a text token adds to this part, or None if it is another word."""
        for stem, stem_class in self.stems:
            if token_key.startswith(stem):
                rest = token_key[len(stem) :]
                if rest in stem_class.endings:
                    return rest
        return None

    def is_nominative(self, token_key: str) -> bool:
        """Whether a token has the configured (uninflected) form of this part."""
        return any(token_key == stem + stem_class.nominative for stem, stem_class in self.stems)


@dataclass(frozen=True, slots=True)
class GivenPart:
    """One token of a given name, with the initials that may stand for it."""

    keys: tuple[str, ...]
    cores: tuple[str, ...]
    initials: frozenset[str]
    native: tuple[str, ...] = ()
    """Cores of the readings that are not transcriptions."""

    def transcribed(self, token_key: str) -> bool:
        """Whether only a transcription reading of the name accepts this token."""
        return not any(matches_given_name(core, token_key) for core in self.native)

    def accepts(self, token_key: str) -> bool:
        return any(matches_given_name(core, token_key) for core in self.cores)

    def accepts_initial(self, token_key: str) -> bool:
        return token_key in self.initials


@dataclass(slots=True, eq=False)
class NameForm:
    """One spelling of the name of one person of one watch list (compared by identity).

    Never changed once built, but not frozen: a frozen dataclass sets each field
    through object.__setattr__, which makes building one five times dearer, and a
    compile builds one per configured spelling (180,000 for 100,000 names).
    """

    list_index: int
    person: int
    """Index of the person in its watch list."""
    given: tuple[GivenPart, ...]
    """Empty for a one-word name, which then matches on its own."""
    surname: tuple[SurnamePart, ...]
    is_alias: bool
    surface: Surface
    """The configured words, case-folded, to tell an exact mention from a variant."""
    surname_alone: bool
    """The person's match_surname_alone: a bare surname counts even without the full name."""


@lru_cache(maxsize=100_000)
def _surname_part(token: str, guess: Guess) -> SurnamePart:
    found = readings(token, guess)
    if len(found) == 1:  # most words
        return SurnamePart((split_stem(found[0].key, token),))
    stems = [split_stem(reading.key, token) for reading in found]
    unique = tuple(dict.fromkeys(stems))
    if len(unique) == 1:
        return SurnamePart(unique)
    native: set[str] = set()
    by_u: set[str] = set()
    for (stem, _), reading in zip(stems, found, strict=True):
        if reading.rule == BULGARIAN_U_RULE:
            by_u.add(stem)
        elif not reading.transcribed:
            native.add(stem)
    first, first_class = unique[0]
    variants = frozenset(
        stem
        for stem, stem_class in unique
        if stem in by_u and stem not in native and stem_class == first_class
        if len(stem) == len(first)
    )
    return SurnamePart(
        stems=unique,
        transcribed=frozenset(stem for stem, _ in unique if stem not in native | by_u),
        variants=variants,
    )


@lru_cache(maxsize=100_000)
def _given_part(token: str, guess: Guess) -> GivenPart:
    found = readings(token, guess)
    keys = tuple(reading.key for reading in found)
    initials = {key[:length] for key in keys for length in (1, 2, 3) if len(key) > length}
    initials.add(TOKEN_KEYS[token[0]])
    cores = tuple(dict.fromkeys(given_name_core(key) for key in keys))
    native = tuple(
        dict.fromkeys(given_name_core(reading.key) for reading in found if not reading.transcribed)
    )
    return GivenPart(keys=keys, cores=cores, initials=frozenset(initials - {""}), native=native)


def _surface(tokens: list[str]) -> tuple[str, ...]:
    """Configured tokens, case-folded and interned: the same words recur across
    thousands of people."""
    return tuple(sys.intern(token.casefold()) for token in tokens)


@lru_cache(maxsize=100_000)
def _given_parts(words: tuple[str, ...], guess: Guess) -> tuple[tuple[GivenPart, ...], Surface]:
    """The parts of given-name words, and their surface; shared across people: the
    same given names recur thousands of times.

    Keyed by the configured words, so that a repeated name is not even tokenised again.
    """
    tokens = [token for word in words for token in tokens_of(word)]
    return tuple(_given_part(token, guess) for token in tokens), _surface(tokens)


@lru_cache(maxsize=100_000)
def _surname_parts(words: tuple[str, ...], guess: Guess) -> tuple[tuple[SurnamePart, ...], Surface]:
    tokens = [token for word in words for token in tokens_of(word)]
    return tuple(_surname_part(token, guess) for token in tokens), _surface(tokens)


def split_name(name: str) -> tuple[list[str], list[str]]:
    """Given-name words and surname words of a configured name.

    "Given Surname" is assumed; "Surname, Given" when there is a comma, and
    "Surname Given Patronymic" (the Russian official order) when the last of
    three or more words is a patronymic, which is then dropped.
    """
    return _split_words(name, name.split())


def _split_words(name: str, words: list[str]) -> tuple[list[str], list[str]]:
    """`split_name`, given the name's words."""
    if "," in name:
        surname, _, given = name.partition(",")
        return given.split(), surname.split()
    if len(words) >= 3 and is_patronymic(TOKEN_KEYS[words[-1]]):
        return words[1:-1], words[:1]
    return words[:-1], words[-1:]


def name_form(
    list_index: int,
    person: int,
    spec: PersonSpec,
    name: str,
    *,
    is_alias: bool,
    guess: Guess = GUESS_NONE,
) -> NameForm | None:
    """The folded form of one configured spelling, or None if it has no words."""
    words = name.split()
    given_words, surname_words = _split_words(name, words)
    given, given_surface = _given_parts(tuple(given_words), guess)
    surname, surname_surface = _surname_parts(tuple(surname_words), guess)
    if not surname:
        return None
    # Tokens never span white space, so the surface of the name is that of its words.
    if "," in name:  # Surname, Given
        surface = surname_surface + given_surface
    elif len(given_words) + len(surname_words) == len(words):
        surface = given_surface + surname_surface
    else:  # a dropped patronymic
        surface = _surface(tokens_of(name))
    return NameForm(list_index, person, given, surname, is_alias, surface, spec.match_surname_alone)


@dataclass(frozen=True, slots=True)
class PersonExclusion:
    """A person-level exclude phrase that contains the surname ("Askarov Street").

    It suppresses only the mentions it covers: the phrase is laid over the text
    so that its surname word sits on the mention's surname.
    """

    cores: tuple[str, ...]
    """Given-name-style cores of the phrase words, compared loosely (улица/улице)."""
    anchor_positions: tuple[int, ...]
    """Positions in the phrase of words that are the watched surname."""

    def covers(self, field: FoldedText, anchor: int) -> int | None:
        """Index of the first text token of the phrase around `anchor`, if it is there."""
        for position in self.anchor_positions:
            start = anchor - position
            if start < 0 or start + len(self.cores) > field.token_count:
                continue
            if all(
                index == position or matches_given_name(core, field.key(start + index))
                for index, core in enumerate(self.cores)
            ):
                return start
        return None


def person_exclusion(phrase: str, forms: list[NameForm]) -> PersonExclusion | None:
    """The phrase as an around-the-mention exclusion, or None if it lacks the surname."""
    keys = [TOKEN_KEYS[token] for token in tokens_of(phrase)]
    anchors = tuple(
        index
        for index, key in enumerate(keys)
        if any(form.surname[-1].ending_of(key) is not None for form in forms)
    )
    if not anchors:
        return None
    return PersonExclusion(
        cores=tuple(given_name_core(key) for key in keys), anchor_positions=anchors
    )


@dataclass(slots=True, eq=False)
class CompiledPerson:
    """A watched person ready for matching (never changed once built; not frozen, as
    `NameForm` is not, because one is built per configured person)."""

    spec: PersonSpec
    forms: tuple[NameForm, ...]
    exclusions: tuple[PersonExclusion, ...]
    entry_exclusions: tuple[str, ...]
    """Exclude phrases without the surname: any occurrence in the entry silences the person."""


def compile_person(list_index: int, index: int, spec: PersonSpec) -> CompiledPerson:
    """Fold a configured person; raises ValueError if its name has no words."""
    aliases = spec.aliases
    guess = person_guess((spec.name, *aliases))
    canonical = name_form(list_index, index, spec, spec.name, is_alias=False, guess=guess)
    if canonical is None:
        raise ValueError(f"person {spec.id!r}: name {spec.name!r} has no words to match")
    forms = [canonical]
    for alias in aliases:
        form = name_form(list_index, index, spec, alias, is_alias=True, guess=guess)
        if form is not None:
            forms.append(form)
    if not spec.exclude:
        return CompiledPerson(spec, tuple(forms), (), ())
    exclusions: list[PersonExclusion] = []
    entry_exclusions: list[str] = []
    for phrase in spec.exclude:
        exclusion = person_exclusion(phrase, forms)
        if exclusion is not None:
            exclusions.append(exclusion)
        elif tokens_of(phrase):
            entry_exclusions.append(phrase)
    return CompiledPerson(spec, tuple(forms), tuple(exclusions), tuple(entry_exclusions))
