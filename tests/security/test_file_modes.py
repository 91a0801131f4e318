"""The SQLite database and outbox ``.eml`` alerts are created 0600, the data directory
0700, whatever the umask (issue 15, item 15)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.security.test_link_schemes import alert
from worker.db.session import make_engine
from worker.notify.base import Recipient
from worker.notify.local import OutboxNotifier
from worker.runtime import Runtime
from worker.settings import Settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_a_new_sqlite_database_and_its_data_directory_are_private(
    tmp_path: Path,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    data = tmp_path / "fresh" / "data"
    settings = make_settings(
        write_config("feeds: []\n"),
        RIGHTSWATCH_DATA_DIR=str(data),
        RIGHTSWATCH_DATABASE_URL=f"sqlite:///{data / 'rightswatch.db'}",
    )
    runtime = Runtime(settings, lambda: datetime.now(UTC))
    try:
        runtime.migrate()
        with runtime.sessions() as session:
            session.execute(sa.text("SELECT count(*) FROM feeds"))
    finally:
        runtime.close()
    assert mode(data) == 0o700
    files = [p for p in data.iterdir() if p.name.startswith("rightswatch.db")]
    assert data / "rightswatch.db" in files
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_wal_files_follow_the_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x int)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        wal = [p for p in (tmp_path / "db").iterdir()]
        assert len(wal) >= 2, "WAL mode keeps -wal and -shm beside the database"
        assert all(mode(p) == 0o600 for p in wal), {p.name: oct(mode(p)) for p in wal}
    engine.dispose()


def test_outbox_eml_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    notifier = OutboxNotifier("rightswatch <alerts@example.org>")
    notifier.send(alert("https://example.org/a"), Recipient("o", "outbox", str(folder)))
    notifier.send(alert("https://example.org/a"), Recipient("o", "outbox", str(folder)))
    assert mode(folder) == 0o700
    (eml,) = folder.iterdir()
    assert eml.suffix == ".eml" and mode(eml) == 0o600
