# ruff: noqa: RUF001 -- Cyrillic and other look-alike letters are the point here
"""Other plausible readings of a configured spelling, for the scripts it was not given in.

Text is folded one way only (see `folding`), so whatever a spelling may stand
for is worked out on the configured side, as spellings whose keys are searched
too. Three families, each a set of letter rules rather than a list of names:

* Bulgarian ъ: BGN/PCGN writes it u (Dzhonsun = Джонсън), others a (Krastev)
  or drop it (ISO 9 ʺ, stripped: Dzonsn). A Latin u is also read as ъ (folded a),
  a word-final consonant + n/l/r also with a vowel before it; a configured ъ is
  also read as u and dropped.
* Stripped diacritics of scholarly and Central-European spellings (ISO 9, ICU
  "Any-Latin; Latin-ASCII", Czech/Slovak/Croatian): z may be ž, s š, c ц or č,
  u ю ("Sefcovic" = Šefčovič = Шефчович, "Trudo" = Trûdo = Трюдо). Only for
  words without an h digraph: a spelling that writes sh, zh, ch or kh means its
  plain s, z and c.
* Transcription by ear of English, French and German names into Russian,
  Ukrainian and Bulgarian (Theresa May = Тереза Мэй, David = Дейвид, Guy = Ги,
  Gove = Гоув, Amber = Эмбер/Амбър), as the Europe Media Monitor does: letter-group
  rules per source language, giving a Latin spelling of the Cyrillic that is then
  folded like any other.

These readings are guesses, so `compile_person` uses the Latin ones only for
people with no Cyrillic spelling configured: a configured Cyrillic spelling says
how the name is written in Cyrillic better than any rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import product
from typing import Final

CYRILLIC_LETTER: Final = re.compile(r"[\u0400-\u04ff]")
_LATIN_LETTER: Final = re.compile(r"[a-zA-Z\u00c0-\u024f]")

HARD_SIGN_VOWEL: Final = re.compile(r"ъ(?![еёюя])")
"""Bulgarian ъ, the vowel: not before е, ё, ю, я (where it is the Russian hard sign)."""

_MAX_COMBINATIONS: Final = 48
"""Past this many letter choices in one word, only one kind of change at a time is tried."""

_STRIPPED_CHOICES: Final = {
    "z": ("z", "zh"),
    "s": ("s", "sh"),
    "c": ("c", "ts", "ch"),
    "u": ("u", "yu", "a"),
}
"""Per ambiguous letter of a stripped spelling, what it may have been (u: also ъ)."""

_STRIPPED_EVIDENCE: Final = re.compile(r"c(?![hk])|dz(?!h)|(?<=[aeiouy])j$|[ʹʺ]")
"""What only a scholarly or Central-European romanisation writes: c for ц or č (Sefcovic,
Cvetkov), dz for дж (Dzastin), final j for й (Sergej), the ISO 9 soft and hard signs.
BGN/PCGN and English-style spellings never do, and there s, z and c are meant as written."""

_BULGARIAN_U: Final[dict[str, tuple[str, ...]]] = {"u": ("u", "a")}
"""A u after a consonant may be Bulgarian ъ as BGN/PCGN writes it (Dzhonsun = Джонсън,
Purvanov = Първанов), which the Russian press writes ы (Пырванов)."""

BULGARIAN_U_RULE: Final = "u read as Bulgarian ъ (BGN/PCGN), in Russian ы"

_DROPPED_HARD_SIGN: Final = re.compile(r"(?<=[^aeiouy])([nlr])$")
"""Dzonsn, Aleksandr: a vowel (ъ) may have been dropped before a final n, l or r."""

_FINAL_HARD_SIGN: Final = re.compile(r"([^aeiouy])u([nlr])$")
"""Aleksandur = Александър = Александр: the Russian form has no vowel there."""

_NATIVE_MORPHOLOGY: Final = re.compile(
    r"(?:ov|ev|ova|eva|in|ina|sk[iy]y?|skaya|skaia|enko|[yi]?uk|ich|vich|ovna|evna|uly|kyzy|"
    r"og[lh]?[uy]|zoda|zade|bek|bekov|bekova)$"
)
"""Slavic and Turkic surname and patronymic endings: such a name is not an English, French
or German one, so it is not transcribed as one."""


def has_cyrillic(text: str) -> bool:
    return CYRILLIC_LETTER.search(text) is not None


def is_latin(word: str) -> bool:
    if word.isascii():
        return not word.isdigit()
    return not has_cyrillic(word) and _LATIN_LETTER.search(word) is not None


def looks_stripped(spellings: Iterable[str]) -> bool:
    """Whether a person's Latin spellings show a scholarly or Central-European romanisation."""
    return any(_STRIPPED_EVIDENCE.search(spelling.lower()) for spelling in spellings)


