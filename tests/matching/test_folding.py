# ruff: noqa: RUF001 -- names in Cyrillic and other scripts are the test data
"""Folding: every spelling of a word meets in one key; different words stay apart."""

from __future__ import annotations

import pytest

from worker.matching.folding import FoldedText, Gap, classify_gap, fold_token, tokens_of

SAME_KEY = [
    # (rule, spellings that must fold to one key)
    ("Cyrillic ↔ Latin", ["Аскаров", "Askarov", "ASKAROV"]),
    (
        "ж = zh = j = dzh = dj = ž",
        ["Азимжан", "Azimzhan", "Azimjan", "Azimdzhan", "Azimdjan", "Azimžan"],
    ),
    ("х = kh = h", ["Хамроев", "Khamroev", "Hamroev"]),
    ("ц = ts = tz", ["Цветков", "Tsvetkov", "Tzvetkov"]),
    (
        "щ = shch = shh = sch = šč",
        ["Щербаков", "Shcherbakov", "Shherbakov", "Scherbakov", "Ščerbakov"],
    ),
    ("ч = ch = tch = tsch = č", ["Чайковский", "Chaikovsky", "Tchaikovsky", "Tschaikowski"]),
    (
        "й/ий = y = iy = ij = i",
        ["Достоевский", "Dostoevsky", "Dostoyevskiy", "Dostoevskij", "Dostoevskii"],
    ),
    ("е after a vowel = ye = e", ["Сергеев", "Sergeyev", "Sergeev"]),
    ("ье = ye = ie = 'e", ["Васильев", "Vasilyev", "Vasiliev", "Vasil'ev"]),
    ("word-initial е = ye", ["Ельцин", "Yeltsin", "Eltsin"]),
    ("ё = yo = io = e", ["Фёдор", "Fyodor", "Fiodor", "Fedor"]),
    ("ю = yu = iu", ["Юлия", "Yulia", "Iulia", "Yuliya"]),
    ("я = ya = ia", ["Илья", "Ilya", "Ilia", "Il'ya"]),
    ("ь and apostrophes dropped", ["Игорь", "Igor", "Igor'"]),
    ("doubled letters", ["Кирилл", "Kirill", "Kiril"]),
    ("w = v", ["Askarow", "Askarov"]),
    ("x = ks", ["Maxim", "Maksim", "Максим"]),
    ("final j after a vowel = й", ["Sergej", "Sergey", "Сергей"]),
    ("Kazakh қ ғ ң ә і", ["Жақсылықова", "Жаксылыкова", "Zhaksylykova", "Zhaqsylyqova"]),
    ("Kazakh ң = ng = n", ["Жеңіс", "Zhengis", "Zhenis"]),
    ("Kyrgyz ү ө", ["Өмүрбекова", "Омурбекова", "Omurbekova", "Ömürbekova"]),
    ("Kazakh ұ", ["Нұрлан", "Нурлан", "Nurlan"]),
    ("Tajik ҳ ӣ", ["Маҳмадалӣ", "Махмадали", "Mahmadali"]),
    ("Tajik ҷ", ["Ҷамшед", "Джамшед", "Jamshed"]),
    ("Uzbek oʻ gʻ", ["Toʻlqin", "To'lqin", "Тўлқин", "Тулкин", "Tulkin"]),
    ("Uzbek ғ = gh = g'", ["Ғафуров", "Gafurov", "Ghafurov", "G'afurov"]),
    ("Belarusian ў і", ["Бяляцкі", "Bialiatski"]),
    ("Ukrainian ї є і", ["Київ", "Kyiv"]),
    ("Bulgarian ъ as a vowel", ["Кръстев", "Krastev"]),
    ("diacritics dropped", ["Ümüt", "Umut"]),
    ("Turkish ş ç ğ ı", ["Şakirova", "Shakirova", "Шакирова"]),
    ("English possessive 's = s", ["Askarov's", "Askarov’s", "Askarovs"]),
]


@pytest.mark.parametrize(("rule", "spellings"), SAME_KEY, ids=[rule for rule, _ in SAME_KEY])
def test_spellings_meet_in_one_key(rule: str, spellings: list[str]) -> None:
    keys = {spelling: fold_token(spelling) for spelling in spellings}
    assert len(set(keys.values())) == 1, keys


DIFFERENT_KEY = [
    ("Askarov", "Askar"),
    ("Askarov", "Askarovich"),
    ("Ivanov", "Ivanova"),
    ("Sentsov", "Sentsova"),
    ("Zhukov", "Sukhov"),
    ("Shukhov", "Sukhov"),
    ("Tashkent", "Toshkent"),
]


@pytest.mark.parametrize(("first", "second"), DIFFERENT_KEY)
def test_different_words_keep_different_keys(first: str, second: str) -> None:
    assert fold_token(first) != fold_token(second)


@pytest.mark.parametrize(
    ("token", "key"),
    [
        ("Азимжан", "azimjan"),
        ("Шевченко", "shevchenko"),
        ("Zelenskyy", "zelenski"),
        ("2024", "2024"),
        ("ь", "ь"),
    ],
)
def test_fold_token_gives_the_documented_key(token: str, key: str) -> None:
    assert fold_token(token) == key


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Azimjan Askarov", ["Azimjan", "Askarov"]),
        ("Askarov's lawyer", ["Askarov's", "lawyer"]),
        ("O'Brien, Rimsky-Korsakov.", ["O'Brien", "Rimsky", "Korsakov"]),
        ("«Аскаров» (А.А.)", ["Аскаров", "А", "А"]),
        ("Toʻlqin", ["Toʻlqin"]),
    ],
)
def test_tokens_are_words_with_inner_apostrophes(text: str, tokens: list[str]) -> None:
    assert tokens_of(text) == tokens


@pytest.mark.parametrize(
    ("separator", "gap"),
    [
        (" ", Gap.SPACE),
        ("\u00a0", Gap.SPACE),
        (" \n ", Gap.SPACE),
        ("\n\n", Gap.BREAK),
        ("-", Gap.HYPHEN),
        (" - ", Gap.BREAK),
        (", ", Gap.COMMA),
        (". ", Gap.DOT),
        (".", Gap.DOT),
        ("; ", Gap.BREAK),
        (" «", Gap.BREAK),
    ],
)
def test_gaps_between_tokens_are_classified(separator: str, gap: Gap) -> None:
    assert classify_gap(separator) is gap


TEXTS = [
    "Azimjan Askarov, a defender.",
    "  Два  пробела  и\nперевод строки — Аскарову!  ",
    "«Аскаров» (А.А.) — O'Brien's Rimsky-Korsakov",
    "",
    "   ",
    "no-spaces-at-all",
]


@pytest.mark.parametrize("text", TEXTS)
def test_folded_text_maps_every_token_back_to_the_original(text: str) -> None:
    folded = FoldedText("content", text)
    words = tokens_of(text)
    assert folded.token_count == len(words)
    assert folded.keys == [fold_token(word) for word in words]
    assert [folded.token(index) for index in range(len(words))] == words
    assert folded.key_text == " " + "".join(key + " " for key in folded.keys)
    for index in range(len(words)):
        start, end = folded.span(index, index)
        assert text[start:end] == words[index]


def test_separator_is_the_text_between_tokens() -> None:
    folded = FoldedText("title", "A.  Askarov, Azimjan")
    assert [folded.separator(index) for index in range(3)] == [".  ", ", ", ""]
    assert [folded.gap(index) for index in range(2)] == [Gap.DOT, Gap.COMMA]
