"""Is this process able to work? Database and broker reachability, and whether a running
process found the configuration file invalid (:mod:`worker.db.config_state`), for health
checks."""

from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from worker.core.config_health import ConfigInvalid
from worker.db import config_state
from worker.db.session import make_engine
from worker.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    component: str
    ok: bool
    detail: str


def _database(settings: Settings) -> list[Check]:
    """The database, and the configuration's state as the running processes recorded it."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
        engine.dispose()
        return [Check("database", False, detail)]
    try:
        with Session(engine) as session:
            invalid = config_state.current(session)
    except SQLAlchemyError:
        config = Check("config", True, "not recorded yet (the schema is not migrated)")
    else:
        config = Check("config", not invalid, invalid.describe() if invalid else "valid")
    finally:
        engine.dispose()
    return [Check("database", True, "reachable"), config]


def _broker(settings: Settings) -> Check:
    if settings.broker_url is None:
        return Check("broker", True, "none (embedded mode)")
    try:
        with Connection(settings.broker_url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
        return Check("broker", True, "reachable")
    except Exception as e:  # kombu raises the transport's own errors
        return Check("broker", False, f"{type(e).__name__}: {e}".splitlines()[0])


def check(settings: Settings, seen_here: ConfigInvalid | None = None) -> list[Check]:
    """Every check; ``seen_here``: this process found the file invalid (it may not have
    recorded it yet), which fails the config check whatever the database says."""
    database, *config = _database(settings)
    if seen_here is not None and (not config or config[0].ok):
        config = [Check("config", False, seen_here.describe())]
    return [database, _broker(settings), *config]
