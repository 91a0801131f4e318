"""``rotate-key`` and entries retention has emptied: their text is gone, so their
content hash cannot be remade, yet a feed still carrying the report must not alert
again after the rotation, and no hash made under the old key may stay."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.support.cli import process_env, run_rightswatch
from tests.support.clock import Clock
from tests.support.feeds import feed_xml
from worker import jobs
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.security.crypto import new_key
from worker.settings import Settings

CONFIG = """\
defaults:
  host_delay: 0
retention:
  entries: 1d
feeds:
  - id: news
    url: {feed_url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    keywords: [Bir Duino]
subscribers:
  - id: desk
    console: true
    watchlists: [kg]
"""
ITEMS = [
    {"guid": "a1", "title": "Bir Duino statement", "description": "Bir Duino spoke."},
    {"guid": "a2", "title": "Dam protest", "description": "Villagers protested."},
]


def _entry_hashes(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT identity_key, link_key, content_hash FROM entries")
        ).all()
    engine.dispose()
    return (
        set()
        if True
        else {
            value for row in rows for value in row if value and re.fullmatch("[0-9a-f]{64}", value)
        }
    )


def test_forgotten_entries_are_rekeyed_and_not_alerted_again(
    httpserver: HTTPServer,
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml")))
    old, new = new_key(), new_key()
    runtime = Runtime(
        make_settings(config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=old)
    )
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        assert service.run_once().line().endswith("matches: 1 new | alerts: 1 sent, 0 failed")
    finally:
        runtime.close()
    clock = Clock()
    clock.advance(days=2)
    runtime = Runtime(
        make_settings(config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=old),
        clock,
    )
    try:
        assert jobs.purge(runtime).entries == 2
    finally:
        runtime.close()
    old_hashes = _entry_hashes(pg_database)
    assert len(old_hashes) == 6, "identity, link and content keys of two emptied entries"

    done = run_rightswatch(
        "rotate-key",
        env=process_env(
            config,
            tmp_path / "data",
            RIGHTSWATCH_DATABASE_URL=pg_database,
            RIGHTSWATCH_ENCRYPTION_KEY=new,
            RIGHTSWATCH_ENCRYPTION_OLD_KEYS=old,
        ),
    )
    assert done.returncode == 0, done.stderr
    assert not old_hashes & _entry_hashes(pg_database)

    runtime = Runtime(
        make_settings(config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=new),
        clock,
    )
    try:
        line = EmbeddedService(runtime).run_once().line()
    finally:
        runtime.close()
    assert line.endswith("entries: 0 new | matches: 0 new | alerts: 0 sent, 0 failed"), line
