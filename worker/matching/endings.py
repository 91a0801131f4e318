# ruff: noqa: RUF001, RUF003 -- Cyrillic and other look-alike letters are the point here
"""Case endings that a folded name may carry, by the shape of the name.

A watched surname is put in the automaton as a folded stem ("askarov"); a hit
counts only if the rest of the text token is an ending allowed for the stem's
class ("askarova" → "a": yes; "askarovich" → "ich": no). Endings are given in
folded form (see `folding`): Аскаровым and Askarovym both fold to stem + "im".

Derivational suffixes are deliberately absent: -ov/-ev (Askar → Askarov),
-ich/-vna (patronymics), -ka (Petrov → Petrovka, a street), so that a different
name built on the same root never matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_TURKIC_AFTER_CONSONANT: Final = frozenset(
    {
        "nin", "nun", "din", "dun", "tin", "tun",  # genitive (-ning, -дын, -тің)
        "ga", "ge", "go",  # dative (-ga, -ге, -го)
        "di", "du", "ti", "tu",  # accusative
        "da", "de", "do", "ta", "te", "to",  # locative
        "dan", "den", "don", "tan", "ten", "ton", "nan", "nen",  # ablative
        "men", "ben", "pen", "menen", "benen", "penen", "bilan",  # instrumental
    }
)  # fmt: skip
"""Kazakh, Kyrgyz and Uzbek case suffixes written onto a name (Askarovning).

Accusative/genitive forms starting with n plus a vowel only (-ni, -na) are left
out: folded, "Askarovni" is also Аскаровны, the genitive of the patronymic
Аскаровна. Dative -ka/-ke is left out because Petrov + ka is Petrovka.
"""

_TURKIC_AFTER_VOWEL: Final = frozenset(
    {"nin", "nun", "ga", "ge", "go", "da", "de", "do", "dan", "den", "nan", "nen"}
    | {"men", "ben", "bilan", "menen"}
    | {"ni", "nu", "no"}
)
"""After a vowel the Kazakh/Kyrgyz accusative is -ны/-ни/-ну/-нү/-нө (Исмаилованы,
Абдирасулованы); it only follows the vowel of a feminine or vowel-final name, so it
cannot be confused with Аскаровны (consonant + -ны)."""


def _after(vowel: str, suffixes: frozenset[str]) -> frozenset[str]:
    return frozenset(vowel + suffix for suffix in suffixes)


_BELARUSIAN_ADJECTIVE: Final = frozenset({"aga", "amu", "aha"})
"""Belarusian -ага, -аму of a masculine adjective (Бяляцкага), and -aha where the Latin
spelling gives г as h; -ім and -іх fold like the Russian -им, -их already."""


@dataclass(frozen=True, slots=True)
class StemClass:
    """How one kind of name declines: what to cut off to get the stem, and what may follow."""

    name: str
    nominative: str
    """The folded ending that the configured (nominative) form carries."""
    endings: frozenset[str]
    oblique: frozenset[str] = frozenset()
    """Russian/Ukrainian case endings of a man's surname, with which a man's given name
    would be inflected too: "Олег Сенцова" (Oleg + genitive) is not him."""


_MASCULINE_OV: Final = StemClass(
    "masculine -ov/-ev/-in",
    "",
    frozenset({"", "a", "u", "im", "om", "e", "i", "ih", "imi", "s"}) | _TURKIC_AFTER_CONSONANT,
    oblique=frozenset({"a", "u", "im", "om", "e"}),
)
"""Askarov: Аскарова, Аскарову, Аскаровым, Аскарове, Аскаровы, Askarov's, Askarovning."""

_FEMININE_OV: Final = StemClass(
    "feminine -ova/-eva/-ina",
    "a",
    frozenset({"a", "oi", "u", "oiu", "i", "ih", "imi", "as", "ai", "aiu"})
    | _after("a", _TURKIC_AFTER_VOWEL),
)
"""Askarova: Аскаровой, Аскарову, Аскаровою, Аскаровы, Askarova's, Askarovaga;
Belarusian Радзінай, Радзінаю."""

_MASCULINE_ADJECTIVE: Final = StemClass(
    "masculine -sky/-oy",
    "i",
    frozenset({"i", "ogo", "omu", "im", "om", "e", "ih", "imi", "is", "oho"})
    | _BELARUSIAN_ADJECTIVE
    | _after("i", _TURKIC_AFTER_VOWEL),
    oblique=frozenset({"ogo", "omu", "im", "om", "oho"}) | _BELARUSIAN_ADJECTIVE,
)
"""Dostoevsky (stem dostoevsk): Достоевского, Достоевскому, Достоевским, Dostoevsky's;
Ukrainian Latin Zelenskoho; Belarusian Бяляцкага, Бяляцкаму, Bialiatskaha."""

_FEMININE_ADJECTIVE: Final = StemClass(
    "feminine -skaya",
    "aia",
    frozenset({"aia", "aja", "oi", "uiu", "uju", "oiu", "aias", "ai"}),
)
"""Dostoevskaya (stem dostoevsk): Достоевской, Достоевскую, Dostoevskaja; Belarusian
Ціханоўскай."""

_O_OI_ADJECTIVE: Final = StemClass(
    "masculine -oy",
    "oi",
    frozenset({"oi", "ogo", "omu", "im", "om", "ih", "imi", "ois", "oho"})
    | _after("oi", _TURKIC_AFTER_VOWEL),
    oblique=frozenset({"ogo", "omu", "im", "om", "oho"}),
)
"""Tolstoy, Donskoy (stem tolst): Толстого, Толстому, Толстым, Tolstoy's, Tolstoho."""


