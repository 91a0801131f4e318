"""Watch-list rules: keywords, near, require, exclude, fields, languages, feeds; hit order."""

from __future__ import annotations

import threading

import pytest

from worker.core.errors import ConfigError
from worker.core.types import NearSpec
from worker.matching import compile_matcher

from .helpers import document, hits_in, person, texts, watchlist

KEYWORDS = [
    # (keyword, text, expected hit texts)
    ("torture", "Torture and TORTURE and torture.", ["Torture", "TORTURE", "torture"]),
    ("torture", "The tortured prisoners; tortures.", ["tortures"]),  # plural, not -ed
    ("пытк*", "пытки, пыткам, пытками", ["пытки", "пыткам", "пытками"]),
    ("пытк*", "испытка", []),
    (
        "hunger strike",
        "a hunger strike, a hunger-strike, a hunger\nstrike",
        ["hunger strike", "hunger-strike", "hunger\nstrike"],
    ),
    ("hunger strike", "hunger. Strike; hunger, strike", []),
    ("hunger strike", "hunger strikes", ["hunger strikes"]),
    ("hunger strike", "hungers striker", []),
    (
        "иностранн* агент*",
        "иностранных агентов, иностранного агента",
        ["иностранных агентов", "иностранного агента"],
    ),
    (
        "иностранный агент",
        "иностранным агентом, иностранные агенты",
        ["иностранным агентом", "иностранные агенты"],
    ),
    ("foreign agent", "foreign agents, Foreign Agent's", ["foreign agents", "Foreign Agent's"]),
    ("голодовка", "голодовки, голодовку, голодовкой", ["голодовки", "голодовку", "голодовкой"]),
    ("голодовка", "голодовщик", []),
    ("political prisoner*", "political prisoners", ["political prisoners"]),
    ("голодовк*", "Golodovka", ["Golodovka"]),
    ("Бишкек", "in Bishkek today", ["Bishkek"]),
]


@pytest.mark.parametrize(("keyword", "text", "expected"), KEYWORDS)
def test_keywords_match_whole_folded_words(keyword: str, text: str, expected: list[str]) -> None:
    found = hits_in([watchlist(keywords=(keyword,))], text)
    assert texts(found) == expected
    assert all(
        (hit.kind, hit.term, hit.variant) == ("keyword", keyword, "keyword") for hit in found
    )


NEAR = [
    # (terms, within, text, expected hit texts)
    (
        ("journalist", "detained"),
        3,
        "The journalist was briefly detained.",
        ["journalist was briefly detained"],
    ),
    (("journalist", "detained"), 1, "The journalist was briefly detained.", []),
    (("journalist", "detained"), 0, "detained journalist", ["detained journalist"]),
    (
        ("journalist", "detained"),
        5,
        "journalist detained, journalist, detained",
        ["journalist detained", "journalist, detained"],
    ),
    (("журналист*", "задерж*"), 2, "Журналиста задержали вчера", ["Журналиста задержали"]),
    (("journalist", "detained"), 5, "journalist here", []),
]


@pytest.mark.parametrize(("terms", "within", "text", "expected"), NEAR)
def test_near_rules_fire_when_both_terms_are_close(
    terms: tuple[str, str], within: int, text: str, expected: list[str]
) -> None:
    lists = [watchlist(near=(NearSpec(terms=terms, within=within),))]
    found = hits_in(lists, text)
    assert texts(found) == expected
    label = f"{terms[0]} ~{within}~ {terms[1]}"
    assert all((hit.kind, hit.term, hit.variant) == ("keyword", label, "near") for hit in found)


ENTRY_RULES = [
    # (options, text, expected hit texts)
    ({"require": ("court",)}, "Torture was reported.", []),
    ({"require": ("court",)}, "Torture was reported to the court.", ["Torture"]),
    ({"require": ("court", "appeal")}, "Torture reported to the court.", []),
    ({"exclude": ("football",)}, "Torture claims in football.", []),
    ({"exclude": ("football",)}, "Torture claims in prison.", ["Torture"]),
    ({"exclude": ("спорт*",)}, "Torture: спортсмены", []),
]


@pytest.mark.parametrize(("options", "text", "expected"), ENTRY_RULES)
def test_require_and_exclude_gate_the_whole_entry(
    options: dict[str, tuple[str, ...]], text: str, expected: list[str]
) -> None:
    lists = [watchlist(keywords=("torture",), **options)]
    assert texts(hits_in(lists, text)) == expected


