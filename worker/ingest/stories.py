"""Stories across feeds: which stored story a new entry is a copy of (pure).

A story is named by its first entry. A new entry joins the story of an entry
seen within the story window with the same canonical link, or (if it matches a
watch list, so could alert) near-identical text; else it opens one. Copies
within one poll are found too. :mod:`worker.ingest.persist` reads the stored
candidates these functions compare and writes their decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.core import dedup
from worker.core.types import Hit, NormalisedEntry


@dataclass(slots=True)
class Fresh:
    """A new entry on its way into the database."""

    entry: NormalisedEntry
    keys: dedup.EntryKeys
    hits: dict[str, list[Hit]]
    """Its hits, by watch list."""
    shingles: frozenset[int] = frozenset()
    sketch: tuple[int, ...] = ()
    story: int | None = None
    """The story it joins: the id of that story's first entry (None: it opens one)."""
    twin: int | None = None
    """Index of an earlier entry of this poll that opened the story it joins."""

    def compare_by_text(self) -> None:
        """Shingle and sketch the text: only entries that can alert are compared by text."""
        self.shingles = dedup.shingles(
            dedup.story_text(self.entry.title, self.entry.summary, self.entry.content)
        )
        self.sketch = dedup.sketch(self.shingles)


StoryText = tuple[frozenset[int], frozenset[str]]
"""A stored story's shingles and title words."""


def shared_sketches(
    fresh: list[Fresh], sketch_rows: Iterable[tuple[int, int]]
) -> list[Counter[int]]:
    """For each new entry: stored story → how many sketch values they share.

    ``sketch_rows``: (sketch value, story) of stories opened within the window.
    """
    by_value: dict[int, Counter[int]] = {}
    for value, story_id in sketch_rows:
        by_value.setdefault(value, Counter())[story_id] += 1
    return [sum((by_value.get(v, Counter()) for v in f.sketch), Counter()) for f in fresh]


def candidates(counts: Iterable[Counter[int]]) -> set[int]:
    """Stories worth comparing by text: they share enough sketch values with an entry."""
    return {s for c in counts for s, n in c.items() if n >= dedup.MIN_SHARED_SKETCH}


def story_text(title: str, summary: str, content: str) -> StoryText:
    return dedup.shingles(dedup.story_text(title, summary, content)), dedup.title_words(title)


def assign(
    fresh: list[Fresh],
    by_link: Mapping[str, int],
    counts: list[Counter[int]],
    texts: Mapping[int, StoryText],
) -> None:
    """Set each new entry's story (a stored one, an earlier entry of this poll, or none).

    ``by_link``: canonical-link key → story; ``counts``: :func:`shared_sketches`;
    ``texts``: the candidate stories' shingles and title words.
    """
    opened: dict[int, list[int]] = {}
    """Sketch value → indexes of entries of this poll that opened a story."""
    for index, (f, count) in enumerate(zip(fresh, counts, strict=True)):
        if f.keys.link_key and f.keys.link_key in by_link:
            f.story = by_link[f.keys.link_key]
            continue
        title = dedup.title_words(f.entry.title)
        similar = [
            (dedup.jaccard(f.shingles, texts[s][0]), -s)
            for s, n in count.items()
            if n >= dedup.MIN_SHARED_SKETCH
            and s in texts
            and dedup.near_identical(f.shingles, texts[s][0], title, texts[s][1])
        ]
        if similar:
            f.story = -max(similar)[1]
            continue
        f.twin = _twin(fresh, index, opened, title)
        if f.twin is None:
            for value in f.sketch:
                opened.setdefault(value, []).append(index)


def _twin(
    fresh: list[Fresh], index: int, opened: dict[int, list[int]], title: frozenset[str]
) -> int | None:
    """An earlier entry of this poll with near-identical text (one feed never lists a link
    twice: a repeated link is no key)."""
    f = fresh[index]
    shared = Counter(i for value in f.sketch for i in opened.get(value, ()))
    for i, n in shared.most_common():
        other = fresh[i]
        if n >= dedup.MIN_SHARED_SKETCH and dedup.near_identical(
            f.shingles, other.shingles, title, dedup.title_words(other.entry.title)
        ):
            return i
    return None