_O_STEM: Final = StemClass(
    "-o (Ukrainian -enko, -ko)",
    "o",
    frozenset({"o", "a", "u", "ovi", "om", "i", "os"}) | _after("o", _TURKIC_AFTER_VOWEL),
)
"""Shevchenko: Шевченка, Шевченкові, Шевченком (Ukrainian); indeclinable in Russian."""

_IA_STEM: Final = StemClass(
    "-ia/-ya",
    "ia",
    frozenset({"ia", "i", "e", "iu", "ei", "ias"}) | _after("ia", _TURKIC_AFTER_VOWEL),
)
"""Aliya, Beria: Алии, Алие, Алию, Алией."""

_A_STEM: Final = StemClass(
    "-a",
    "a",
    frozenset({"a", "i", "e", "u", "oi", "oiu", "as", "ai", "aiu"})
    | _after("a", _TURKIC_AFTER_VOWEL),
)
"""Gulnara, Kuzma: Гульнары, Гульнаре, Гульнару, Гульнарой; Belarusian Калеснікавай."""

_CONSONANT: Final = StemClass(
    "consonant",
    "",
    frozenset({"", "a", "u", "om", "em", "e", "i", "ia", "iu", "ovi", "evi", "s"})
    | _TURKIC_AFTER_CONSONANT,
)
"""Azimjan, Kim, Gogol: Азимжана, Азимжаном, Азимжанові, Гоголя, Kim's."""

_VOWEL: Final = StemClass("other vowel", "", frozenset({"", "s"}) | _TURKIC_AFTER_VOWEL)
"""Ali, Abe: indeclinable in Russian; Turkic suffixes and the possessive still attach."""

_FIXED: Final = StemClass("too short to decline", "", frozenset({""}))

_ADJECTIVE_MASCULINE_SPELLING: Final = re.compile(r"(?:ы|ий|ій|ой|yy|iy|yi|ij|oy|oj|[^aeiouy]y)$")
"""Navalny, Навальный, Belarusian Навальны, Tolstoy: adjectives, whatever letter precedes
the ending."""
_ADJECTIVE_FEMININE_SPELLING: Final = re.compile(r"(?:ая|aya|aja)$")


def surname_class(key: str, spelling: str = "") -> StemClass:
    """The declension class of a folded surname (or one-word name).

    The configured spelling, when given, tells adjectives (Navalny, Навальный)
    from indeclinable names that fold alike (Ali, Rossi). Decided by the key's
    last letter first, with str.endswith rather than regexes: it runs for every
    reading of every configured surname.
    """
    if len(key) < 3:
        return _FIXED
    last = key[-1]
    if last == "a":
        if key.endswith(("skaia", "skaja", "zkaia", "zkaja")) or (
            key.endswith("aia") and _ADJECTIVE_FEMININE_SPELLING.search(spelling.lower())
        ):
            return _FEMININE_ADJECTIVE
        if key.endswith(("ova", "eva", "ina")):
            return _FEMININE_OV
        return _IA_STEM if key.endswith("ia") else _A_STEM
    if last == "i":
        if key.endswith("oi") and key[-3] not in "aeiou":
            return _O_OI_ADJECTIVE
        if key.endswith(("ski", "zki")) or _ADJECTIVE_MASCULINE_SPELLING.search(spelling.lower()):
            return _MASCULINE_ADJECTIVE
        return _VOWEL
    if key.endswith(("ov", "ev", "in")):
        return _MASCULINE_OV
    if last == "o":
        return _O_STEM
    if last in "eu":
        return _VOWEL
    return _CONSONANT


def split_stem(key: str, spelling: str = "") -> tuple[str, StemClass]:
    """The stem to search for and the class whose endings may follow it."""
    stem_class = surname_class(key, spelling)
    stem = key[: len(key) - len(stem_class.nominative)]
    if len(stem) < 2:
        return key, _FIXED
    return stem, stem_class


GIVEN_NAME_REST: Final = re.compile(r"[aeiou]{0,3}(?:m|mi|h|s)?|[oe]vi")
"""What may follow the consonant core of a given name (Sergei → serg + ei, em, ia…)."""


def given_name_core(key: str) -> str:
    """The part of a folded given name that every inflected form starts with."""
    core = key.rstrip("aeiou")
    return core if len(core) >= 2 else key


def matches_given_name(core: str, token_key: str) -> bool:
    """Whether a text token is a (possibly inflected) form of a given name.

    Given names are checked only next to a matching surname, so a loose rule is
    enough: the token starts with the name's consonant core and goes on with
    vowels and at most one case consonant. Derivations (Askar → Askarov,
    Askarovich) add consonants and are refused.
    """
    return token_key.startswith(core) and (
        GIVEN_NAME_REST.fullmatch(token_key, len(core)) is not None
    )


_PATRONYMIC: Final = re.compile(r"(?:vich|vn|ich|ichn)[aeiou]{0,3}m?$|(?:uli|ugli|ogli|kizi)$")


def is_patronymic(token_key: str) -> bool:
    """Whether a folded word looks like a patronymic (Abdullaevich, Askarovna, Nurlanuly)."""
    return len(token_key) > 4 and _PATRONYMIC.search(token_key) is not None
