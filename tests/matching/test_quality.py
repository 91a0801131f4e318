"""Precision and recall on the labelled corpus in tests/data/matching/."""

from __future__ import annotations

from collections import Counter

from worker.matching import compile_matcher

from .helpers import corpus_cases, corpus_watchlist, document

MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_CASES = 150


def test_precision_and_recall_on_the_labelled_corpus() -> None:
    matcher = compile_matcher([corpus_watchlist()])
    cases = corpus_cases()
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
