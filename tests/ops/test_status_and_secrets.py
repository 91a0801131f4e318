"""`rightswatch status` and `generate-secret` as an operator without Prometheus meets them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
from tests.support.feeds import feed_xml
from worker.commands.secrets import new_webhook_secret

CONFIG = """\
feeds:
  - id: news
    title: Test news
    url: {feed_url}
  - id: broken
    title: Broken
    url: {broken_url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people:
      - name: Azimjan Askarov
subscribers:
  - id: tracker
    webhook: {hook_url}
    secret_env: TRACKER_SECRET
    watchlists: [kg]
"""


def rightswatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd=ROOT,
        timeout=120,
    )


def test_generate_secret_makes_a_secret_check_config_accepts(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    made = rightswatch("generate-secret", env={})
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret), secret
    assert rightswatch("generate-secret", env={}).stdout.strip() != secret
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        CONFIG.format(
            feed_url=httpserver.url_for("/feed.xml"),
            broken_url=httpserver.url_for("/gone.xml"),
            hook_url="https://hooks.example.org/rw",
        )
    )
    checked = rightswatch("check-config", str(config), env={"TRACKER_SECRET": secret})
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_status_shows_feeds_outbox_and_workers(
    httpserver: HTTPServer,
    tmp_path: Path,
    pg_database: str,
    redis_url: str,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml([{"guid": "s1", "title": "Report", "description": "Azimjan Askarov spoke."}]),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/gone.xml").respond_with_data("no", status=500)
    httpserver.expect_request("/hook").respond_with_data("ok")
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        CONFIG.format(
            feed_url=httpserver.url_for("/feed.xml"),
            broken_url=httpserver.url_for("/gone.xml"),
            hook_url=httpserver.url_for("/hook"),
        )
    )
    env = {
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": pg_database,
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "TRACKER_SECRET": new_webhook_secret(),
    }
    ran = rightswatch("run", "--once", env=env)
    assert "alerts: 1 sent" in ran.stdout + ran.stderr, ran.stdout + ran.stderr

    # Embedded mode: no workers needed; a failing feed makes the exit status 1.
    status = rightswatch("status", env=env)
    assert "feeds: 2 active" in status.stdout, status.stdout + status.stderr
    assert "1 failing" in status.stdout, status.stdout
    assert re.search(r"^  broken: failing since", status.stdout, re.M), status.stdout
    assert "outbox: 1 sent" in status.stdout
    assert "embedded mode" in status.stdout
    assert status.returncode == 1

    # With a broker: no worker answers, then one does.
    broker_env = {**env, "RIGHTSWATCH_BROKER_URL": redis_url}
    httpserver.clear()
    httpserver.expect_request("/gone.xml").respond_with_data("no", status=500)
    alone = rightswatch("status", env=broker_env)
    assert "workers: none answered" in alone.stdout, alone.stdout + alone.stderr
    start_process("worker", "--concurrency", "1", env={**os.environ, **broker_env}, name="w")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answered = rightswatch("status", env=broker_env)
        if "workers: 1 answering" in answered.stdout:
            break
        time.sleep(1)
    else:
        raise AssertionError(answered.stdout + answered.stderr)
