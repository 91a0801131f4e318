"""``rotate-key`` leaves no receiver in the clear and no hash of the old key (issue 15,
item 4): a delivery written before receivers were keyed (``webhook:http://host:port``)
and one keyed under the old key both get the new key's receiver key, so the
per-destination limit still groups them with new deliveries, and an entry seen before
the rotation is not alerted again — also one retention has emptied, whose text is gone
so its content hash cannot be remade."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pytest_httpserver import HTTPServer

from tests.support.cli import process_env, run_rightswatch
from tests.support.clock import Clock
from tests.support.feeds import feed_xml
from worker import jobs
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.security.crypto import Keyring, new_key, parse_key
from worker.settings import Settings

CONFIG = """\
defaults:
  host_delay: 0
feeds:
  - id: news
    url: {feed_url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    keywords: [Bir Duino]
subscribers:
  - id: tracker
    webhook: {hook}
    secret_env: CASE_TRACKER_WEBHOOK_SECRET
    watchlists: [kg]
"""
OLD_ITEMS = [
    {"guid": "a1", "title": "Bir Duino statement", "description": "Bir Duino spoke."},
    {"guid": "a2", "title": "Bir Duino report", "description": "Bir Duino wrote."},
]
NEW_ITEM = {"guid": "b", "title": "Bir Duino appeal", "description": "Bir Duino appealed."}
_HASH = re.compile(r"[0-9a-f]{64}")


def _serve(httpserver: HTTPServer, items: list[dict[str, str]]) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(items), content_type="application/rss+xml"
    )
    httpserver.expect_request("/hooks/case", method="POST").respond_with_data("ok")


def _run(settings: Settings, clock: Clock | None = None) -> str:
    runtime = Runtime(settings) if clock is None else Runtime(settings, clock)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        return service.run_once().line()
    finally:
        runtime.close()


def _cells(url: str) -> set[str]:
    """Every non-null value of every column of every table, as text."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            columns = connection.execute(
                sa.text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public'"
                )
            ).all()
            return {
                str(value)
                for table, name in columns
                for value in connection.execute(
                    sa.text(f'SELECT "{name}"::text FROM "{table}" WHERE "{name}" IS NOT NULL')
                ).scalars()
            }
    finally:
        engine.dispose()


def _rotate(config: Path, data: Path, database: str, old: str, new: str) -> str:
    """``rightswatch rotate-key`` from ``old`` to ``new``, as an operator runs it."""
    done = run_rightswatch(
        "rotate-key",
        env=process_env(
            config,
            data,
            RIGHTSWATCH_DATABASE_URL=database,
            RIGHTSWATCH_ENCRYPTION_KEY=new,
            RIGHTSWATCH_ENCRYPTION_OLD_KEYS=old,
        ),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _posts(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/hooks/case")


def test_rotate_key_rekeys_legacy_and_old_key_receivers(
    httpserver: HTTPServer,
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    _serve(httpserver, OLD_ITEMS)
    hook = f"http://127.0.0.1:{httpserver.port}/hooks/case"  # the feed is at localhost
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml"), hook=hook))
    old, new = new_key(), new_key()
    env = {"RIGHTSWATCH_DATABASE_URL": pg_database, "RIGHTSWATCH_DELIVERY_CONCURRENCY": "1"}
    assert _run(make_settings(config, RIGHTSWATCH_ENCRYPTION_KEY=old, **env)).endswith(
        "matches: 2 new | alerts: 2 sent, 0 failed"
    )
    assert _posts(httpserver) == 2
    receiver = f"http://127.0.0.1:{httpserver.port}"
    # One row as written before receivers were keyed, still being sent by a live worker.
    engine = sa.create_engine(pg_database)
    with engine.begin() as connection:
        legacy = connection.execute(sa.text("SELECT min(id) FROM deliveries")).scalar_one()
        connection.execute(
            sa.text(
                "UPDATE deliveries SET destination = :plain, status = 'sending', "
                "claimed_until = :until WHERE id = :id"
            ),
            {
                "plain": f"webhook:{receiver}",
                "until": datetime.now(UTC) + timedelta(days=1),
                "id": legacy,
            },
        )
    before = _cells(pg_database)
    old_ring = Keyring(parse_key(old))
    old_hashes = {h for cell in before for h in _HASH.findall(cell)}
    assert old_ring.blind_index(receiver) in old_hashes, "the other row: keyed, old key"

    assert "and 2 delivery receivers under key" in _rotate(
        config, tmp_path / "data", pg_database, old, new
    )

    after = _cells(pg_database)
    assert not any("127.0.0.1" in cell for cell in after)
    assert not old_hashes & {h for cell in after for h in _HASH.findall(cell)}
    assert old_ring.content_key_id not in after
    with engine.connect() as connection:
        destinations = set(
            connection.execute(sa.text("SELECT destination FROM deliveries")).scalars()
        )
    assert destinations == {f"webhook:{Keyring(parse_key(new)).blind_index(receiver)}"}

    # The old items are known (no alert again); the new one waits for the row in flight
    # to the same receiver (limit 1), and goes once that row is done.
    _serve(httpserver, [*OLD_ITEMS, NEW_ITEM])
    settings = make_settings(config, RIGHTSWATCH_ENCRYPTION_KEY=new, **env)
    clock = Clock()
    assert _run(settings, clock).endswith(
        "entries: 1 new | matches: 1 new | alerts: 0 sent, 0 failed"
    )
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE deliveries SET status = 'sent', claimed_until = NULL WHERE id = :id"),
            {"id": legacy},
        )
    engine.dispose()
    clock.advance(minutes=1)  # past the deferral
    assert _run(settings, clock).endswith("matches: 0 new | alerts: 1 sent, 0 failed")
    assert _posts(httpserver) == 3


FORGETTING = "retention:\n  entries: 1d\n" + CONFIG
FORGOTTEN_ITEMS = [
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
    return {value for row in rows for value in row if value and _HASH.fullmatch(value)}


def test_forgotten_entries_are_rekeyed_and_not_alerted_again(
    httpserver: HTTPServer,
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    _serve(httpserver, FORGOTTEN_ITEMS)
    hook = httpserver.url_for("/hooks/case")
    config = write_config(FORGETTING.format(feed_url=httpserver.url_for("/feed.xml"), hook=hook))
    old, new = new_key(), new_key()
    with_old = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=old
    )
    assert _run(with_old).endswith("matches: 1 new | alerts: 1 sent, 0 failed")
    clock = Clock()
    clock.advance(days=2)
    runtime = Runtime(with_old, clock)
    try:
        assert jobs.purge(runtime).entries == 2
    finally:
        runtime.close()
    old_hashes = _entry_hashes(pg_database)
    assert len(old_hashes) == 6, "identity, link and content keys of two emptied entries"

    _rotate(config, tmp_path / "data", pg_database, old, new)
    assert not old_hashes & _entry_hashes(pg_database)

    with_new = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_ENCRYPTION_KEY=new
    )
    line = _run(with_new, clock)
    assert line.endswith("entries: 0 new | matches: 0 new | alerts: 0 sent, 0 failed"), line
