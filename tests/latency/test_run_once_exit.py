"""`run --once` exit status: 0 all worked, 3 ran but a feed or an alert failed, 1 could not run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
from tests.support.feeds import feed_xml
from tests.support.receiver import WEBHOOK_SECRET

ITEMS = [{"guid": "n1", "title": "Azimjan Askarov", "description": "Azimjan Askarov spoke."}]
CONFIG = """\
defaults:
  host_delay: 0
feeds:
  - id: news
    url: {feed}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people:
      - name: Azimjan Askarov
subscribers:
  - id: tracker
    webhook: {hook}
    secret_env: CASE_TRACKER_WEBHOOK_SECRET
    watchlists: [kg]
"""


def run_once(tmp_path: Path, database_url: str, config: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(config, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    env = {
        **environ,
        "RIGHTSWATCH_DATABASE_URL": database_url,
        "RIGHTSWATCH_CONFIG": str(path),
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "RIGHTSWATCH_STARTUP_WAIT": "2",
    }
    return subprocess.run(
        [sys.executable, "-m", "worker", "run", "--once"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("feed_status", "hook_status", "exit_status", "summary"),
    [
        (
            200,
            200,
            0,
            "feeds: 1 polled, 0 failed | entries: 1 new | matches: 1 new | "
            "alerts: 1 sent, 0 failed",
        ),
        (
            200,
            500,
            3,
            "feeds: 1 polled, 0 failed | entries: 1 new | matches: 1 new | "
            "alerts: 0 sent, 1 failed",
        ),
        (
            404,
            200,
            3,
            "feeds: 1 polled, 1 failed | entries: 0 new | matches: 0 new | "
            "alerts: 0 sent, 0 failed",
        ),
    ],
)
def test_run_once_exit_status_says_whether_everything_worked(
    tmp_path: Path,
    pg_database: str,
    httpserver: HTTPServer,
    feed_status: int,
    hook_status: int,
    exit_status: int,
    summary: str,
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), status=feed_status, content_type="application/rss+xml"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("x", status=hook_status)
    config = CONFIG.format(feed=httpserver.url_for("/feed.xml"), hook=httpserver.url_for("/hook"))
    done = run_once(tmp_path, pg_database, config)
    assert done.returncode == exit_status, done.stderr
    assert done.stdout.strip().splitlines()[-1] == summary


def test_run_once_that_cannot_run_exits_1(tmp_path: Path) -> None:
    done = run_once(tmp_path, "postgresql://nobody@127.0.0.1:1/none", "feeds: []\n")
    assert done.returncode == 1
