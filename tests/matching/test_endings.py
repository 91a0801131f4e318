# ruff: noqa: RUF001 -- names in Cyrillic and other scripts are the test data
"""Case endings: declined forms of a watched name match, other names on its root do not."""

from __future__ import annotations

import pytest

from worker.matching.endings import (
    given_name_core,
    is_patronymic,
    matches_given_name,
    split_stem,
)
from worker.matching.folding import fold_token


def _accepts(name: str, form: str) -> bool:
    stem, stem_class = split_stem(fold_token(name), name)
    key = fold_token(form)
    return key.startswith(stem) and key[len(stem) :] in stem_class.endings


ACCEPTED = [
    # (configured surname, class, forms that must match)
    (
        "Askarov",
        "masculine -ov",
        [
            "Аскаров",
            "Аскарова",
            "Аскарову",
            "Аскаровым",
            "Аскарове",
            "Аскаровы",
            "Аскаровых",
            "Askarovym",
            "Askarov's",
        ],
    ),
    ("Askarov", "Ukrainian", ["Аскарові", "Аскаровим"]),
    (
        "Askarov",
        "Turkic suffixes",
        ["Асқаровтың", "Askarovning", "Askarovga", "Аскаровдун", "Аскаровдан", "Askarovdan"],
    ),
    ("Putin", "masculine -in", ["Путина", "Путину", "Путиным", "Путине"]),
    (
        "Askarova",
        "feminine -ova",
        ["Аскаровой", "Аскарову", "Аскаровою", "Askarova's", "Асқароваға", "Askarovoj"],
    ),
    (
        "Dostoevsky",
        "masculine -sky",
        [
            "Достоевского",
            "Достоевскому",
            "Достоевским",
            "Достоевском",
            "Dostoevsky's",
            "Достоевский",
        ],
    ),
    ("Zelensky", "Ukrainian -sky", ["Зеленського", "Зеленському", "Зеленським"]),
    ("Dostoevskaya", "feminine -skaya", ["Достоевской", "Достоевскую", "Dostoevskaja"]),
    ("Navalny", "adjective -ny", ["Навального", "Навальному", "Навальным", "Navalny's"]),
    ("Tolstoy", "adjective -oy", ["Толстого", "Толстому", "Толстым", "Tolstoy's"]),
    ("Shevchenko", "Ukrainian -enko", ["Шевченка", "Шевченкові", "Шевченком", "Шевченку"]),
    ("Beria", "-ia", ["Берии", "Берию", "Берией"]),
    ("Kuzma", "-a", ["Кузьмы", "Кузьме", "Кузьму", "Кузьмой"]),
    ("Gogol", "consonant", ["Гоголя", "Гоголю", "Гоголем", "Гоголе"]),
    ("Hayit", "consonant", ["Хайита", "Хайиту", "Хайитом", "Hayit's"]),
    ("Kozlovskyi", "Ukrainian Latin -oho", ["Kozlovskoho", "Kozlovskomu", "Козловського"]),
    ("Tolstoy", "Ukrainian Latin -oho", ["Tolstoho"]),
    ("Бяляцкі", "Belarusian -скі", ["Бяляцкага", "Бяляцкаму", "Бяляцкім", "Бяляцкіх"]),
    ("Bialiatski", "Belarusian Latin", ["Bialiatskaha", "Byalyatskamu", "Бяляцкага"]),
    ("Навальны", "Belarusian -ы", ["Навальнага", "Навальнаму", "Навальным"]),
    ("Ціханоўская", "Belarusian -ая", ["Ціханоўскай", "Ціханоўскую"]),
    ("Калеснікава", "Belarusian -а", ["Калеснікавай", "Калеснікаваю", "Калеснікаву"]),
    ("Радзіна", "Belarusian -іна", ["Радзінай", "Радзінаю"]),
]


@pytest.mark.parametrize(
    ("name", "label", "forms"), ACCEPTED, ids=[f"{n}-{label}" for n, label, _ in ACCEPTED]
)
def test_declined_forms_are_accepted(name: str, label: str, forms: list[str]) -> None:
    assert [form for form in forms if not _accepts(name, form)] == []


REFUSED = [
    (
        "Askarov",
        [
            "Askarovich",
            "Аскарович",
            "Аскаровна",
            "Аскаровны",
            "Askarovna",
            "Askar",
            "Аскаровка",
            "Askarovskiy",
        ],
    ),
    ("Petrov", ["Petrovka", "Petrovsky", "Петровна", "Петровне"]),
    ("Askarova", ["Askarov", "Аскаровна"]),
    ("Navalny", ["Навальная", "Navalnaya"]),
    ("Politkovskaya", ["Politkovsky", "Политковский"]),
    ("Shevchenko", ["Shevchenkivskyi"]),
    ("Бяляцкі", ["Бяляцкая", "Бяляцкай", "Бяляцкую", "Бяляцкавіч"]),
    ("Навальны", ["Навальная", "Навальнай"]),
    ("Ціханоўская", ["Ціханоўскі", "Ціханоўскага", "Ціханоўскаму"]),
]


@pytest.mark.parametrize(("name", "forms"), REFUSED, ids=[name for name, _ in REFUSED])
def test_other_names_on_the_same_root_are_refused(name: str, forms: list[str]) -> None:
    assert [form for form in forms if _accepts(name, form)] == []


GIVEN = [
    ("Sergey", ["Сергея", "Сергею", "Сергеем", "Сергее", "Sergei"], ["Sergeyev", "Sergeevich"]),
    ("Yuriy", ["Юрия", "Юрием", "Юрию"], ["Yurin"]),
    ("Nikolai", ["Николая", "Николаем", "Николаю"], ["Nikolaev"]),
    ("Ilya", ["Ильи", "Илье", "Ильёй"], ["Ilyin"]),
    ("Azimjan", ["Азимжана", "Азимжаном", "Азимжанові"], ["Azimjanov"]),
    ("Gulnara", ["Гульнары", "Гульнарой", "Гульнару"], ["Gulnarovna"]),
    ("Askar", ["Аскара", "Аскаром"], ["Askarov", "Askarovich"]),
]


@pytest.mark.parametrize(("name", "forms", "others"), GIVEN, ids=[name for name, _, _ in GIVEN])
def test_given_names_accept_case_forms_only(name: str, forms: list[str], others: list[str]) -> None:
    core = given_name_core(fold_token(name))
    assert [form for form in forms if not matches_given_name(core, fold_token(form))] == []
    assert [other for other in others if matches_given_name(core, fold_token(other))] == []


@pytest.mark.parametrize(
    ("word", "patronymic"),
    [
        ("Абдуллаевич", True),
        ("Abdullayevich", True),
        ("Абдуллаевича", True),
        ("Ильич", True),
        ("Петровна", True),
        ("Петровной", True),
        ("Nurlanuly", True),
        ("Askarov", False),
        ("Азимжан", False),
    ],
)
def test_patronymics_are_recognised(word: str, patronymic: bool) -> None:
    assert is_patronymic(fold_token(word)) is patronymic
