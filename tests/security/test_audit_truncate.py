"""TRUNCATE of the audit log is refused on PostgreSQL, as UPDATE and DELETE are
(issue 15, item 16); SQLite has no TRUNCATE, and its DELETE trigger holds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from worker.db.models import AuditEntry
from worker.db.session import make_engine, upgrade


def test_truncating_the_audit_log_is_refused(pg_database: str) -> None:
    engine = make_engine(pg_database)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(AuditEntry).values(
                    at=datetime.now(UTC), actor="cli:test", action="purge", details={}
                )
            )
        for statement in ("TRUNCATE audit_log", "TRUNCATE audit_log RESTART IDENTITY CASCADE"):
            with (
                pytest.raises(sa.exc.DatabaseError, match="append-only"),
                engine.begin() as connection,
            ):
                connection.execute(sa.text(statement))
        with engine.connect() as connection:
            assert connection.execute(select(AuditEntry.action)).scalars().all() == ["purge"]
    finally:
        engine.dispose()
