"""No library logger prints a URL, an address, a name or a secret, at INFO or DEBUG
(issue 15, item 2): httpx logs ``HTTP Request: POST http://<ip>:<port>/hooks/…`` after
the SSRF guard swapped the host for the address, which no redaction list can match;
such loggers are held at WARNING. A full ``run --once`` and an API session are checked."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
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


def environment(config: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        **extra,
    }


def assert_clean(log: str) -> None:
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} in the log:\n{log}"


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_full_run_logs_no_url_address_or_name(
    level: str,
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    smtp_url, _ = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    hook = httpserver.url_for(HOOK_PATH).replace("127.0.0.1", "localhost") + "?key=s3cr3t"
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml"), webhook_url=hook))
    env = environment(
        config,
        tmp_path,
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_LOG_LEVEL=level,
    )
    done = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "alerts: 4 sent" in done.stdout, done.stdout + done.stderr
    assert "INFO" in done.stderr
    assert_clean(done.stderr + done.stdout)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_an_api_session_logs_no_url_address_or_name(
    level: str,
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    smtp_url, inbox = smtp_server
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    hook = httpserver.url_for(HOOK_PATH) + "?key=s3cr3t"
    config = write_config(
        CONFIG.format(feed_url=httpserver.url_for("/feed.xml"), webhook_url="https://x.invalid/h")
    )
    port = free_port()
    env = environment(
        config,
        tmp_path,
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_LOG_LEVEL=level,
        RIGHTSWATCH_SECRET_KEY="a secret key for the test",
        RIGHTSWATCH_PUBLIC_URL=f"http://127.0.0.1:{port}",
        RIGHTSWATCH_API_TOKEN="operator-token-for-tests",
    )
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml([]), content_type="application/rss+xml"
    )
    synced = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
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
