# ruff: noqa: RUF001, RUF003 -- names in Cyrillic and other scripts are the test data
"""Folding: every spelling of a word meets in one key; different words stay apart."""

from __future__ import annotations

import random
import re
import threading

import pytest

from worker.matching import folding
from worker.matching.folding import (
    TOKEN,
    TOKEN_KEYS,
    FoldedText,
    Gap,
    classify_gap,
    fold_token,
    tokens_of,
)
from worker.matching.names import spelling_keys

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
    ("word", "keys"),
    [
        ("Oleh", ("oleh", "oleg")),  # Ukrainian h = г
        ("Олег", ("oleg", "oleh")),  # and г may be written h
        ("Hryhoriy", ("hrihori", "grigori")),
        ("Khamroev", ("hamroev",)),  # kh is х only
        ("Shevchenko", ("shevchenko",)),
        ("Xolmatov", ("ksolmatov", "holmatov")),  # x = х, not г
        ("Askarov", ("askarov",)),
    ],
)
def test_configured_spellings_carry_both_readings_of_h(word: str, keys: tuple[str, ...]) -> None:
    assert spelling_keys(word) == keys


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


# Pieces that make chunks of every kind: one token, several (hyphen, apostrophe,
# full stop), none (dash, lone comma, empty between two spaces), other white space.
PIECES = [
    "word", "Аскаров", "Askarov's", "Rimsky-Korsakov", "А.А.", "«Аскаров»,", "1990",
    "—", ",", "", "end.\n\nNext", "a\tb", "x\u00a0y", "q\u200bq", "\u2028", "O\u2019Brien",
    "x" * 80,
]  # fmt: skip
SEPARATORS = [" ", "  ", "\n", " \n ", "\t", " - ", ", "]


def _random_texts(seed: int, count: int, most_pieces: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words = [rng.choice(PIECES) for _ in range(rng.randrange(most_pieces))]
        texts.append("".join(word + rng.choice(SEPARATORS) for word in words))
    return texts


def _check_against_a_plain_tokenisation(text: str, rng: random.Random) -> None:
    spans = [match.span() for match in re.finditer(TOKEN, text)]
    folded = FoldedText("content", text)
    assert folded.token_count == len(spans)
    assert folded.key_text == " " + "".join(fold_token(text[a:b]) + " " for a, b in spans)
    order = list(range(len(spans)))
    rng.shuffle(order)  # tokens are located in any order, from the nearest known chunk
    for index in order:
        assert folded.span(index, index) == spans[index]
        assert folded.key(index) == fold_token(text[slice(*spans[index])])
        end = spans[index + 1][0] if index + 1 < len(spans) else len(text)
        assert folded.separator(index) == text[spans[index][1] : end]


@pytest.mark.parametrize(("seed", "most_pieces"), [(1, 12), (2, 60), (3, 600)])
def test_tokens_are_located_exactly_in_any_text(seed: int, most_pieces: int) -> None:
    rng = random.Random(seed)
    for text in _random_texts(seed, 150, most_pieces):
        _check_against_a_plain_tokenisation(text, rng)


def test_uneven_text_is_located_exactly() -> None:
    """Long words, then short ones: the guessed offsets are far off and corrected."""
    rng = random.Random(4)
    text = " ".join(["x" * 60] * 200 + ["a"] * 3000 + ["Аскаров-Аскаровой"] * 100)
    _check_against_a_plain_tokenisation(text, rng)


def test_new_chunks_are_folded_once_and_the_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(folding, "_MAX_CACHED_CHUNKS", len(folding._CHUNK_KEYS) + 50)
    rng = random.Random(5)
    texts = [
        " ".join(f"new{rng.randrange(400)}{rng.choice(',.;')}" for _ in range(30))
        for _ in range(60)
    ]
    for text in texts:
        _check_against_a_plain_tokenisation(text, rng)
    assert len(folding._CHUNK_KEYS) <= folding._MAX_CACHED_CHUNKS
    assert folding._PENDING not in folding._CHUNK_KEYS.values()


def test_folding_from_several_threads_at_once_gives_the_same_keys() -> None:
    texts = _random_texts(6, 300, 80)
    texts += [" ".join(f"thread{i % 97}-{i % 13}" for i in range(n, n + 40)) for n in range(300)]
    expected = [" " + "".join(fold_token(t) + " " for t in tokens_of(text)) for text in texts]
    wrong: list[int] = []

    def fold_all(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(600):
            index = rng.randrange(len(texts))
            if FoldedText("content", texts[index]).key_text != expected[index]:
                wrong.append(index)

    threads = [threading.Thread(target=fold_all, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert folding._PENDING not in folding._CHUNK_KEYS.values()


def test_token_keys_fold_each_spelling_of_case_once() -> None:
    for word in ["Miro", "MIRO", "miro", "Аскарову", "АСКАРОВУ", "İstanbul", "STRASSE", "Straße"]:
        assert TOKEN_KEYS[word] == fold_token(word)
    assert TOKEN_KEYS.by_lowered["miro"] == fold_token("Miro")
