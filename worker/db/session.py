"""Engine and session set-up, and schema migration through Alembic."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Dialect, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.core.errors import RightswatchError
from worker.security.files import create_private_file, private_directory

log = logging.getLogger(__name__)
SessionFactory = sessionmaker[Session]


def make_engine(database_url: str) -> Engine:
    """An engine that survives database restarts and SQLite contention."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
            private_directory(Path(url.database).parent)
            create_private_file(Path(url.database))
        engine = create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=5, max_overflow=5, pool_recycle=1800)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _binary_arrays)
    event.listen(engine, "checkout", _ping_if_disturbed(engine.dialect))
    return engine


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """Send list parameters (the column arrays of :func:`worker.db.sql.insert_new`) in
    PostgreSQL's binary format: no escaping of every character of every text, ~30x
    less client CPU than the text format for entries of a few KB."""
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _ping_if_disturbed(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A pre-ping without a round trip: only a connection with news on its socket is pinged.

    An idle connection's socket has nothing to read unless the server spoke: a
    restart or ``pg_terminate_backend`` sends an error and closes the socket,
    so the ping that ``pool_pre_ping`` makes on every checkout (one round trip
    per transaction) is made only then. A failed ping discards the pool's
    older connections, as ``pool_pre_ping`` does.
    """

    def check(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if not _readable(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as e:
            raise InvalidatePoolError(f"connection lost: {e}") from e

    return check


def _readable(dbapi_connection: Any) -> bool:
    """Whether the server sent something since the connection went idle (or it is closed)."""
    if getattr(dbapi_connection, "closed", False):
        return True
    try:
        fd = dbapi_connection.fileno()
    except Exception:  # a driver without a socket, or one already closed: ping it
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs at checkpoints, not at every commit: a commit survives
    # the process dying, and a power cut can roll back only the last polls (which the
    # next poll makes again). A poll that created alerts is made durable at once by
    # make_durable.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_durable(engine: Engine) -> None:
    """On SQLite, sync what is committed to disk now (a WAL checkpoint); a no-op elsewhere
    (PostgreSQL syncs every commit)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


def migrations_dir() -> Path:
    """Alembic scripts: packaged in the wheel, or the repository's alembic/ folder."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if (packaged / "env.py").exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "alembic"


@cache
def _alembic_config(database_url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


_MIGRATION_LOCK = 7_274_932_810
"""PostgreSQL advisory lock id: two processes migrating at once take turns."""


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (creating it on an empty database)."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK}
                )
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    except SQLAlchemyError as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        raise RightswatchError(f"cannot prepare the database: {reason}") from e
    finally:
        cfg.attributes.pop("connection", None)


def _revisions(engine: Engine) -> tuple[str | None, set[str]]:
    """This code's newest revision, and every revision it knows."""
    cfg = _alembic_config(engine.url.render_as_string(hide_password=False))
    scripts = ScriptDirectory.from_config(cfg)
    return scripts.get_current_head(), {r.revision for r in scripts.walk_revisions()}


def wait_until_ready(engine: Engine, timeout: float, *, migrated: bool) -> None:
    """Wait for the database to answer (and, if ``migrated``, to be at the newest schema
    this code knows, or a newer one).

    Services start in any order (not every container engine honours health
    conditions), so each process waits for what it needs instead of crashing.
    """
    head, known = _revisions(engine) if migrated else (None, set())
    deadline = time.monotonic() + timeout
    next_report = 0.0
    while True:
        try:
            with engine.connect() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
            if not migrated or current == head:
                return
            if current is not None and current not in known:
                # Migrated by a newer release during an upgrade: migrations are additive,
                # so this (older) code keeps working until it is replaced.
                log.info("schema at %s, newer than this code's %s: going on", current, head)
                return
            reason = (
                f"schema at {current or 'nothing'}, waiting for {head} (run `rightswatch migrate`)"
            )
        except SQLAlchemyError as e:
            reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        now = time.monotonic()
        if now >= deadline:
            raise RightswatchError(f"the database is not ready after {timeout:g}s: {reason}")
        if now >= next_report:
            log.warning("waiting for the database: %s", reason)
            next_report = now + 10
        time.sleep(1)
