"""Find mentions of watched people around automaton hits on their surnames.

The automaton finds surname stems. All name forms, of all watch lists, whose
last surname word has the same stem and declension class share one
`SurnameGroup`, which indexes them by the given name that would stand next to
the surname — so one hit on "askarov" costs a few dictionary lookups, not one
check per watched Askarov.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Final

from .endings import GIVEN_NAME_REST, StemClass, is_patronymic
from .folding import FoldedText, Gap, is_possessive
from .names import GivenPart, NameForm

NAME_GAPS: Final = frozenset({Gap.SPACE, Gap.HYPHEN})
"""Gaps allowed inside a name (Rimsky-Korsakov, Azimjan Askarov)."""
REVERSED_GAPS: Final = frozenset({Gap.SPACE, Gap.COMMA})
"""Gaps allowed between a surname and the given name after it (Askarov, Azimjan)."""

SCORES: Final = {
    "exact": 1.0,
    "alias": 1.0,
    "keyword": 1.0,
    "translit": 0.95,
    "transcribed": 0.85,
    "inflected": 0.9,
    "possessive": 0.9,
    "near": 0.9,
    "reversed": 0.85,
    "initial": 0.75,
    "surname": 0.7,
}
"""How sure a hit is, by the rule that produced it."""

_MAX_GIVEN_REST: Final = 5
"""Longest text that `GIVEN_NAME_REST` accepts after a given-name core."""


@dataclass(frozen=True, slots=True)
class Mention:
    """A stretch of tokens that names a watched person."""

    form: NameForm
    field: FoldedText
    first: int
    last: int
    anchor: int
    """The token of the last surname word, where exclude phrases are laid."""
    variant: str
    trailing_dot: bool = False
    """Whether the mention ends with an initial whose full stop belongs to it."""

    @property
    def identifies(self) -> bool:
        """Whether the mention names the person by itself (not a bare surname)."""
        return self.variant != "surname"

    @property
    def score(self) -> float:
        return SCORES[self.variant]

    def span(self) -> tuple[int, int]:
        start, end = self.field.span(self.first, self.last)
        return start, end + self.trailing_dot


_GivenIndex = dict[str, tuple[NameForm, ...]]
"""Tuples, not lists: there are a few hundred thousand, most holding one form."""


class SurnameGroup:
    """Every name form whose last surname word has one stem and declension class."""

    __slots__ = (
        "after",
        "alone",
        "before",
        "compound",
        "endings",
        "forms",
        "oblique",
        "standalone",
        "stem_length",
        "transcribed",
    )

    def __init__(self, stem: str, stem_class: StemClass) -> None:
        self.stem_length = len(stem)
        self.endings = stem_class.endings
        self.oblique = stem_class.oblique
        self.forms: list[NameForm] = []
        # The next three are the shared empty tuple until a form needs them: most
        # groups never do, and 30,000 groups' empty lists would weigh 5 MB.
        self.alone: Sequence[NameForm] = ()
        """Forms whose bare surname counts on its own (match_surname_alone)."""
        self.standalone: Sequence[NameForm] = ()
        """One-word names, complete on their own."""
        self.compound: Sequence[NameForm] = ()
        """Forms whose surname has several words; checked one by one."""
        self.before: _GivenIndex = {}
        """Given-name core of the word that would stand just before the surname."""
        self.after: _GivenIndex = {}
        """Given-name core of the word that would stand just after it (reversed order)."""
        self.transcribed: set[NameForm] | None = None
        """Forms that have this stem only by a transcription reading of the surname
        (None while there are none: most groups have none)."""

    def add(self, form: NameForm, ends: GivenEnds, transcribed: bool) -> None:
        """Index a form; `ends` is `given_ends(form.given)`, worked out once per given names."""
        self.forms.append(form)
        if transcribed:
            if self.transcribed is None:
                self.transcribed = set()
            self.transcribed.add(form)
        if form.surname_alone:
            self.alone = _appended(self.alone, form)
        if len(form.surname) > 1:
            self.compound = _appended(self.compound, form)
        elif form.given:
            before, after = self.before, self.after
            for core in ends[0]:
                before[core] = (*before.get(core, ()), form)
            for core in ends[1]:
                after[core] = (*after.get(core, ()), form)
        else:
            self.standalone = _appended(self.standalone, form)

    def _transcribed(self, form: NameForm) -> bool:
        return self.transcribed is not None and form in self.transcribed

    def accepts(self, rest: str) -> bool:
        """Whether what follows the stem in a token is an ending of this group's class."""
        return rest in self.endings

    def mentions(self, field: FoldedText, anchor: int) -> list[Mention]:
        """Mentions that identify a person, with the last surname word at `anchor`.

        The caller has checked `accepts`. Bare-surname mentions are not listed
        here; the engine adds them once it knows who is identified in the entry.
        A surname joined by a hyphen to a word after it is part of a
        double-barrelled name (Тереза Мэй-Ларсен), so nothing is found.
        """
        if continues_with_hyphen(field, anchor):
            return []
        found = [
            Mention(
                form,
                field,
                anchor,
                anchor,
                anchor,
                plain_variant(form, field, [], anchor, self._transcribed(form)),
            )
            for form in self.standalone
        ]
        for form in self.compound:
            mention = compound_mention(form, field, anchor)
            if mention is not None:
                found.append(mention)
        if self.before:
            found.extend(self._with_given_names(field, anchor))
        return found

    def _with_given_names(self, field: FoldedText, anchor: int) -> list[Mention]:
        found: list[Mention] = []
        named: set[NameForm] = set()
        inflected = field.key(anchor)[self.stem_length :] in self.oblique
        for end in _given_name_ends(field, anchor):
            for form in _lookup(self.before, field.key(end)):
                for given in given_sequences(form):
                    start = end - len(given) + 1
                    if (
                        form not in named
                        and _given_fit(given, field, start, end)
                        and not (inflected and _uninflected_man(given, field, start))
                    ):
                        named.add(form)
                        variant = plain_variant(
                            form,
                            field,
                            list(range(start, end + 1)),
                            anchor,
                            self._transcribed(form),
                        )
                        found.append(Mention(form, field, start, anchor, anchor, variant))
        following = anchor + 1
        if following < field.token_count and field.gap(anchor) in REVERSED_GAPS:
            for form in _lookup(self.after, field.key(following)):
                for given in given_sequences(form):
                    end = anchor + len(given)
                    if (
                        form not in named
                        and _given_fit(given, field, following, end)
                        and not (inflected and _uninflected_man(given, field, following))
                    ):
                        named.add(form)
                        found.append(Mention(form, field, anchor, end, anchor, "reversed"))
        found.extend(self._with_initials(field, anchor, named))
        return found

    def _with_initials(self, field: FoldedText, anchor: int, named: set[NameForm]) -> list[Mention]:
        found: list[Mention] = []
        before = initials_before(field, anchor)
        if before is not None:
            initial = field.key(before)
            for form in self.forms:
                if form not in named and form.given and form.given[0].accepts_initial(initial):
                    named.add(form)
                    found.append(Mention(form, field, before, anchor, anchor, "initial"))
        after = initials_after(field, anchor)
        if after is not None:
            initial = field.key(anchor + 1)
            for form in self.forms:
                if form not in named and form.given and form.given[0].accepts_initial(initial):
                    named.add(form)
                    found.append(
                        Mention(form, field, anchor, after, anchor, "initial", trailing_dot=True)
                    )
        return found


