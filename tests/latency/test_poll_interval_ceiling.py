"""The latency promise: a healthy feed is fetched at least every ``poll_interval``.

A quiet feed (entries days apart) is not polled less often for being quiet; only
the server's Cache-Control may push a poll later; a change of the interval
settings reschedules the feeds on the next tick — in-process with a clock the
test moves, and in a running `rightswatch run` on the real clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
from tests.support.feedlab import START, FeedLab
from tests.support.feeds import rss
from tests.support.waits import wait_for
from worker.db.models import Feed
from worker.db.session import make_engine, make_session_factory


def quiet_items(now: datetime) -> list[dict[str, str]]:
    """Five entries three days apart, the newest a day old."""
    return [
        {
            "guid": f"q{i}",
            "title": f"Appeal {i}",
            "description": "An urgent appeal.",
            "date": format_datetime(now - timedelta(days=1 + 3 * i)),
        }
        for i in range(5)
    ]


def config(url: str, feed_keys: str = "") -> str:
    return f"defaults:\n  host_delay: 0\nfeeds:\n  - id: quiet\n    url: {url}\n{feed_keys}"


def test_a_quiet_feed_is_polled_within_its_interval(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(quiet_items(START)))
    lab.configure(config(httpserver.url_for("/feed.xml"), "    poll_interval: 5m\n"))
    for _ in range(3):
        assert lab.poll("quiet").error is None
        feed = lab.feed("quiet")
        assert feed.publish_interval_seconds == 3 * 86400
        assert feed.last_polled_at == lab.now and feed.next_poll_at is not None
        assert timedelta(minutes=4, seconds=30) <= feed.next_poll_at - lab.now
        assert feed.next_poll_at - lab.now <= timedelta(minutes=5)
        lab.advance(timedelta(minutes=5))


def test_only_the_server_may_push_a_poll_later(lab: FeedLab, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss(quiet_items(START)), headers={"Cache-Control": "max-age=3600"}
    )
    lab.configure(config(httpserver.url_for("/feed.xml"), "    poll_interval: 5m\n"))
    assert lab.poll("quiet").error is None
    wait = lab.feed("quiet").next_poll_at - lab.now  # type: ignore[operator]
    assert timedelta(hours=1) <= wait <= timedelta(hours=1.1)


def test_changing_the_interval_settings_reschedules_on_the_next_sync(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(quiet_items(START)))
    url = httpserver.url_for("/feed.xml")
    lab.configure(config(url, "    poll_interval: 1h\n"))
    assert lab.poll("quiet").error is None
    polled = lab.now
    assert lab.feed("quiet").next_poll_at - polled > timedelta(minutes=50)  # type: ignore[operator]
    lab.advance(timedelta(minutes=1))
    lab.configure(config(url, "    poll_interval: 1h\n    max_poll_interval: 2m\n"))
    assert lab.feed("quiet").next_poll_at == polled + timedelta(minutes=2)
    lab.advance(timedelta(minutes=5))
    lab.configure(config(url, "    poll_interval: 1h\n    max_poll_interval: 2m\n"))  # same
    assert lab.feed("quiet").next_poll_at == polled + timedelta(minutes=2)
    lab.configure(config(url, "    poll_interval: 30m\n    max_poll_interval: 10m\n"))
    assert lab.feed("quiet").next_poll_at == polled + timedelta(minutes=2)  # never later


def _env(tmp_path: Path, database_url: str, config_path: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    return {
        **environ,
        "RIGHTSWATCH_DATABASE_URL": database_url,
        "RIGHTSWATCH_CONFIG": str(config_path),
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_BEAT_INTERVAL": "0.5",
    }


def _feed_times(sessions: Callable[..., object]) -> tuple[datetime | None, datetime | None]:
    with sessions() as session:  # type: ignore[attr-defined]
        feed = session.get(Feed, "quiet")
        return (feed.last_polled_at, feed.next_poll_at) if feed else (None, None)


def test_run_keeps_the_promise_and_follows_a_changed_interval(
    tmp_path: Path,
    pg_database: str,
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(rss(quiet_items(datetime.now(UTC))))
    url = httpserver.url_for("/feed.xml")
    config_path = tmp_path / "rightswatch.yaml"
    config_path.write_text(config(url, "    poll_interval: 5m\n"), encoding="utf-8")
    env = _env(tmp_path, pg_database, config_path)
    run = start_process("run", env=env, name="run")
    engine = make_engine(pg_database)
    sessions = make_session_factory(engine)
    try:
        assert wait_for(lambda: _feed_times(sessions)[0] is not None, 60), (
            tmp_path / "run.log"
        ).read_text()
        last, next_ = _feed_times(sessions)
        assert last is not None and next_ is not None
        assert timedelta(minutes=4, seconds=30) <= next_ - last <= timedelta(minutes=5)

        shown = subprocess.run(
            [sys.executable, "-m", "worker", "feeds"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        row = next(line for line in shown.stdout.splitlines() if line.startswith("quiet"))
        cells = row.split()  # FEED STATUS… LAST-DATE LAST-TIME NEXT-DATE NEXT-TIME ENTRIES …
        dates = [i for i, cell in enumerate(cells) if cell.count("-") == 2 and cell[:4].isdigit()]
        shown_last = datetime.fromisoformat(f"{cells[dates[0]]} {cells[dates[0] + 1]}")
        shown_next = datetime.fromisoformat(f"{cells[dates[1]]} {cells[dates[1] + 1]}")
        assert timedelta(0) < shown_next - shown_last <= timedelta(minutes=5)

        config_path.write_text(
            config(url, "    poll_interval: 5m\n    max_poll_interval: 2m\n"), encoding="utf-8"
        )

        def rescheduled() -> bool:
            last, next_ = _feed_times(sessions)
            return last is not None and next_ is not None and next_ - last <= timedelta(minutes=2)

        assert wait_for(rescheduled, 30), (tmp_path / "run.log").read_text()
        assert run.poll() is None
    finally:
        engine.dispose()


def test_a_default_max_poll_interval_alone_tightens_every_feed(
    lab: FeedLab, httpserver: HTTPServer
) -> None:
    """``defaults: max_poll_interval: 2m`` is valid beside the default min_poll_interval (5m)."""
    httpserver.expect_request("/feed.xml").respond_with_data(rss(quiet_items(START)))
    url = httpserver.url_for("/feed.xml")
    lab.configure(config(url))
    assert lab.poll("quiet").error is None
    polled = lab.now
    lab.configure(config(url).replace("defaults:\n", "defaults:\n  max_poll_interval: 2m\n"))
    assert lab.feed("quiet").next_poll_at == polled + timedelta(minutes=2)
    assert lab.poll("quiet").error is None
    assert lab.feed("quiet").next_poll_at - lab.now <= timedelta(minutes=2)  # type: ignore[operator]
