"""Per-class precision and recall on the readings corpus (tests/data/matching/cases_readings.jsonl).

People are configured as an NGO's English report gives them: only a BGN/PCGN
romanisation, only a scholarly one without diacritics, only the English name of
an English-, French- or German-origin person, or a name with a Cyrillic alias
whose case forms are Kyrgyz, Kazakh or hyphenated; plus keywords and near
misses. Cases are split into `tune` (looked at while writing the rules) and
`heldout` (not); the thresholds are checked on the held-out split.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

from worker.core.types import PersonSpec, WatchlistSpec
from worker.matching import compile_matcher

from .helpers import DATA, document

MIN_PRECISION = 0.97
MIN_RECALL = 0.95
MIN_CASES = 300
CLASSES = ("bg", "stripped", "transcribed", "case", "keyword", "near")


def _watchlist() -> WatchlistSpec:
    raw = json.loads((DATA / "watchlist_readings.json").read_text(encoding="utf-8"))
    people = tuple(
        PersonSpec(
            id=entry["id"],
            name=entry["name"],
            aliases=tuple(entry.get("aliases", ())),
            exclude=tuple(entry.get("exclude", ())),
        )
        for entry in raw["people"]
    )
    return WatchlistSpec(
        id=raw["id"], title=raw["title"], people=people, keywords=tuple(raw["keywords"])
    )


def _cases() -> list[dict[str, Any]]:
    lines = (DATA / "cases_readings.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def test_per_class_precision_and_recall_on_held_out_cases() -> None:
    matcher = compile_matcher([_watchlist()])
    cases = _cases()
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    mistakes: list[str] = []
    for case in cases:
        found = Counter((hit.term, hit.text) for hit in matcher.match(document(case["text"])))
        expected = Counter((term, text) for term, text in case["expect"])
        tally = counts[case["class"], case["split"]]
        tally["tp"] += sum((found & expected).values())
        tally["fp"] += sum((found - expected).values())
        tally["fn"] += sum((expected - found).values())
        tally["cases"] += 1
        if found != expected:
            mistakes.append(
                f"{case['id']} ({case['split']}): missing {dict(expected - found)},"
                f" extra {dict(found - expected)}"
            )
    lines = ["", "class        split    cases  expected  precision  recall"]
    failing: list[str] = []
    for name in CLASSES:
        for split in ("tune", "heldout"):
            tally = counts[name, split]
            precision = _ratio(tally["tp"], tally["tp"] + tally["fp"])
            recall = _ratio(tally["tp"], tally["tp"] + tally["fn"])
            lines.append(
                f"{name:12} {split:8} {tally['cases']:5}  {tally['tp'] + tally['fn']:8}"
                f"  {precision:9.3f}  {recall:6.3f}"
            )
            if split == "heldout" and (precision < MIN_PRECISION or recall < MIN_RECALL):
                failing.append(f"{name}: P {precision:.3f} R {recall:.3f}")
    print("\n".join(lines + mistakes))
    assert len(cases) >= MIN_CASES
    assert {case["class"] for case in cases} == set(CLASSES)
    assert not failing, failing
