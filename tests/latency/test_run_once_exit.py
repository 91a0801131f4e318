"""`run --once` exit status: 0 all worked, 3 ran but a feed or an alert failed, 1 could not run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.cli import process_env, run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.scenario import NO_HOST_DELAY, TRACKER, watch_config

ITEMS = [{"guid": "n1", "title": "Azimjan Askarov", "description": "Azimjan Askarov spoke."}]
CONFIG = watch_config("{feed}", subscribers=TRACKER, prelude=NO_HOST_DELAY)


def run_once(tmp_path: Path, database_url: str, config: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(config, encoding="utf-8")
    env = process_env(
        path,
        tmp_path / "data",
        RIGHTSWATCH_DATABASE_URL=database_url,
        RIGHTSWATCH_STARTUP_WAIT="2",
    )
    return run_rightswatch("run", "--once", env=env)


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
