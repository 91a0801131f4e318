"""Stories across feeds: which stored story a new entry is a copy of (pure).

A story is named by its first entry. A new entry joins the story of an entry
seen within the story window with the same canonical link, or (if it matches a
watch list, so could alert) near-identical text; else it opens one. Copies
within one poll are found too. :mod:`worker.ingest.persist` reads the stored
candidates these functions compare and writes their decisions.

The work per entry is bounded: stories sharing one of its LSH bands (at most
:data:`~worker.core.dedup.BUCKET_LIMIT` per band) are ranked by the similarity
their signatures estimate, and only the best :data:`~worker.core.dedup.CANDIDATE_LIMIT`
are compared exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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
    signature: tuple[int, ...] = ()
    positions: frozenset[int] = frozenset()
    """The signature as :func:`~worker.core.dedup.positions`."""
    bands: tuple[int, ...] = ()
    story: int | None = None
    """The story it joins: the id of that story's first entry (None: it opens one)."""
    twin: int | None = None
    """Index of an earlier entry of this poll that opened the story it joins."""
    estimated: int = 0
    """Signatures it was compared with (at most BANDS * BUCKET_LIMIT + the poll's own)."""
    compared: int = 0
    """Texts it was compared with exactly (at most 2 * CANDIDATE_LIMIT)."""

    def compare_by_text(self, key: bytes | None = None) -> None:
        """Shingle and sign the text: only entries that can alert are compared by text."""
        self.shingles = dedup.shingles(
            dedup.story_text(self.entry.title, self.entry.summary, self.entry.content)
        )
        self.signature = dedup.signature(self.shingles, key)
        self.positions = dedup.positions(self.signature)
        self.bands = dedup.bands(self.signature)


StoredText = tuple[str, str, str]
"""A stored story's title, summary and content."""


def band_candidates(fresh: Sequence[Fresh], band_rows: Iterable[tuple[int, int]]) -> list[set[int]]:
    """For each new entry: the stored stories sharing one of its bands.

    ``band_rows``: (band key, story) of stories opened within the window, at most
    BUCKET_LIMIT per band key.
    """
    by_band: dict[int, list[int]] = {}
    for band, story_id in band_rows:
        by_band.setdefault(band, []).append(story_id)
    return [{s for band in f.bands for s in by_band.get(band, ())} for f in fresh]


def shortlist(
    fresh: Sequence[Fresh],
    candidates: Sequence[set[int]],
    signatures: Mapping[int, frozenset[int]],
) -> list[list[int]]:
    """For each new entry: the stored stories worth comparing exactly, best first.

    ``signatures``: the candidate stories' signatures, as positions.
    """
    chosen = []
    for f, stories in zip(fresh, candidates, strict=True):
        scored = [
            (dedup.estimate(f.positions, signatures[s]), -s) for s in stories if s in signatures
        ]
        f.estimated += len(scored)
        best = sorted((p for p in scored if p[0] >= dedup.MIN_ESTIMATE), reverse=True)
        chosen.append([-s for _, s in best[: dedup.CANDIDATE_LIMIT]])
    return chosen


def assign(
    fresh: list[Fresh],
    by_link: Mapping[str, int],
    shortlists: Sequence[Sequence[int]],
    texts: Mapping[int, StoredText],
) -> None:
    """Set each new entry's story (a stored one, an earlier entry of this poll, or none).

    ``by_link``: canonical-link key → story; ``shortlists``: :func:`shortlist`;
    ``texts``: the shortlisted stories' texts. A stored text is shingled only when
    the titles agree (template-built reports with other names in their titles never
    are), and once per poll.
    """
    shingled: dict[int, frozenset[int]] = {}
    opened: dict[int, list[int]] = {}
    """Band key → indexes of entries of this poll that opened a story (newest last)."""
    for index, (f, shortlisted) in enumerate(zip(fresh, shortlists, strict=True)):
        if f.keys.link_key and f.keys.link_key in by_link:
            f.story = by_link[f.keys.link_key]
            continue
        title = dedup.title_words(f.entry.title)
        similar = []
        for s in shortlisted:
            if s not in texts:
                continue
            f.compared += 1
            stored_title, summary, content = texts[s]
            if not dedup.titles_agree(title, dedup.title_words(stored_title)):
                continue
            if s not in shingled:
                shingled[s] = dedup.shingles(dedup.story_text(stored_title, summary, content))
            similarity = dedup.text_similarity(f.shingles, shingled[s])
            if similarity >= dedup.SAME_STORY_JACCARD:
                similar.append((similarity, -s))
        if similar:
            f.story = -max(similar)[1]
            continue
        f.twin = _twin(fresh, index, opened, title)
        if f.twin is None:
            for band in f.bands:
                opened.setdefault(band, []).append(index)


def _twin(
    fresh: list[Fresh], index: int, opened: dict[int, list[int]], title: frozenset[str]
) -> int | None:
    """An earlier entry of this poll with near-identical text (one feed never lists a link
    twice: a repeated link is no key), found as stored stories are."""
    f = fresh[index]
    nearby = {i for band in f.bands for i in opened.get(band, ())[-dedup.BUCKET_LIMIT :]}
    f.estimated += len(nearby)
    scored = sorted(
        (
            (e, -i)
            for i in nearby
            if (e := dedup.estimate(f.positions, fresh[i].positions)) >= dedup.MIN_ESTIMATE
        ),
        reverse=True,
    )
    similar = []
    for _, minus_i in scored[: dedup.CANDIDATE_LIMIT]:
        other = fresh[-minus_i]
        f.compared += 1
        if not dedup.titles_agree(title, dedup.title_words(other.entry.title)):
            continue
        similarity = dedup.text_similarity(f.shingles, other.shingles)
        if similarity >= dedup.SAME_STORY_JACCARD:
            similar.append((similarity, minus_i))
    return -max(similar)[1] if similar else None
