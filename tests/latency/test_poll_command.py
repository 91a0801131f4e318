"""`rightswatch poll FEED_ID… | --all`: poll now, in this process or through the workers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
from tests.support.cli import process_env
from tests.support.feeds import feed_xml
from tests.support.scenario import NO_HOST_DELAY, TRACKER, kg_watchlist
from tests.support.waits import wait_for

ITEMS = [
    {"guid": "p1", "title": "Azimjan Askarov", "description": "Azimjan Askarov spoke."},
    {"guid": "p2", "title": "Weather", "description": "Sunny."},
]
CONFIG = (
    NO_HOST_DELAY
    + "feeds:\n  - id: news\n    url: {feed}\n  - id: broken\n    url: {missing}\n"
    + kg_watchlist(TRACKER)
)


@pytest.fixture
def env(tmp_path: Path, pg_database: str, httpserver: HTTPServer) -> dict[str, str]:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    httpserver.expect_request("/missing.xml").respond_with_data("no", status=404)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        CONFIG.format(
            feed=httpserver.url_for("/feed.xml"),
            missing=httpserver.url_for("/missing.xml"),
            hook=httpserver.url_for("/hook"),
        ),
        encoding="utf-8",
    )
    return process_env(config, tmp_path / "data", RIGHTSWATCH_DATABASE_URL=pg_database)


def poll(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "poll", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def hooks(server: HTTPServer) -> int:
    return sum(1 for request, _ in server.log if request.path == "/hook")


def test_poll_a_feed_now_and_send_its_alerts(env: dict[str, str], httpserver: HTTPServer) -> None:
    first = poll("news", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "news: HTTP 200: 2 new entries, 1 new matches, alerts: 1 sent, 0 failed"
    ]
    assert hooks(httpserver) == 1
    again = poll("news", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["news: HTTP 200: 0 new entries, 0 new matches"]
    assert hooks(httpserver) == 1


def test_poll_all_reports_each_feed_and_exits_3_when_one_failed(env: dict[str, str]) -> None:
    done = poll("--all", env=env)
    assert done.returncode == 3, done.stderr
    assert done.stdout.splitlines() == [
        "broken: failed: HTTP 404 NOT FOUND",
        "news: HTTP 200: 2 new entries, 1 new matches, alerts: 1 sent, 0 failed",
    ]


def test_poll_needs_known_feeds(env: dict[str, str]) -> None:
    unknown = poll("news", "nope", env=env)
    assert unknown.returncode == 1
    assert "no active feed nope in the configuration" in unknown.stderr
    neither = poll(env=env)
    assert neither.returncode == 2
    assert "name the feeds to poll, or give --all" in neither.stderr


def test_poll_through_the_broker_reports_the_workers_results(
    env: dict[str, str],
    redis_url: str,
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    env = {**env, "RIGHTSWATCH_BROKER_URL": redis_url}
    migrated = subprocess.run(
        [sys.executable, "-m", "worker", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    start_process("worker", "--concurrency", "1", env=env, name="worker")
    done = poll("news", "broken", "--timeout", "90", env=env)
    assert done.returncode == 3, done.stderr + (tmp_path / "worker.log").read_text()
    assert done.stdout.splitlines() == [
        "news: HTTP 200: 2 new entries, 1 new matches, alerts queued for the workers",
        "broken: failed: HTTP 404 NOT FOUND",
    ]
    assert wait_for(lambda: hooks(httpserver) == 1, 60)
