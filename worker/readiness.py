"""Is this process able to work? Database and broker reachability, for health checks."""

from __future__ import annotations

from dataclasses import dataclass

from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from worker.db.session import make_engine
from worker.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    component: str
    ok: bool
    detail: str


def _database(settings: Settings) -> Check:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return Check("database", True, "reachable")
    except SQLAlchemyError as e:
        return Check("database", False, str(getattr(e, "orig", None) or e).strip().splitlines()[0])
    finally:
        engine.dispose()


def _broker(settings: Settings) -> Check:
    if settings.broker_url is None:
        return Check("broker", True, "none (embedded mode)")
    try:
        with Connection(settings.broker_url, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
        return Check("broker", True, "reachable")
    except Exception as e:  # kombu raises the transport's own errors
        return Check("broker", False, f"{type(e).__name__}: {e}".splitlines()[0])


def check(settings: Settings) -> list[Check]:
    return [_database(settings), _broker(settings)]