def _appended(forms: Sequence[NameForm], form: NameForm) -> list[NameForm]:
    """`forms` with `form` added: the list itself, or a new one for the empty tuple."""
    if isinstance(forms, list):
        forms.append(form)
        return forms
    return [form]


GivenEnds = tuple[tuple[str, ...], tuple[str, ...]]
"""Given-name cores that may stand just before a surname, and just after it."""


def given_ends(given: tuple[GivenPart, ...]) -> GivenEnds:
    """The cores of the last given name (of all of them, or of the first alone, see
    `given_sequences`) and those of the first; both empty for a one-word name."""
    if not given:
        return (), ()
    first = given[0].cores
    if len(given) == 1:
        return first, first
    return tuple(dict.fromkeys((*given[-1].cores, *first))), first


def given_sequences(form: NameForm) -> tuple[tuple[GivenPart, ...], ...]:
    """All given names, or just the first one (middle names are often dropped)."""
    if len(form.given) > 1:
        return form.given, form.given[:1]
    return (form.given,)


def _given_name_ends(field: FoldedText, first: int) -> list[int]:
    """Tokens where given names before the surname may end: just before it, or
    before a patronymic (Азимжан Абдуллаевич Аскаров)."""
    before = first - 1
    if before < 0 or field.gap(before) not in NAME_GAPS:
        return []
    ends = [before]
    if (
        before >= 1
        and field.gap(before) == Gap.SPACE
        and field.gap(before - 1) in NAME_GAPS
        and is_patronymic(field.key(before))
    ):
        ends.append(before - 1)
    return ends


