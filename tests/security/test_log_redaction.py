"""A full `run --once` at INFO logs ids, never a defender's name, an address or a secret."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from tests.support.cli import process_env, run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.scenario import DESK_OFFICER_AND_TRACKER, REMEMBERED, watch_config

ITEMS = [
    REMEMBERED,
    {"guid": "n2", "title": "Азимжан Аскаров", "description": "Bir Duino called on deputies."},
]
CONFIG = watch_config(
    "{feed_url}", aliases=True, keywords=True, subscribers=DESK_OFFICER_AND_TRACKER
)


def test_info_log_of_a_full_run_names_nobody(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    smtp_url, inbox = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    hook = httpserver.url_for("/hook").replace("http://", "http://tracker:hunter2pass@")
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml"), webhook_url=hook))
    env = process_env(
        config,
        str(tmp_path / "data"),
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_LOG_LEVEL="INFO",
    )
    done = run_rightswatch("run", "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert "alerts: 4 sent" in done.stdout, done.stdout + done.stderr
    assert len(inbox.messages) == 2
    log = done.stderr + done.stdout
    assert "INFO" in log
    for secret in (
        "desk.officer@example.org",
        "Azimjan",
        "Askarov",
        "Азимжан",
        "Аскаров",
        "hunter2pass",
        WEBHOOK_SECRET,
        WEBHOOK_SECRET.removeprefix("whsec_"),
    ):
        assert secret not in log, f"{secret!r} in the log:\n{log}"


def test_a_careless_log_line_is_scrubbed(
    write_config: Callable[..., Path], make_settings: Callable[..., Any]
) -> None:
    import io
    import logging

    from worker import logs, redaction

    config = write_config(
        CONFIG.format(
            feed_url="http://feeds.invalid/f.xml", webhook_url="https://hooks.example.net/x?k=1"
        )
    )
    stream = io.StringIO()
    logs.setup("INFO", stream=stream)
    redaction.install(make_settings(config))
    try:
        logging.getLogger("worker.test").info(
            "matched AZIMJAN ASKAROV (alias %s) for desk.officer@example.org via %s",
            "Азимжан Аскаров",
            "https://hooks.example.net/x?k=1",
        )
        try:
            raise ValueError("Askarov failed")
        except ValueError:
            logging.getLogger("worker.test").exception("boom")
    finally:
        logging.getLogger().handlers.clear()
    text = stream.getvalue()
    assert "matched [redacted] (alias [redacted]) for d***@example.org via [redacted]" in text
    assert "Askarov" not in text and "hooks.example.net" not in text
