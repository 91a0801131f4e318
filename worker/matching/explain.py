"""Why a hit matched: the rule chain from a configured spelling to each word of the text.

For `rightswatch match --explain`. The chain is worked out again from the hit
and the watch list (the matcher keeps no record of how it got there): for each
word of the hit, the configured spelling and word it stands for, the reading
of that word (as configured, h read as Cyrillic g, stripped diacritics, a transcription
rule…), the folded key of the reading, and the text word's own key with the
ending that the rule allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from worker.core.types import Hit, PersonSpec, WatchlistSpec

from .endings import given_name_core, is_patronymic, matches_given_name, split_stem
from .folding import TOKEN_KEYS, tokens_of
from .names import person_guess, readings, split_name
from .terms import Mode, parse_term


@dataclass(frozen=True, slots=True)
class Step:
    """How one word of the hit was matched."""

    text: str
    """The word as it stands in the text."""
    text_key: str
    configured: str
    """The configured name, alias or term the word belongs to."""
    word: str
    """The configured word."""
    reading: str
    """The spelling of the configured word that matched (often the word itself)."""
    rule: str
    folded: str
    """The folded key (or stem) of the reading."""
    ending: str
    """What the text word adds to the folded key, and what allows it."""

    def as_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "text_key": self.text_key,
            "configured": self.configured,
            "word": self.word,
            "reading": self.reading,
            "rule": self.rule,
            "folded": self.folded,
            "ending": self.ending,
        }

    def __str__(self) -> str:
        return (
            f"{self.configured!r}: {self.word!r} → reading {self.reading!r} ({self.rule})"
            f" → folded {self.folded!r} → text {self.text!r} ({self.text_key}{self.ending})"
        )


def explain(watchlists: Sequence[WatchlistSpec], hit: Hit) -> list[Step]:
    """The rule chain of each word of a hit, in text order (empty if not found again)."""
    spec = next((wl for wl in watchlists if wl.id == hit.watchlist_id), None)
    if spec is None:
        return []
    if hit.kind == "keyword":
        return _keyword_steps(hit)
    person = next((p for p in spec.people if p.name == hit.term), None)
    return [] if person is None else _person_steps(person, hit)


def _keyword_steps(hit: Hit) -> list[Step]:
    try:
        term = parse_term(hit.term)
    except ValueError:  # a near rule's label ("A ~3~ B"): its terms are not parsed back
        return []
    tokens = tokens_of(hit.text)
    steps: list[Step] = []
    for token, word in zip(tokens, term.words, strict=False):
        key = TOKEN_KEYS[token]
        rest = key[len(word.key) :] if key.startswith(word.key) else key
        ending = {
            Mode.EXACT: " (the whole word)",
            Mode.PREFIX: f" = {word.key} + {rest!r} (prefix *)",
            Mode.ENDINGS: f" = {word.key} + {rest!r} (an ending of the word)",
        }[word.mode]
        steps.append(Step(token, key, hit.term, word.key, word.key, "keyword", word.key, ending))
    return steps


def _person_steps(person: PersonSpec, hit: Hit) -> list[Step]:
    spellings = (person.name, *person.aliases)
    guess = person_guess(spellings)
    tokens = tokens_of(hit.text)
    best: list[Step] = []
    for spelling in spellings:
        given, surname = split_name(spelling)
        given_words = [token for word in given for token in tokens_of(word)]
        surname_words = [token for word in surname for token in tokens_of(word)]
        steps = [
            step
            for token in tokens
            if (step := _word_step(token, spelling, given_words, surname_words, guess)) is not None
        ]
        if len(steps) > len(best):
            best = steps
        if len(steps) == len(tokens):
            break
    return best


def _word_step(
    token: str, spelling: str, given: list[str], surname: list[str], guess: int
) -> Step | None:
    key = TOKEN_KEYS[token]
    for word in surname:
        for reading in readings(word, guess):
            stem, stem_class = split_stem(reading.key, word)
            rest = key[len(stem) :]
            if key.startswith(stem) and rest in stem_class.endings:
                ending = f" = {stem} + {rest!r}, an ending of {stem_class.name} surnames"
                return Step(
                    token, key, spelling, word, reading.spelling, reading.rule, stem, ending
                )
    for word in given:
        for reading in readings(word, guess):
            core = given_name_core(reading.key)
            if matches_given_name(core, key):
                ending = f" = {core} + {key[len(core) :]!r}, a given-name ending"
                return Step(
                    token, key, spelling, word, reading.spelling, reading.rule, core, ending
                )
            if len(key) <= 3 and reading.key.startswith(key):
                return Step(
                    token, key, spelling, word, reading.spelling, reading.rule, reading.key,
                    " (an initial)",
                )  # fmt: skip
    if is_patronymic(key):
        return Step(token, key, spelling, "", "", "patronymic, skipped", "", "")
    return None
