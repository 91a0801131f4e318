"""During an upgrade the new release migrates first; processes of the old one keep going."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from worker.core.errors import RightswatchError
from worker.db.session import make_engine, upgrade, wait_until_ready


def test_old_code_accepts_a_newer_schema_but_waits_for_an_older_one(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rw.db'}")
    try:
        upgrade(engine)
        wait_until_ready(engine, 2, migrated=True)
        with engine.begin() as connection:
            head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            # a revision this code does not know: made by a newer release's `migrate`
            connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
        wait_until_ready(engine, 2, migrated=True)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        with pytest.raises(RightswatchError, match=f"schema at 0001, waiting for {head}"):
            wait_until_ready(engine, 1.5, migrated=True)
    finally:
        engine.dispose()
