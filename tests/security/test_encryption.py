"""Encryption at rest: a dump of the database names no subscriber, defender or secret."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.support.cli import run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.scenario import DESK_OFFICER_AND_TRACKER, REMEMBERED, watch_config
from worker.db.models import Match, Subscriber
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.security.crypto import DecryptionError, Keyring, new_key, parse_key
from worker.settings import Settings

API_SECRET = "whsec_QXBpU3Vic2NyaWJlclNlY3JldEtleTEyMzQ1Njc4"
ITEMS = [
    REMEMBERED,
    {"guid": "n2", "title": "Аскаров Азимжан", "description": "Bir Duino called on deputies."},
]
CONFIG = watch_config("{feed_url}", aliases=True, subscribers=DESK_OFFICER_AND_TRACKER)
SENSITIVE = (
    "desk.officer",
    "api.person",
    "Azimjan",
    "Askarov",
    "Азимжан",
    "Аскаров",
    "/hook",
    WEBHOOK_SECRET.removeprefix("whsec_"),
    API_SECRET.removeprefix("whsec_"),
)


def test_keyring_round_trip_rotation_and_blind_index() -> None:
    old, new = parse_key(new_key()), parse_key(new_key())
    sealed_old = Keyring(old).encrypt("desk@example.org")
    assert "desk" not in sealed_old and sealed_old.startswith("rw1:")
    assert Keyring(old).encrypt("x") != Keyring(old).encrypt("x")  # a fresh nonce each time
    mixed = Keyring(new, [old])
    assert mixed.decrypt(sealed_old) == "desk@example.org"
    assert not mixed.is_current(sealed_old) and mixed.is_current(mixed.encrypt("a"))
    assert mixed.decrypt(Keyring(None).encrypt("plain")) == "plain"
    assert mixed.decrypt("written before encryption") == "written before encryption"
    with pytest.raises(DecryptionError, match="neither RIGHTSWATCH_ENCRYPTION_KEY"):
        Keyring(new).decrypt(sealed_old)
    assert Keyring(new).blind_index(" Desk@Example.org") == Keyring(new).blind_index(
        "desk@example.org"
    )
    assert Keyring(new).blind_index("a@b.org") != Keyring(old).blind_index("a@b.org")


def _stack(
    httpserver: HTTPServer, smtp_server: tuple[str, Any], write_config: Callable[..., Path]
) -> tuple[Path, str]:
    smtp_url, _inbox = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(
        CONFIG.format(
            feed_url=httpserver.url_for("/feed.xml"), webhook_url=httpserver.url_for("/hook")
        )
    )
    return config, smtp_url


def _run(settings: Settings) -> str:
    runtime = Runtime(settings)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        line = service.run_once().line()
        with runtime.sessions() as session, session.begin():
            if session.get(Subscriber, "api-sub") is None:
                session.add(
                    Subscriber(
                        id="api-sub",
                        channel="email",
                        address="api.person@example.net",
                        managed_by="api",
                        webhook_secret=API_SECRET,
                    )
                )
        with runtime.sessions() as session:
            found = session.scalars(
                select(Subscriber.id).where(
                    Subscriber.address_index
                    == Keyring(settings.encryption_key).blind_index("API.person@example.net")
                )
            ).all()
            assert found == ["api-sub"]
            snippets = [m.snippet for m in session.scalars(select(Match))]
            assert snippets and all("Askarov" in s or "Аскаров" in s for s in snippets)
        return line
    finally:
        runtime.close()


def _pg_dump(url: str) -> str:
    parts = make_url(url)
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        pytest.skip("pg_dump is not installed")
    done = subprocess.run(
        [
            pg_dump,
            "--no-owner",
            "-h",
            parts.host or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            parts.database or "",
        ],
        env={**os.environ, "PGPASSWORD": parts.password or ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"pg_dump cannot dump this server: {done.stderr.strip()[:200]}")
    return done.stdout


def _files(folder: Path) -> str:
    return "".join(
        p.read_bytes().decode("utf-8", "replace") for p in folder.rglob("*") if p.is_file()
    )


def test_a_postgresql_dump_names_nobody(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    config, smtp_url = _stack(httpserver, smtp_server, write_config)
    settings = make_settings(
        config,
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_ENCRYPTION_KEY=new_key(),
    )
    assert _run(settings).endswith("matches: 2 new | alerts: 4 sent, 0 failed")
    dump = _pg_dump(pg_database)
    assert "COPY public.matches" in dump and "rw1:" in dump
    for secret in SENSITIVE:
        assert secret not in dump, secret


def test_the_sqlite_file_names_nobody_and_rotate_key_moves_everything(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    config, smtp_url = _stack(httpserver, smtp_server, write_config)
    # First without a key: stored in plain text (marked), as an operator may choose.
    plain = make_settings(config, RIGHTSWATCH_SMTP_URL=smtp_url)
    assert _run(plain).endswith("alerts: 4 sent, 0 failed")
    data = tmp_path / "data"
    assert "Askarov" in _files(data)

    first, second = new_key(), new_key()
    env = {**os.environ, **plain.environ, "RIGHTSWATCH_ENCRYPTION_KEY": first}
    done = run_rightswatch("rotate-key", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("re-encrypted ")
    with_first = make_settings(
        config, RIGHTSWATCH_SMTP_URL=smtp_url, RIGHTSWATCH_ENCRYPTION_KEY=first
    )
    assert _run(with_first).endswith("matches: 0 new | alerts: 0 sent, 0 failed")
    _vacuum(with_first)
    for secret in SENSITIVE:
        assert secret not in _files(data), secret

    env |= {"RIGHTSWATCH_ENCRYPTION_KEY": second, "RIGHTSWATCH_ENCRYPTION_OLD_KEYS": first}
    done = run_rightswatch("rotate-key", env=env)
    assert done.returncode == 0, done.stderr
    with_second = make_settings(
        config, RIGHTSWATCH_SMTP_URL=smtp_url, RIGHTSWATCH_ENCRYPTION_KEY=second
    )
    assert _run(with_second).endswith("matches: 0 new | alerts: 0 sent, 0 failed")
    second_id = Keyring(parse_key(second)).current_id
    runtime = Runtime(with_second)
    try:
        with runtime.engine.connect() as connection:
            values = connection.execute(text("SELECT address FROM subscribers")).scalars().all()
            values += connection.execute(text("SELECT snippet FROM matches")).scalars().all()
            values += connection.execute(text("SELECT title FROM entries")).scalars().all()
    finally:
        runtime.close()
    assert values and all(v.startswith(f"rw1:{second_id}:") for v in values)


def _vacuum(settings: Settings) -> None:
    """SQLite keeps deleted page contents until VACUUM (the docs tell operators so)."""
    runtime = Runtime(settings)
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            connection.execute(text("VACUUM"))
    finally:
        runtime.close()