def _position_rule(letter: str) -> str:
    if letter == "u":
        return r"(?<=[^aeiouy])u(?!h)"
    return rf"{letter}(?![hk])" if letter == "c" else rf"{letter}(?!h)"


def _where(table: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """Where `_choices` rewrites the letters of `table`: not before h (sh, ch, zh),
    a c not before k, a u neither first nor after a vowel."""
    return re.compile("|".join(map(_position_rule, table)))


_STRIPPED_WHERE: Final = _where(_STRIPPED_CHOICES)
_BULGARIAN_U_WHERE: Final = _where(_BULGARIAN_U)


def _choices(
    word: str, table: dict[str, tuple[str, ...]], rewritable: re.Pattern[str]
) -> list[str]:
    """Every way of rewriting the letters of `word` that `table` lists, where `rewritable`
    finds them."""
    positions = [match.start() for match in rewritable.finditer(word)]
    if not positions:
        return []
    options = [table[word[index]] for index in positions]
    count = 1
    for option in options:
        count *= len(option)
    picks: Iterable[tuple[str, ...]]
    if count <= _MAX_COMBINATIONS:
        picks = product(*options)
    else:
        base = tuple(option[0] for option in options)
        singles = [
            tuple(choice if at == where else base[at] for at in range(len(base)))
            for where, option in enumerate(options)
            for choice in option[1:]
        ]
        uniform = [
            tuple(
                replacement if word[index] == letter else base[at]
                for at, index in enumerate(positions)
            )
            for letter, alternatives in table.items()
            for replacement in alternatives[1:]
        ]
        picks = singles + uniform
    spellings = []
    for pick in picks:
        letters = list(word)
        for index, replacement in zip(positions, pick, strict=True):
            letters[index] = replacement
        spellings.append("".join(letters))
    return spellings


def latin_readings(word: str, *, stripped: bool) -> list[tuple[str, str]]:
    """(spelling, rule) for the Cyrillic a Latin word may stand for.

    `stripped`: the person's spellings look scholarly with the diacritics taken
    off, so every s, z, c and u is read in each of its possible values.
    """
    lowered = word.lower()
    found: list[tuple[str, str]] = []
    if stripped:
        found += [
            (spelling, "stripped diacritics (z=ž, s=š, c=ц/č, u=ю/ъ)")
            for spelling in _choices(lowered, _STRIPPED_CHOICES, _STRIPPED_WHERE)
        ]
    else:
        found += [
            (spelling, BULGARIAN_U_RULE)
            for spelling in _choices(lowered, _BULGARIAN_U, _BULGARIAN_U_WHERE)
        ]
    dropped = _DROPPED_HARD_SIGN.sub(r"a\1", lowered)
    if dropped != lowered:
        found.append((dropped, "dropped Bulgarian ъ before a final n, l or r"))
    russian = _FINAL_HARD_SIGN.sub(r"\1\2", lowered)
    if russian != lowered:
        found.append((russian, "final Bulgarian -ър/-ън/-ъл as Russian -р/-н/-л"))
    return found


def has_hard_sign(word: str) -> bool:
    """Whether a word has a ъ or Ъ, without which `cyrillic_readings` has none."""
    return "ъ" in word or "Ъ" in word


def cyrillic_readings(word: str) -> list[tuple[str, str]]:
    """(spelling, rule): a configured Bulgarian ъ also read as u (BGN) and dropped."""
    lowered = word.lower()
    if "ъ" not in lowered or not HARD_SIGN_VOWEL.search(lowered):
        return []
    return [
        (HARD_SIGN_VOWEL.sub("у", lowered), "ъ read as u (BGN/PCGN)"),
        (HARD_SIGN_VOWEL.sub("ы", lowered), "ъ read as ы (Russian press)"),
        (HARD_SIGN_VOWEL.sub("", lowered), "ъ dropped (ISO 9 ʺ without diacritics)"),
    ]


_V: Final = "aeiouy"
_C: Final = "bcdfgjklmnpqrstvwxz"

_ENGLISH: Final = (
    (r"ichael", "aikl"),  # Michael = Майкл
    (r"(?<=[aeiou])h(?=[^aeiouy])", ""),  # Johnson, John = Джонсон, Джон
    (r"^chr", "kr"),  # Christopher = Кристофер
    (r"ph", "f"),
    (r"ay$", "ei"),  # May = Мэй/Мей
    (r"eir$", "ir"),  # Keir = Кир
    (r"ey$", "i"),  # Ashley = Эшли
    (rf"(?<=[{_V}])s(?=[{_V}])", "z"),  # Theresa = Тереза, Rose = Роуз
    (rf"^([{_C}]+)a(?=[{_C}][{_V}])", r"\1ei"),  # David, Davis = Дейвид, Дейвис
    (rf"^([{_C}]*)i(?=[{_C}]e$)", r"\1ai"),  # Mike, Clive = Майк, Клайв
    (rf"o(?=[{_C}]e$)", "ou"),  # Gove, Jones = Гоув, Джоунс
    (rf"u(?=[{_C}][{_C}]|[{_C}]$)", "a"),  # Rudd, Trump, Hunt = Радд, Трамп, Хант
    (rf"^a(?=[{_C}][{_C}])", "e"),  # Amber, Ashley = Эмбер, Эшли
    (rf"(?<=[{_C}])e$", ""),  # silent final e
    (r"ee|ea(?=[^aeiou])", "i"),  # Steel, Dean = Стил, Дин
    (r"oo", "u"),  # Hood = Худ
    (r"ow$", "ou"),  # Bow = Боу
    (r"^wh", "u"),  # Whitman = Уитмен
    (r"^w", "u"),  # Williams = Уильямс
    (rf"y(?=[{_C}])", "i"),  # Corbyn = Корбин
)
"""English letter groups as Russian and Ukrainian press transcribe them."""

_BULGARIAN_FROM_ENGLISH: Final = (
    (r"ichael", "aikal"),  # Майкъл
    (r"(?<=[aeiou])h(?=[^aeiouy])", ""),  # Джонсън
    (r"eir$", "iar"),  # Keir = Киър
    (r"(?<=[^aeiou])er$", "ar"),  # Amber = Амбър
    (r"(?<=[^aeiou])el$", "al"),  # Mitchell = Мичъл
    (rf"(?<=[{_C}])o(?=[{_C}]+$)", "a"),  # Hammond, Johnson = Хамънд, Джонсън
    (rf"u(?=[{_C}][{_C}]|[{_C}]$)", "a"),  # Rudd = Ръд
    (rf"(?<=[{_V}])s(?=[{_V}])", "z"),
    (r"ay$", "ei"),
    (rf"o(?=[{_C}]e$)", "ou"),
    (rf"(?<=[{_C}])e$", ""),
)
"""English as Bulgarian transcribes it: ъ for the unstressed and short vowels."""

_BGN_FROM_ENGLISH: Final = (
    (r"(?<=[aeiou])h(?=[^aeiouy])", ""),
    (rf"(?<=[{_C}])o(?=[{_C}]+$)", "u"),  # Johnson = Джонсън = Dzhonsun
    (r"(?<=[^aeiou])er$", "ur"),  # Amber = Амбър = Ambur
)
"""The Bulgarian transcription as BGN/PCGN romanises it back (ъ = u)."""

_FRENCH: Final = (
    (r"^gu(?=[eiy])", "g"),  # Guy = Ги
    (r"eau|au", "o"),  # Renault = Рено
    (r"(?<=[^aeoqg])u", "iu"),  # Trudeau = Трюдо
    (r"ou", "u"),
    (r"oi", "ua"),  # François = Франсуа
    (r"ch", "sh"),  # Michel = Мишель
    (r"^j|(?<=[^d])j", "zh"),  # Jean = Жан
    (r"gn", "ni"),
    (r"qu", "k"),
    (r"ain$|in$", "en"),  # Alain = Ален
    (r"ean$", "an"),
    (r"^h", ""),  # Hollande = Олланд
    (r"ier$", "ie"),  # Barnier = Барнье
    (rf"(?<=[{_V}])s(?=[{_V}])", "z"),
    (r"(?<=[aeiou])(?:s|t|d|x|z)$", ""),  # silent final consonants (Nicolas Sarkozy keeps z)
    (rf"(?<=[{_C}])e$", ""),
)
"""French as the Cyrillic press writes it."""

_GERMAN: Final = (
    (r"^s(?=[tp])", "sh"),  # Steinmeier = Штайнмайер
    (r"ei|ai", "ai"),
    (r"eu|äu", "oi"),  # Deutsch = Дойч
    (r"(?<![aeiou])ie", "i"),
    (r"^j", "y"),  # Jürgen = Юрген
    (r"z", "ts"),
    (r"^v|(?<=[^aeiou])v", "f"),  # Volker = Фолькер
    (r"(?<=[aeiou])h(?=[^aeiou]|$)", ""),  # Kohl = Коль
    (r"(?<=[aeiou])s(?=[aeiou])|^s(?=[aeiou])", "z"),  # Sommer = Зоммер
)
"""German as the Cyrillic press writes it."""

_DUTCH: Final = (
    (r"f(?=st)", "v"),  # Verhofstadt = Верховстад
    (r"dt$", "d"),
    (r"oe", "u"),  # Hoekstra = Хукстра
    (r"ij", "ei"),  # Rijk = Рейк
)
"""Dutch and Flemish: the spoken forms some papers print."""

_ENGLISH_E: Final = tuple(
    (pattern, r"\1e") if replacement == r"\1ei" else (pattern, replacement)
    for pattern, replacement in _ENGLISH
)
"""English with the open a as э rather than ей (David = Дэвид)."""

_DUTCH_SPELLED: Final = ((r"dt$", "d"),)
"""Verhofstadt = Верхофстад."""

_RULE_SETS: Final = tuple(
    (label, tuple((re.compile(pattern), replacement) for pattern, replacement in rules))
    for label, rules in (
        ("English → Russian/Ukrainian transcription", _ENGLISH),
        ("English → Russian transcription (э)", _ENGLISH_E),
        ("English → Bulgarian transcription", _BULGARIAN_FROM_ENGLISH),
        ("English → Bulgarian transcription, BGN/PCGN", _BGN_FROM_ENGLISH),
        ("French → Cyrillic transcription", _FRENCH),
        ("German → Cyrillic transcription", _GERMAN),
        ("Dutch → Cyrillic transcription", _DUTCH),
        ("Dutch → Cyrillic transcription", _DUTCH_SPELLED),
    )
)


def transcriptions(word: str) -> list[tuple[str, str]]:
    """(spelling, rule set): how the Cyrillic press may have transcribed a Latin word."""
    lowered = word.lower()
    found: list[tuple[str, str]] = []
    if _NATIVE_MORPHOLOGY.search(lowered):
        return found
    for label, rules in _RULE_SETS:
        spelling = lowered
        for pattern, replacement in rules:
            spelling = pattern.sub(replacement, spelling)
        if spelling != lowered and spelling:
            found.append((spelling, label))
            if spelling.startswith("sht"):  # Bulgarian щ is шт (Щайнмайер)
                found.append(("shch" + spelling[3:], label))
    return found
