"""A Celery worker killed with SIGKILL between sending and recording loses nothing.

Real processes on Redis and PostgreSQL: the receiver holds the first request
open while the worker's whole process group is killed; a new worker takes the
delivery back when its (short) claim lease runs out, and the receiver sees the
same webhook-id once more: at most a repeat, never a loss.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from celery import Celery
from pytest_httpserver import HTTPServer

from tests.support.cli import process_env
from tests.support.feeds import feed_xml
from tests.support.receiver import Receiver
from tests.support.waits import wait_for

ITEMS = [
    {
        "guid": "k1",
        "title": "Tolekan Ismailova detained",
        "description": "Police detained Tolekan Ismailova.",
    }
]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def env(
    httpserver: HTTPServer,
    receiver: Receiver,
    pg_database: str,
    redis_url: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> dict[str, str]:
    httpserver.expect_request("/feed.xml").respond_with_data(feed_xml(ITEMS))
    config = write_config(
        f"""\
        feeds:
          - {{id: news, url: "{httpserver.url_for("/feed.xml")}", poll_interval: 1h}}
        watchlists:
          - {{id: kg, title: Kyrgyzstan, people: [{{name: Tolekan Ismailova}}]}}
        subscribers:
          - id: tracker
            webhook: {receiver.url()}
            secret_env: CASE_TRACKER_WEBHOOK_SECRET
            watchlists: [kg]
        """
    )
    return process_env(
        config,
        str(tmp_path / "data"),
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_BROKER_URL=redis_url,
        RIGHTSWATCH_DELIVERY_LEASE="3",
        RIGHTSWATCH_BEAT_INTERVAL="1",
    )


def test_sigkill_between_send_and_record_repeats_at_most_once(
    env: dict[str, str],
    receiver: Receiver,
    start_process: Callable[..., subprocess.Popen[bytes]],
    pg_database: str,
    tmp_path: Path,
) -> None:
    migrated = subprocess.run(
        [sys.executable, "-m", "worker", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    receiver.delay = 60  # hold the first request open: the worker is inside send()
    worker = start_process("worker", "--concurrency", "1", env=env, name="worker1")
    start_process("beat", env=env, name="beat")
    Celery(broker=env["RIGHTSWATCH_BROKER_URL"]).send_task("rightswatch.poll_due_feeds")

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))

    assert receiver.arrived.wait(90), logs()
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    receiver.delay = 0
    engine = sa.create_engine(pg_database)
    try:
        with engine.connect() as conn:
            status = conn.execute(sa.text("SELECT status FROM deliveries")).scalar_one()
        assert status == "sending"
        start_process("worker", "--concurrency", "1", env=env, name="worker2")

        def sent() -> bool:
            with engine.connect() as conn:
                return conn.execute(sa.text("SELECT status FROM deliveries")).scalar_one() == "sent"

        assert wait_for(sent, timeout=90), logs()
        time.sleep(3)  # later sweeps find nothing more to send
        with engine.connect() as conn:
            delivery_id, attempts = conn.execute(
                sa.text("SELECT id, attempts FROM deliveries")
            ).one()
    finally:
        engine.dispose()
    assert receiver.ids() == [delivery_id, delivery_id]
    assert attempts == 2
    payloads = receiver.verified()
    assert {p["data"]["entry"]["title"] for p in payloads} == {"Tolekan Ismailova detained"}
