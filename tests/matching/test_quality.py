# ruff: noqa: RUF001 -- names in Cyrillic and other scripts are the test data
"""Precision and recall on the labelled corpus in tests/data/matching/, plus the
Ukrainian and Belarusian cases below (Ukrainian h for Cyrillic g, Belarusian endings)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

from worker.core.types import PersonSpec
from worker.matching import compile_matcher

from .helpers import corpus_cases, corpus_watchlist, document

MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_CASES = 150

UK_BE_PEOPLE = (
    PersonSpec(id="kozlovskyi", name="Ihor Kozlovskyi"),
    PersonSpec(id="afanasyev", name="Gennady Afanasyev", aliases=("Геннадий Афанасьев",)),
)
UK_BE_CASES: list[dict[str, Any]] = [
    {"id": "uk-be-01", "text": "Ігоря Козловського звільнили з полону в Донецьку.", "expect": [["Ihor Kozlovskyi", "Ігоря Козловського"]]},
    {"id": "uk-be-02", "text": "Релігієзнавець Ігор Козловський розповів про ув'язнення.", "expect": [["Ihor Kozlovskyi", "Ігор Козловський"]]},
    {"id": "uk-be-03", "text": "Scholar Ihor Kozlovskyi spent almost two years in captivity.", "expect": [["Ihor Kozlovskyi", "Ihor Kozlovskyi"]]},
    {"id": "uk-be-04", "text": "Hennadiy Afanasiev testified about torture in Crimea.", "expect": [["Gennady Afanasyev", "Hennadiy Afanasiev"], ["torture", "torture"]]},
    {"id": "uk-be-05", "text": "Геннадій Афанасьєв дав свідчення в суді.", "expect": [["Gennady Afanasyev", "Геннадій Афанасьєв"]]},
    {"id": "uk-be-06", "text": "Геннадия Афанасьева этапировали в Якутию.", "expect": [["Gennady Afanasyev", "Геннадия Афанасьева"]]},
    {"id": "uk-be-07", "text": "Алеся Бяляцкага прызналі вязнем сумлення.", "expect": [["Ales Bialiatski", "Алеся Бяляцкага"]]},
    {"id": "uk-be-08", "text": "Лісты Алесю Бяляцкаму ў калонію не перадаюць.", "expect": [["Ales Bialiatski", "Алесю Бяляцкаму"]]},
    {"id": "uk-be-09", "text": "The banner read \"Svabodu Alesiu Bialiatskamu\".", "expect": [["Ales Bialiatski", "Alesiu Bialiatskamu"]]},
    {"id": "uk-be-10", "text": "З Марыяй Калеснікавай нарэшце сустрэўся адвакат.", "expect": [["Maria Kolesnikova", "Марыяй Калеснікавай"]]},
    {"id": "uk-be-11", "text": "Ганна Бяляцкая адказала на пытанні журналістаў.", "expect": []},
    {"id": "uk-be-12", "text": "Олег Козловський, однофамілець науковця, відмовився від коментарів.", "expect": []},
    {"id": "uk-be-13", "text": "Свідок Геннадій Афанасьєвич Ткач не з'явився.", "expect": []},
    {"id": "uk-be-14", "text": "Oleh Sentsova is a made-up name in a short story.", "expect": []},
]  # fmt: skip
"""Sentences written for this test; the people are real defenders, the events generic."""


def test_precision_and_recall_on_the_labelled_corpus() -> None:
    corpus = corpus_watchlist()
    matcher = compile_matcher([replace(corpus, people=corpus.people + UK_BE_PEOPLE)])
    cases = corpus_cases() + UK_BE_CASES
    true_positives = false_positives = false_negatives = 0
    mistakes: list[str] = []
    for case in cases:
        found = Counter((hit.term, hit.text) for hit in matcher.match(document(case["text"])))
        expected = Counter((term, text) for term, text in case["expect"])
        true_positives += sum((found & expected).values())
        false_positives += sum((found - expected).values())
        false_negatives += sum((expected - found).values())
        if found != expected:
            mistakes.append(
                f"{case['id']}: missing {dict(expected - found)}, extra {dict(found - expected)}"
            )
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / (true_positives + false_negatives)
    print(
        f"\nlabelled corpus: {len(cases)} cases, {true_positives + false_negatives} expected hits;"
        f" precision {precision:.3f}, recall {recall:.3f}"
    )
    print("\n".join(mistakes))
    assert len(cases) >= MIN_CASES
    assert precision > MIN_PRECISION
    assert recall > MIN_RECALL
