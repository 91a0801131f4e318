"""Story dedup costs a bounded amount per entry, however many stored stories overlap it.

Thousands of stored appeals share one long template (and a footer) with every new
one, so their bands are shared by thousands of stories. Each new entry still reads at
most BUCKET_LIMIT stories per band, estimates at most BANDS * BUCKET_LIMIT (plus its
own poll's) signatures and compares at most CANDIDATE_LIMIT texts per source exactly;
and the decisions stay right: a copy of an old appeal joins it, new appeals (other
names in their titles) open their own stories. Real SQLite, the functions a poll runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.support.appeals import Appeals, fresh
from worker.core import dedup
from worker.db.models import Feed, StoryBand
from worker.db.session import make_engine, make_session_factory, upgrade
from worker.ingest import persist
from worker.ingest.policy import PollPolicy
from worker.security import crypto

STORED = 2000
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
APPEALS = Appeals(5000)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Session, dict[int, int]]]:
    """STORED appeals stored as one feed's polls of 500; entry number → story."""
    crypto.configure(None)
    path: Path = tmp_path_factory.mktemp("bounds") / "stories.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    sessions = make_session_factory(engine)
    story_of: dict[int, int] = {}
    with sessions() as session, session.begin():
        session.add(Feed(id="f", url="https://e.example/f", poll_interval_seconds=60))
    for start in range(0, STORED, 500):
        with sessions() as session, session.begin():
            batch = [fresh(n, *APPEALS.appeal(n)) for n in range(start, start + 500)]
            ids = persist.insert_with_stories(session, "f", batch, NOW, PollPolicy())
            for n, f, entry_id in zip(range(start, start + 500), batch, ids, strict=True):
                assert entry_id is not None
                story_of[n] = f.story or entry_id
    with sessions() as session:
        yield session, story_of
    engine.dispose()


def test_thousands_of_stories_share_the_template_bands(
    history: tuple[Session, dict[int, int]],
) -> None:
    session, story_of = history
    # Every appeal opened its own story (their titles name different people)…
    assert len(set(story_of.values())) == STORED
    # …and some bands are shared by thousands of them: the workload is what it claims.
    widest = session.scalar(
        select(func.count())
        .select_from(StoryBand)
        .group_by(StoryBand.key)
        .order_by(func.count().desc())
        .limit(1)
    )
    assert widest is not None and widest >= 1000


def test_each_entry_compares_a_bounded_number_of_candidates(
    history: tuple[Session, dict[int, int]],
) -> None:
    session, story_of = history
    later = NOW + timedelta(hours=1)
    new = [fresh(10_000 + n, *APPEALS.appeal(10_000 + n)) for n in range(40)]
    # A syndicated copy of an early appeal: its template bands are full of newer stories.
    title, body = APPEALS.appeal(7)
    copy = fresh(20_000, "Statement: " + title, body + " The post appeared first on Amnesty.", None)
    with session.begin_nested():
        persist.insert_with_stories(session, "f", [*new, copy], later, PollPolicy())
        session.rollback()
    assert copy.story == story_of[7]
    assert all(f.story is None and f.twin is None for f in new)
    poll_size = len(new) + 1
    for f in [*new, copy]:
        assert f.estimated <= dedup.BANDS * dedup.BUCKET_LIMIT + poll_size
        assert f.compared <= 2 * dedup.CANDIDATE_LIMIT
    assert max(f.compared for f in new) >= 1  # the template really proposes candidates