def _lookup(index: _GivenIndex, token_key: str) -> list[NameForm]:
    """Forms whose given-name core the token starts with, followed by a case ending."""
    found: list[NameForm] = []
    for length in range(len(token_key), max(1, len(token_key) - _MAX_GIVEN_REST - 1), -1):
        entries = index.get(token_key[:length])
        if entries and GIVEN_NAME_REST.fullmatch(token_key, length):
            found.extend(entries)
    return found


def _given_fit(given: Sequence[GivenPart], field: FoldedText, start: int, end: int) -> bool:
    """Whether tokens start..end are these given names, joined as names are."""
    if start < 0 or end >= field.token_count:
        return False
    return all(field.gap(gap) in NAME_GAPS for gap in range(start, end)) and all(
        part.accepts(field.key(start + offset)) for offset, part in enumerate(given)
    )


def _uninflected_man(given: Sequence[GivenPart], field: FoldedText, start: int) -> bool:
    """Whether a man's given name ending in a consonant stands in the nominative.

    Such names decline with the surname in Russian and Ukrainian (Олега Сенцова),
    so "Oleg Sentsova" is not a form of Oleg Sentsov. Any reading of the name
    counts as its nominative (Oleh is also Oleg). The first part of a hyphenated
    given name stays as it is (Касым-Жомарта Токаева).
    """
    return any(
        key in part.keys
        and key[-1] not in "aeiou"
        and not (index + 1 < start + len(given) and field.gap(index) == Gap.HYPHEN)
        for index, key, part in zip(
            range(start, start + len(given)),
            map(field.key, range(start, start + len(given))),
            given,
            strict=True,
        )
    )


def _is_initial(token: str) -> bool:
    return len(token) <= 3 and token[0].isupper() and (len(token) == 1 or token[1:].islower())


def initials_before(field: FoldedText, first: int) -> int | None:
    """The token of the first initial in "A. Askarov" or "A. A. Askarov"."""
    initial = first - 1
    if initial < 0 or field.gap(initial) != Gap.DOT or not _is_initial(field.token(initial)):
        return None
    if initial >= 1 and field.gap(initial - 1) == Gap.DOT and _is_initial(field.token(initial - 1)):
        return initial - 1
    return initial


def initials_after(field: FoldedText, last: int) -> int | None:
    """The last initial token in "Askarov A." or "Askarov A. A."."""
    initial = last + 1
    if initial >= field.token_count or field.gap(last) not in REVERSED_GAPS:
        return None
    if not (_is_initial(field.token(initial)) and field.followed_by_dot(initial)):
        return None
    second = initial + 1
    if (
        second < field.token_count
        and field.gap(initial) == Gap.DOT
        and _is_initial(field.token(second))
        and field.followed_by_dot(second)
    ):
        return second
    return initial


def compound_surname_start(form: NameForm, field: FoldedText, anchor: int) -> int | None:
    """First token of a several-word surname ending at `anchor` (Rimsky-Korsakov)."""
    first = anchor
    for part in reversed(form.surname[:-1]):
        if first == 0 or field.gap(first - 1) not in NAME_GAPS:
            return None
        if part.ending_of(field.key(first - 1)) is None:
            return None
        first -= 1
    return first