def test_require_and_exclude_look_only_at_searched_fields() -> None:
    lists = [watchlist(keywords=("torture",), require=("court",), fields=("content",))]
    assert hits_in(lists, "Torture reported.", title="court") == []
    assert texts(hits_in(lists, "Torture reported in court.", title="x")) == ["Torture"]


def test_fields_limit_where_a_list_searches() -> None:
    lists = [
        watchlist("titles", keywords=("torture",), fields=("title",)),
        watchlist("all", keywords=("torture",)),
    ]
    found = hits_in(lists, "torture in content", title="Torture in title", summary="torture")
    assert [(hit.watchlist_id, hit.field) for hit in found] == [
        ("all", "title"),
        ("all", "summary"),
        ("all", "content"),
        ("titles", "title"),
    ]


LANGUAGES = [
    # (list languages, document language, hits?)
    (("ru",), "ru", True),
    (("ru",), "ru-RU", True),
    (("ru",), "RU_ru", True),
    (("ru",), "en", False),
    (("ru", "ky"), "ky", True),
    (("ru",), None, True),
    ((), "en", True),
]


@pytest.mark.parametrize(("languages", "language", "expected"), LANGUAGES)
def test_languages_apply_when_the_document_declares_one(
    languages: tuple[str, ...], language: str | None, expected: bool
) -> None:
    lists = [watchlist(keywords=("torture",), languages=languages)]
    assert bool(hits_in(lists, "torture", language=language)) is expected


@pytest.mark.parametrize(
    ("feeds", "feed_id", "expected"),
    [(("hrw",), "hrw", True), (("hrw",), "other", False), (("hrw",), None, False), ((), "x", True)],
)
def test_feeds_restrict_a_list_to_some_feeds(
    feeds: tuple[str, ...], feed_id: str | None, expected: bool
) -> None:
    lists = [watchlist(keywords=("torture",), feeds=feeds)]
    assert bool(hits_in(lists, "torture", feed_id=feed_id)) is expected


def test_hits_are_sorted_by_list_field_and_start() -> None:
    lists = [
        watchlist("b", keywords=("torture", "arrest")),
        watchlist("a", people=(person("Azimjan Askarov"),), keywords=("arrest",)),
    ]
    found = hits_in(
        lists,
        "arrest and torture of Azimjan Askarov",
        title="Torture",
        summary="Azimjan Askarov arrest",
    )
    keys = [(hit.watchlist_id, hit.field, hit.start) for hit in found]
    field_order = {"title": 0, "summary": 1, "content": 2}
    assert keys == sorted(keys, key=lambda key: (key[0], field_order[key[1]], key[2]))
    assert [(hit.watchlist_id, hit.field, hit.text) for hit in found] == [
        ("a", "summary", "Azimjan Askarov"),
        ("a", "summary", "arrest"),
        ("a", "content", "arrest"),
        ("a", "content", "Azimjan Askarov"),
        ("b", "title", "Torture"),
        ("b", "summary", "arrest"),
        ("b", "content", "arrest"),
        ("b", "content", "torture"),
    ]


def test_the_same_person_in_two_lists_hits_in_both() -> None:
    lists = [
        watchlist("one", people=(person("Oleg Sentsov"),)),
        watchlist("two", people=(person("Oleg Sentsov"),)),
    ]
    assert [hit.watchlist_id for hit in hits_in(lists, "Олег Сенцов")] == ["one", "two"]


@pytest.mark.parametrize(
    "options",
    [
        {"people": (person("!!!"),)},
        {"keywords": ("...",)},
        {"require": ("",)},
        {"keywords": ("ab*",)},
        {"near": (NearSpec(terms=("journalist", "—"), within=3),)},
    ],
)
def test_unmatchable_terms_are_config_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"watchlists\[0\] \(wl\)"):
        compile_matcher([watchlist(**options)])


def test_an_empty_config_matches_nothing() -> None:
    assert compile_matcher([]).match(document("Azimjan Askarov torture")) == []


def test_one_matcher_serves_many_threads() -> None:
    matcher = compile_matcher(
        [watchlist(people=(person("Azimjan Askarov"),), keywords=("torture", "пытк*"))]
    )
    docs = [document(f"Azimjan Askarov {i} torture пытки Аскарову {i}") for i in range(200)]
    expected = [matcher.match(doc) for doc in docs]
    results: dict[int, list[object]] = {}

    def work(worker: int) -> None:
        results[worker] = [matcher.match(doc) for doc in docs]

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result == expected for result in results.values())
