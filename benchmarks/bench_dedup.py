"""Story dedup cost per entry as the stored history grows, beside the method it replaced.

    python benchmarks/bench_dedup.py [--sizes 1000,10000,100000 --poll 50 --baseline-max 100000]

Each history is N appeals stored in one SQLite database within the story window,
all built on one long template (130 words) plus a footer, each with its own case
(45 words) and title: every new entry shares two thirds of its text with every
stored one, the workload that made the old search quadratic. A poll of ``--poll``
new appeals (one of them a syndicated copy of the first stored appeal) is then
assigned to stories, timed per entry (the story search only; the poll's inserts are
not timed), in a transaction rolled back after.

new
    ``worker.ingest.persist.find_stories``: band keys (at most 16 stories read per
    band), stored signatures, the 8 best by estimate compared exactly.
old (baseline)
    The bottom-k search of the previous version, run on the same database: every
    stored story sharing 2 of its 8 sketch values is a candidate, its stored text is
    read and shingled, and compared exactly.

Prints a markdown table: per-entry milliseconds and exact comparisons per entry.
"""

from __future__ import annotations

import argparse
import heapq
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sqlalchemy import insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tests.support.appeals import Appeals, fresh  # noqa: E402
from worker.core import dedup  # noqa: E402
from worker.db import entries  # noqa: E402
from worker.db.models import (  # noqa: E402
    Entry,
    Feed,
    StoryBand,
    StorySignature,
    StorySketch,
)
from worker.db.session import make_engine, make_session_factory, upgrade  # noqa: E402
from worker.ingest import persist, stories  # noqa: E402
from worker.security import crypto  # noqa: E402

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
WINDOW = timedelta(days=7)
APPEALS = Appeals(20_000)
OLD_SKETCH = 8
OLD_MIN_SHARED = 2


def old_sketch(shingles: frozenset[int]) -> tuple[int, ...]:
    return tuple(heapq.nsmallest(OLD_SKETCH, shingles)) if len(shingles) >= 12 else ()


def build(path: Path, size: int) -> Any:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with make_session_factory(engine)() as session, session.begin():
        session.add(Feed(id="f", url="https://e.example/f", poll_interval_seconds=60))
    for start in range(0, size, 5000):
        batch = [fresh(n, *APPEALS.appeal(n)) for n in range(start, min(size, start + 5000))]
        with engine.begin() as connection:
            connection.execute(
                insert(Entry),
                [
                    {
                        "id": n + 1,
                        "feed_id": "f",
                        "identity_key": f.keys.identity_key,
                        "identity": f.keys.identity,
                        "title": f.entry.title,
                        "summary": f.entry.summary,
                        "content": "",
                        "content_hash": f.entry.content_hash,
                        "first_seen_at": NOW,
                    }
                    for n, f in enumerate(batch, start)
                ],
            )
            connection.execute(
                insert(StorySignature),
                [
                    {
                        "story_id": n + 1,
                        "signature": dedup.pack_signature(f.signature),
                        "created_at": NOW,
                    }
                    for n, f in enumerate(batch, start)
                ],
            )
            connection.execute(
                insert(StoryBand),
                [
                    {"key": band, "story_id": n + 1, "created_at": NOW}
                    for n, f in enumerate(batch, start)
                    for band in dict.fromkeys(f.bands)
                ],
            )
            connection.execute(
                insert(StorySketch),
                [
                    {"key": value, "story_id": n + 1, "created_at": NOW}
                    for n, f in enumerate(batch, start)
                    for value in old_sketch(f.shingles)
                ],
            )
    return engine


def poll(size: int, count: int) -> list[stories.Fresh]:
    new = [fresh(10**7 + n, *APPEALS.appeal(10**7 + n)) for n in range(count - 1)]
    title, body = APPEALS.appeal(0)
    copy = fresh(2 * 10**7, "Statement: " + title, body + " The post appeared first here.")
    return [*new, copy]


def run_new(session: Session, batch: list[stories.Fresh]) -> tuple[float, float]:
    started = time.perf_counter()
    persist.find_stories(session, batch, NOW + timedelta(hours=1) - WINDOW)
    elapsed = time.perf_counter() - started
    assert batch[-1].story == 1, "the copy of the first appeal was not found"
    return elapsed / len(batch), sum(f.compared for f in batch) / len(batch)


def run_old(session: Session, batch: list[stories.Fresh]) -> tuple[float, float]:
    """The previous version's search (bottom-k sketches, re-shingled candidate texts)."""
    started = time.perf_counter()
    since = NOW + timedelta(hours=1) - WINDOW
    sketches = [old_sketch(f.shingles) for f in batch]
    values = {v for s in sketches for v in s}
    by_value: dict[int, Counter[int]] = {}
    rows = session.execute(
        select(StorySketch.key, StorySketch.story_id).where(
            StorySketch.key.in_(list(values)), StorySketch.created_at >= since
        )
    )
    for value, story_id in rows:
        by_value.setdefault(value, Counter())[story_id] += 1
    counts = [sum((by_value.get(v, Counter()) for v in s), Counter()) for s in sketches]
    wanted = sorted({s for c in counts for s, n in c.items() if n >= OLD_MIN_SHARED})
    texts: dict[int, tuple[frozenset[int], frozenset[str]]] = {}
    for start in range(0, len(wanted), 20_000):
        for story_id, text in entries.entry_texts(session, wanted[start : start + 20_000]).items():
            texts[story_id] = (dedup.shingles(dedup.story_text(*text)), dedup.title_words(text[0]))
    compared = 0
    for f, count in zip(batch, counts, strict=True):
        title = dedup.title_words(f.entry.title)
        similar = []
        for s, n in count.items():
            if n >= OLD_MIN_SHARED and s in texts:
                compared += 1
                if dedup.near_identical(f.shingles, texts[s][0], title, texts[s][1]):
                    similar.append((dedup.jaccard(f.shingles, texts[s][0]), -s))
        f.story = -max(similar)[1] if similar else None
    elapsed = time.perf_counter() - started
    assert batch[-1].story == 1, "the old search missed the copy"
    return elapsed / len(batch), compared / len(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--poll", type=int, default=50)
    parser.add_argument("--baseline-max", type=int, default=100_000)
    parser.add_argument("--baseline-poll", type=int, help="entries in the old method's poll")
    args = parser.parse_args()
    crypto.configure(None)
    print(
        "| stored stories | new ms/entry | new exact comparisons/entry "
        "| old ms/entry | old exact comparisons/entry |"
    )
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            engine = build(Path(tmp) / f"h{size}.db", size)
            sessions = make_session_factory(engine)
            with sessions() as session:
                new_ms, new_cmp = run_new(session, poll(size, args.poll))
            old = "skipped"
            if size <= args.baseline_max:
                with sessions() as session:
                    old_ms, old_cmp = run_old(session, poll(size, args.baseline_poll or args.poll))
                old = f"{old_ms * 1000:.2f} | {old_cmp:.0f}"
            else:
                old = "skipped | skipped"
            print(f"| {size:,} | {new_ms * 1000:.2f} | {new_cmp:.1f} | {old} |", flush=True)
            engine.dispose()


if __name__ == "__main__":
    main()
