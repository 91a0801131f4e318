"""Hit payloads: offsets into the original text, and snippets."""

from __future__ import annotations

import pytest

from worker.matching import compile_matcher
from worker.matching.snippets import make_snippet

from .helpers import corpus_cases, corpus_watchlist, document

SNIPPETS = [
    # (text, hit, expected snippet)
    ("Azimjan Askarov was jailed.", "Azimjan Askarov", "«Azimjan Askarov» was jailed."),
    (
        "He said:\n\n  Azimjan   Askarov\twas jailed",
        "Azimjan   Askarov",
        "He said: «Azimjan Askarov» was jailed",
    ),
    (
        "word " * 40 + "Askarov" + " word" * 40,
        "Askarov",
        "…" + "word " * 11 + "«Askarov»" + " word" * 11 + "…",
    ),
    ("x" * 200 + " Askarov", "Askarov", "…«Askarov»"),
]


@pytest.mark.parametrize(("text", "hit", "expected"), SNIPPETS)
def test_snippet_marks_the_hit_collapses_space_and_cuts_at_words(
    text: str, hit: str, expected: str
) -> None:
    start = text.index(hit)
    assert make_snippet(text, start, start + len(hit)) == expected


def test_snippets_stay_near_the_requested_width() -> None:
    text = " ".join(f"word{i}" for i in range(300))
    start = text.index("word150")
    snippet = make_snippet(text, start, start + len("word150"))
    assert 100 <= len(snippet) <= 125
    assert "«word150»" in snippet


def test_every_corpus_hit_points_at_its_own_text() -> None:
    matcher = compile_matcher([corpus_watchlist()])
    checked = 0
    for case in corpus_cases():
        text = case["text"]
        doc = document(text, title=text.upper(), summary=f"  {text}  ")
        for hit in matcher.match(doc):
            field = doc.fields[hit.field]
            assert field[hit.start : hit.end] == hit.text
            assert f"«{' '.join(hit.text.split())}»" in hit.snippet
            assert 0 < hit.score <= 1
            checked += 1
    assert checked > 400
