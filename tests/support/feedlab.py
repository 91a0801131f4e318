"""A runtime over real PostgreSQL for the feed tests, with a clock moved by hand.

:class:`FeedLab` writes a configuration, prepares the database and polls feeds
through the very jobs the Celery tasks and the embedded loop run (the ``lab``
fixture in :mod:`tests.support.fixtures` builds one per test).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from worker import jobs
from worker.core.types import PollOutcome
from worker.db.models import Delivery, Entry, Feed, OperatorAlert
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class FeedLab:
    def __init__(
        self,
        database_url: str,
        write_config: Callable[..., Path],
        make_settings: Callable[..., Settings],
    ) -> None:
        self.database_url = database_url
        self._write_config = write_config
        self._make_settings = make_settings
        self.now = START
        self.runtime: Runtime | None = None

    def configure(self, yaml_text: str, **env: str) -> Runtime:
        """(Re)write the config and build a runtime on it; the schema is created once."""
        path = self._write_config(textwrap.dedent(yaml_text))
        settings = self._make_settings(path, RIGHTSWATCH_DATABASE_URL=self.database_url, **env)
        if self.runtime is not None:
            self.runtime.close()
        self.runtime = Runtime(settings, clock=lambda: self.now)
        self.runtime.migrate()
        self.runtime.sync_config()
        return self.runtime

    @property
    def rt(self) -> Runtime:
        assert self.runtime is not None, "configure() first"
        return self.runtime

    def poll(self, feed_id: str) -> PollOutcome:
        return jobs.poll(self.rt, feed_id, hold=False)

    def run_once(self) -> str:
        return EmbeddedService(self.rt).run_once().line()

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def feed(self, feed_id: str) -> Feed:
        with self.rt.sessions() as session:
            feed = session.get(Feed, feed_id)
            assert feed is not None
            return feed

    def entries(self, feed_id: str) -> list[Entry]:
        with self.rt.sessions() as session:
            return list(
                session.scalars(select(Entry).where(Entry.feed_id == feed_id).order_by(Entry.id))
            )

    def deliveries(self) -> list[Delivery]:
        with self.rt.sessions() as session:
            return list(session.scalars(select(Delivery).order_by(Delivery.created_at)))

    def operator_alerts(self) -> list[OperatorAlert]:
        with self.rt.sessions() as session:
            return list(session.scalars(select(OperatorAlert).order_by(OperatorAlert.created_at)))

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
