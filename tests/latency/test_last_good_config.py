"""The last good configuration keeps running: a YAML broken under `rightswatch run`, and
under a Celery worker and beat.

Polling and alerts go on under the last valid configuration; `rightswatch health`
exits non-zero naming file:line, the metrics say ``rightswatch_config_valid 0``, the
operators get one e-mail (a real SMTP server); fixing the file clears it all and
tells them once more.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import ROOT
from tests.support.cli import process_env
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from tests.support.scenario import NO_HOST_DELAY, TRACKER, kg_watchlist
from tests.support.waits import wait_for

ITEM = {
    "guid": "a1",
    "title": "Azimjan Askarov remembered",
    "description": "Friends of Azimjan Askarov gathered.",
}
LATER = {
    "guid": "a2",
    "title": "A court hears the case of Azimjan Askarov",
    "description": "Azimjan Askarov's lawyers spoke.",
}

CONFIG = (
    NO_HOST_DELAY
    + "feeds:\n  - id: news\n    url: {feed}\n    poll_interval: 1s\n"
    + kg_watchlist(TRACKER)
    + "operators:\n  - id: ops\n    email: ops@example.org\n"
)
BROKEN_LINE = 6
"""The line that loses one space of its indent."""


class FeedServer:
    """A feed whose items the test changes while `run` polls it."""

    def __init__(self) -> None:
        self.items = [ITEM]
        self.lock = threading.Lock()

    def handler(self, _: Request) -> Response:
        with self.lock:
            return Response(feed_xml(self.items), content_type="application/rss+xml")


def _env(tmp_path: Path, database_url: str, config: Path, **extra: str) -> dict[str, str]:
    return process_env(
        config,
        tmp_path / "data",
        RIGHTSWATCH_DATABASE_URL=database_url,
        RIGHTSWATCH_BEAT_INTERVAL="0.5",
        **extra,
    )


def health(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "worker", "health"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Stack:
    env: dict[str, str]
    config: Path
    good: str
    broken: str
    feed: FeedServer
    mails: list[EmailMessage]
    metrics_port: int


@pytest.fixture
def stack(
    tmp_path: Path, pg_database: str, httpserver: HTTPServer, smtp_server: tuple[str, Any]
) -> Stack:
    smtp_url, inbox = smtp_server
    feed = FeedServer()
    httpserver.expect_request("/feed.xml").respond_with_handler(feed.handler)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    good = CONFIG.format(feed=httpserver.url_for("/feed.xml"), hook=httpserver.url_for("/hook"))
    assert good.splitlines()[BROKEN_LINE - 1] == "    poll_interval: 1s"
    broken = good.replace("\n    poll_interval: 1s\n", "\n   poll_interval: 1s\n")
    config = tmp_path / "rightswatch.yaml"
    config.write_text(good, encoding="utf-8")
    metrics_port = free_port()
    env = _env(
        tmp_path,
        pg_database,
        config,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@rights.example.org>",
        RIGHTSWATCH_METRICS_PORT=str(metrics_port),
    )
    return Stack(env, config, good, broken, feed, inbox.messages, metrics_port)


def break_and_fix(
    stack: Stack, httpserver: HTTPServer, logs: Callable[[], str], running: Callable[[], bool]
) -> None:
    """Break the YAML under running processes, check they carry on and say so; fix it."""
    config, mails = stack.config, stack.mails

    def hooks() -> int:
        return sum(1 for request, _ in httpserver.log if request.path == "/hook")

    def config_valid_gauge() -> str:
        try:
            url = f"http://127.0.0.1:{stack.metrics_port}/metrics"
            text = httpx.get(url, timeout=5).text
        except httpx.HTTPError:
            return ""
        lines = text.splitlines()
        return next((ln for ln in lines if ln.startswith("rightswatch_config_valid")), "")

    assert wait_for(lambda: hooks() == 1, 90), logs()
    assert health(stack.env).returncode == 0
    assert wait_for(lambda: config_valid_gauge() == "rightswatch_config_valid 1.0", 30)

    config.write_text(stack.broken, encoding="utf-8")
    assert wait_for(lambda: health(stack.env).returncode == 1, 60), logs()
    report = health(stack.env)
    assert report.returncode == 1
    (line,) = (ln for ln in report.stdout.splitlines() if ln.startswith("config:"))
    assert line.startswith("config: FAILING: invalid since ")
    assert f"({config}:{BROKEN_LINE}: invalid YAML: " in line
    assert wait_for(lambda: config_valid_gauge() == "rightswatch_config_valid 0.0", 30)

    with stack.feed.lock:  # polling and alerts go on under the last good configuration
        stack.feed.items = [ITEM, LATER]
    assert wait_for(lambda: hooks() == 2, 60), logs()
    assert wait_for(lambda: len(mails) == 1, 30), logs()
    (invalid,) = mails
    assert invalid["To"] == "ops@example.org"
    assert invalid["Subject"] == "[rightswatch] the configuration file is invalid"
    body = invalid.get_body(("plain",))
    assert body is not None and f"{config}:{BROKEN_LINE}: invalid YAML" in body.get_content()
    assert f"{config}:{BROKEN_LINE}: invalid YAML" in logs()
    assert "Traceback" not in logs()

    config.write_text(stack.good + "# fixed\n", encoding="utf-8")
    assert wait_for(lambda: len(mails) == 2, 60), logs()
    assert mails[1]["Subject"] == "[rightswatch] the configuration file is valid again"
    fixed = health(stack.env)
    assert fixed.returncode == 0, fixed.stdout
    assert "config: ok: valid" in fixed.stdout.splitlines()
    assert wait_for(lambda: config_valid_gauge() == "rightswatch_config_valid 1.0", 30)
    assert len(mails) == 2 and running()


def test_a_yaml_broken_while_run_runs_keeps_the_last_good_config(
    stack: Stack,
    tmp_path: Path,
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    run = start_process("run", env=stack.env, name="run")
    log = tmp_path / "run.log"
    break_and_fix(stack, httpserver, log.read_text, lambda: run.poll() is None)
    assert log.read_text().count("is invalid; still running the last valid one") == 1


def test_a_yaml_broken_under_celery_worker_and_beat_keeps_the_last_good_config(
    stack: Stack,
    tmp_path: Path,
    redis_url: str,
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    env = stack.env = {**stack.env, "RIGHTSWATCH_BROKER_URL": redis_url}
    migrated = subprocess.run(
        [sys.executable, "-m", "worker", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    worker = start_process("worker", "--concurrency", "2", env=env, name="worker")
    beat = start_process("beat", env=env, name="beat")

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))

    break_and_fix(stack, httpserver, logs, lambda: worker.poll() is None and beat.poll() is None)
    assert "ConfigError" not in logs()