def compound_mention(form: NameForm, field: FoldedText, anchor: int) -> Mention | None:
    """An identifying mention of a form with a several-word surname, checked directly."""
    first = compound_surname_start(form, field, anchor)
    if first is None:
        return None
    if not form.given:
        return Mention(form, field, first, anchor, anchor, plain_variant(form, field, [], first))
    for given in given_sequences(form):
        for end in _given_name_ends(field, first):
            start = end - len(given) + 1
            if _given_fit(given, field, start, end):
                tokens = list(range(start, end + 1))
                variant = plain_variant(form, field, tokens, first)
                return Mention(form, field, start, anchor, anchor, variant)
        if field.gap(anchor) in REVERSED_GAPS and _given_fit(
            given, field, anchor + 1, anchor + len(given)
        ):
            return Mention(form, field, first, anchor + len(given), anchor, "reversed")
    before = initials_before(field, first)
    if before is not None and form.given[0].accepts_initial(field.key(before)):
        return Mention(form, field, before, anchor, anchor, "initial")
    return None


def plain_variant(
    form: NameForm, field: FoldedText, given: list[int], first: int, transcribed: bool = False
) -> str:
    """exact, alias, translit, transcribed, inflected or possessive, for a name in normal order.

    `given` are the tokens before the surname (a patronymic among them is
    ignored); `first` is the first surname token. `transcribed`: the surname
    was found only by a transcription reading; so is a given name that only
    such a reading accepts.
    """
    surname = range(first, first + len(form.surname))
    key = field.key
    if is_possessive(field.token(surname[-1])):
        return "possessive"
    name_tokens = [index for index in given if not is_patronymic(key(index))]
    if transcribed or any(
        part.transcribed(key(index)) for part, index in zip(form.given, name_tokens, strict=False)
    ):
        return "transcribed"
    if any(
        not part.is_nominative(key(index))
        for part, index in zip(form.surname, surname, strict=True)
    ) or any(
        key(index) not in part.keys for part, index in zip(form.given, name_tokens, strict=False)
    ):
        return "inflected"
    surface = tuple(field.token(index).casefold() for index in [*name_tokens, *surname])
    if surface == form.surface:
        return "alias" if form.is_alias else "exact"
    return "translit"


def is_given_name(token_key: str, cores: Set[str]) -> bool:
    """Whether a folded word is a form of one of the given names whose cores are given."""
    return any(
        token_key[:length] in cores and GIVEN_NAME_REST.fullmatch(token_key, length)
        for length in range(len(token_key), max(1, len(token_key) - _MAX_GIVEN_REST - 1), -1)
    )


def names_someone_else(field: FoldedText, first: int, given_cores: Set[str]) -> bool:
    """Whether a surname at token `first` is tied to another given name or initial.

    "Bakyt Askarov" and "B. Askarov" are not bare mentions of Azimjan Askarov
    (had they matched his given name, they would have been full mentions).
    """
    before = first - 1
    if before < 0:
        return False
    token = field.token(before)
    if not token[0].isupper():
        return False
    gap = field.gap(before)
    if gap == Gap.DOT:
        return _is_initial(token)
    return gap in NAME_GAPS and is_given_name(field.key(before), given_cores)


def continues_with_hyphen(field: FoldedText, anchor: int) -> bool:
    """Whether the token at `anchor` is followed by a hyphen and another word."""
    return anchor + 1 < field.token_count and field.gap(anchor) == Gap.HYPHEN


def surname_mention(form: NameForm, field: FoldedText, anchor: int) -> Mention | None:
    """A bare-surname mention of `form` at `anchor`."""
    if continues_with_hyphen(field, anchor):
        return None
    first = compound_surname_start(form, field, anchor)
    if first is None:
        return None
    return Mention(form, field, first, anchor, anchor, "surname")


def without_overlaps(mentions: list[Mention]) -> list[Mention]:
    """The best mention of each stretch of text: full names beat initials beat surnames."""
    kept: list[Mention] = []
    for mention in sorted(mentions, key=lambda m: (-m.score, m.first - m.last)):
        if not any(
            other.field is mention.field
            and other.first <= mention.last
            and mention.first <= other.last
            for other in kept
        ):
            kept.append(mention)
    return kept
