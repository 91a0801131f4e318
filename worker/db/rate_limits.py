"""The API's rate-limit counters when there is no Redis: one row per (scope, subject) key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.db.models import RateLimit
from worker.db.sql import on_postgresql


def count_hit(session: Session, key: str, window_start: datetime) -> int:
    """Count one request under ``key`` in the window starting then; the count so far."""
    insert = postgresql.insert if on_postgresql(session) else sqlite.insert
    statement = insert(RateLimit).values(key=key, window_start=window_start, count=1)
    upsert = statement.on_conflict_do_update(
        index_elements=[RateLimit.key],
        set_={
            "count": case((RateLimit.window_start == window_start, RateLimit.count + 1), else_=1),
            "window_start": window_start,
        },
    ).returning(RateLimit.count)
    return int(session.execute(upsert).scalar_one())


def purge(session: Session, before: datetime) -> None:
    """Forget counters of windows that ended long ago."""
    session.execute(delete(RateLimit).where(RateLimit.window_start < before))
