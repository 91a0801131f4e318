"""Retention: purge deletes rows older than the configured ages, and nothing newer."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import func, select, update

from tests.support.cli import run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.scenario import watch_config
from worker import jobs
from worker.config import RetentionConfig
from worker.db.models import Delivery, Entry, Match
from worker.db.retention import cutoffs
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

ITEMS = [
    {"guid": "old", "title": "Azimjan Askarov detained", "description": "Azimjan Askarov."},
    {"guid": "new", "title": "Azimjan Askarov released", "description": "Azimjan Askarov."},
    {"guid": "other", "title": "Weather", "description": "Sunny."},
]

CONFIG = watch_config(
    "{feed_url}",
    prelude="retention:\n  entries: 90d\n  matches: 60d\n  deliveries: 30d\n  fetch_history: 30d\n",
)

# Rows are aged back from the real clock: the purge subprocess reads the real clock too.
NOW = datetime.now(UTC).replace(microsecond=0)


def test_cutoffs_are_the_ages_back_from_now() -> None:
    cut = cutoffs(RetentionConfig(entries=timedelta(days=90)), NOW)
    assert cut.entries == NOW - timedelta(days=90)
    assert cut.matches is None and cut.deliveries is None and cut.fetch_history is None


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (("entries", Entry), ("matches", Match), ("deliveries", Delivery))
        }


def _age(runtime: Runtime, guid: str, days: int) -> None:
    """Make one entry, its match and its delivery ``days`` old."""
    when = NOW - timedelta(days=days)
    with runtime.sessions() as session, session.begin():
        entry_id = session.scalar(select(Entry.id).where(Entry.guid == guid))
        session.execute(update(Entry).where(Entry.id == entry_id).values(first_seen_at=when))
        match_ids = list(session.scalars(select(Match.id).where(Match.entry_id == entry_id)))
        session.execute(update(Match).where(Match.id.in_(match_ids)).values(created_at=when))
        session.execute(
            update(Delivery).where(Delivery.match_id.in_(match_ids)).values(created_at=when)
        )


def test_purge_removes_what_is_older_than_retention_and_nothing_newer(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    smtp_url, inbox = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml")))
    settings = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_SMTP_URL=smtp_url
    )
    clock = [NOW]
    runtime = Runtime(settings, clock=lambda: clock[0])
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        assert service.run_once().alerts_sent == 2
        assert _counts(runtime) == {"entries": 3, "matches": 2, "deliveries": 2}
        _age(runtime, "old", 91)  # past every retention
        _age(runtime, "new", 29)  # within every retention

        env = {**os.environ, **settings.environ}
        dry = run_rightswatch("purge", "--dry-run", env=env, timeout=60)
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.startswith("would delete 3 rows (entries: 1, matches: 1, deliveries: 1,")
        assert _counts(runtime) == {"entries": 3, "matches": 2, "deliveries": 2}

        report = jobs.purge(runtime)
        assert (report.entries, report.matches, report.deliveries) == (1, 1, 1)
        # The old entry's text is gone; its keys stay.
        assert _counts(runtime) == {"entries": 3, "matches": 1, "deliveries": 1}
        with runtime.sessions() as session:
            rows = session.execute(select(Entry.guid, Entry.title, Entry.forgotten_at)).all()
        assert sorted((guid or "", title) for guid, title, _ in rows) == [
            ("", ""),
            ("new", "Azimjan Askarov released"),
            ("other", "Weather"),
        ]
        assert jobs.purge(runtime).total == 0

        # The feed still carries the old report, beside a new one: only the new one alerts.
        httpserver.clear()
        httpserver.expect_request("/feed.xml").respond_with_data(
            feed_xml([*ITEMS, {"guid": "later", "title": "Later", "description": "Askarov."}]),
            content_type="application/rss+xml",
        )
        clock[0] = NOW + timedelta(days=1)
        summary = service.run_once()
        assert (summary.entries_new, summary.alerts_sent) == (1, 0), summary.line()
        assert len(inbox.messages) == 2
    finally:
        runtime.close()


def test_a_match_still_being_delivered_is_kept(
    httpserver: HTTPServer,
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS[:1]), content_type="application/rss+xml"
    )
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml")))
    # No SMTP server: the e-mail delivery stays pending (retrying).
    settings = make_settings(config, RIGHTSWATCH_DATABASE_URL=pg_database)
    runtime = Runtime(settings, clock=lambda: NOW)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        service.run_once()
        _age(runtime, "old", 200)
        with runtime.sessions() as session:
            assert session.scalar(select(Delivery.status)) not in ("sent", "dead", "cancelled")
        assert jobs.purge(runtime).total == 0
        assert _counts(runtime) == {"entries": 1, "matches": 1, "deliveries": 1}
    finally:
        runtime.close()
