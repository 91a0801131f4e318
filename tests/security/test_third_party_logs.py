"""No library logger prints a URL, an address, a name or a secret, at INFO or DEBUG
(issue 15, item 2): httpx logs ``HTTP Request: POST http://<ip>:<port>/hooks/…`` after
the SSRF guard swapped the host for the address, which no redaction list can match;
such loggers are held at WARNING. A full ``run --once`` and an API session are checked."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.support.cli import process_env, run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.waits import wait_for

HOOK_PATH = "/hooks/partner-org-case-42"
ITEMS = [
    {"guid": "n1", "title": "Azimjan Askarov remembered", "description": "Azimjan Askarov."},
    {"guid": "n2", "title": "Толекан Исмаилова", "description": "Толекан Исмаилову видели."},
]
CONFIG = """\
feeds:
  - id: news
    url: {feed_url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    public: true
    people:
      - name: Azimjan Askarov
      - name: Tolekan Ismailova
        aliases: [Толекан Исмаилова]
subscribers:
  - id: desk
    email: desk.officer@example.org
    watchlists: [kg]
  - id: case-tracker
    webhook: {webhook_url}
    secret_env: CASE_TRACKER_WEBHOOK_SECRET
    watchlists: [kg]
"""
SECRETS = [
    "desk.officer",
    "Azimjan",
    "Askarov",
    "Толекан",
    "Исмаилов",
    "partner-org",
    "hooks/",
    "key=s3cr3t",
    "feed.xml",
    WEBHOOK_SECRET.removeprefix("whsec_"),
]


def assert_clean(log: str) -> None:
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} in the log:\n{log}"


@pytest.fixture
def logging_env(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> Callable[..., dict[str, str]]:
    """The environment of a process logging at ``level``: the feed serves ``items`` and the
    case tracker's webhook is ``webhook_url``; ``extra`` settings last."""

    def build(
        level: str, items: list[dict[str, str]], webhook_url: str, **extra: str
    ) -> dict[str, str]:
        httpserver.expect_request("/feed.xml").respond_with_data(
            feed_xml(items), content_type="application/rss+xml"
        )
        feed_url = httpserver.url_for("/feed.xml")
        config = write_config(CONFIG.format(feed_url=feed_url, webhook_url=webhook_url))
        return process_env(
            config,
            tmp_path / "data",
            RIGHTSWATCH_DATABASE_URL=pg_database,
            RIGHTSWATCH_SMTP_URL=smtp_server[0],
            RIGHTSWATCH_LOG_LEVEL=level,
            **extra,
        )

    return build


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_full_run_logs_no_url_address_or_name(
    level: str, httpserver: HTTPServer, logging_env: Callable[..., dict[str, str]]
) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    hook = httpserver.url_for(HOOK_PATH).replace("127.0.0.1", "localhost") + "?key=s3cr3t"
    env = logging_env(level, ITEMS, hook)
    done = run_rightswatch("run", "--once", env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "alerts: 4 sent" in done.stdout, done.stdout + done.stderr
    assert "INFO" in done.stderr
    assert_clean(done.stderr + done.stdout)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_an_api_session_logs_no_url_address_or_name(
    level: str,
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    logging_env: Callable[..., dict[str, str]],
    tmp_path: Path,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    inbox = smtp_server[1]
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    hook = httpserver.url_for(HOOK_PATH) + "?key=s3cr3t"
    port = free_port()
    env = logging_env(
        level,
        [],
        "https://x.invalid/h",
        RIGHTSWATCH_SECRET_KEY="a secret key for the test",
        RIGHTSWATCH_PUBLIC_URL=f"http://127.0.0.1:{port}",
        RIGHTSWATCH_API_TOKEN="operator-token-for-tests",
    )
    synced = run_rightswatch("run", "--once", env=env, timeout=180)
    assert synced.returncode == 0, synced.stderr
    start_process("api", "--port", str(port), env=env, name="api")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as api:
        assert wait_for(lambda: _answers(api), 60), (tmp_path / "api.log").read_text()
        mail = api.post(
            "/subscriptions", json={"email": "desk.officer@example.org", "watchlists": ["kg"]}
        )
        assert mail.status_code == 202, mail.text
        created = api.post("/subscriptions", json={"webhook": hook, "watchlists": ["kg"]})
        assert created.status_code == 201, created.text
        assert wait_for(lambda: len(inbox.messages) >= 1 and len(httpserver.log) >= 1, 30)
        listing = api.get(
            "/operator/subscribers", headers={"Authorization": "Bearer operator-token-for-tests"}
        )
        assert listing.status_code == 200
    log = (tmp_path / "api.log").read_text()
    assert "INFO" in log
    assert_clean(log + synced.stderr)


def _answers(api: httpx.Client) -> bool:
    try:
        return api.get("/healthz").status_code == 200
    except httpx.HTTPError:
        return False
