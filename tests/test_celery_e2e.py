"""The distributed path: a real Celery worker and beat on Redis, against PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from celery import Celery
from pytest_httpserver import HTTPServer
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from tests.support.cli import process_env
from tests.support.feeds import feed_xml
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.waits import wait_for

ITEMS = [
    {
        "guid": "c1",
        "title": "Tolekan Ismailova detained",
        "description": "Police detained Tolekan Ismailova.",
    },
    {
        "guid": "c2",
        "title": "Court hearing",
        "description": "Lawyers of Azimjan Askarov spoke to the press.",
    },
    {"guid": "c3", "title": "Nothing", "description": "No names here."},
]


@pytest.fixture
def service_env(
    httpserver: HTTPServer,
    pg_database: str,
    redis_url: str,
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> dict[str, str]:
    httpserver.expect_request("/feed.xml").respond_with_data(feed_xml(ITEMS))
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(
        f"""\
        feeds:
          - id: news
            url: {httpserver.url_for("/feed.xml")}
            poll_interval: 1h
        watchlists:
          - id: kg
            title: Kyrgyzstan
            people: [{{name: Azimjan Askarov}}, {{name: Tolekan Ismailova}}]
        subscribers:
          - id: tracker
            webhook: {httpserver.url_for("/hook")}
            secret_env: CASE_TRACKER_WEBHOOK_SECRET
            watchlists: [kg]
        """
    )
    return process_env(
        config,
        str(tmp_path / "data"),
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_BROKER_URL=redis_url,
    )


def rightswatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "worker", *args]


def test_worker_and_beat_deliver_each_alert_once(
    service_env: dict[str, str],
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    migrated = subprocess.run(
        rightswatch("migrate"), env=service_env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    start_process("worker", "--concurrency", "2", env=service_env, name="worker")
    start_process("beat", env=service_env, name="beat")

    client = Celery(broker=service_env["RIGHTSWATCH_BROKER_URL"])
    client.send_task("rightswatch.poll_due_feeds")

    def hooks() -> list[str]:
        return [r.get_data(as_text=True) for r, _ in httpserver.log if r.path == "/hook"]

    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
    assert wait_for(lambda: len(hooks()) >= 2, timeout=90), logs
    # Beat's own tick (every 30 s) and the sweep run meanwhile: nothing is sent twice.
    time.sleep(35)
    calls = [(r, r.get_data(as_text=True)) for r, _ in httpserver.log if r.path == "/hook"]
    assert len(calls) == 2
    verifier = Webhook(WEBHOOK_SECRET)
    titles = set()
    for request, body in calls:
        payload = verifier.verify(body, {k.lower(): v for k, v in request.headers.items()})
        titles.add(payload["data"]["entry"]["title"])
    assert titles == {"Tolekan Ismailova detained", "Court hearing"}
    feed_requests = [r for r, _ in httpserver.log if r.path == "/feed.xml"]
    assert len(feed_requests) == 1, "the feed was polled more than once in its interval"


def test_workers_carry_on_after_the_database_drops_every_connection(
    service_env: dict[str, str],
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
    pg_database: str,
    tmp_path: Path,
) -> None:
    """What a PostgreSQL restart looks like to the workers: every connection cut at once."""
    import sqlalchemy as sa

    published = list(ITEMS[:1])
    httpserver.clear_all_handlers()
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda _: Response(feed_xml(published), content_type="application/rss+xml")
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = Path(service_env["RIGHTSWATCH_CONFIG"])
    config.write_text(config.read_text().replace("poll_interval: 1h", "poll_interval: 3s"))
    env = {**service_env, "RIGHTSWATCH_BEAT_INTERVAL": "1"}
    assert subprocess.run(rightswatch("migrate"), env=env, capture_output=True).returncode == 0
    start_process("worker", "--concurrency", "2", env=env, name="worker")
    start_process("beat", env=env, name="beat")

    def titles() -> set[str]:
        return {
            json.loads(r.get_data(as_text=True))["data"]["entry"]["title"]
            for r, _ in httpserver.log
            if r.path == "/hook"
        }

    assert wait_for(lambda: titles() == {"Tolekan Ismailova detained"}, timeout=60)
    admin = sa.create_engine(pg_database, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            )
        time.sleep(0.5)
    admin.dispose()
    published.append(ITEMS[1])
    logs = "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))
    assert wait_for(lambda: "Court hearing" in titles(), timeout=60), logs
    hooks = [r for r, _ in httpserver.log if r.path == "/hook"]
    assert len(hooks) == 2


@pytest.mark.parametrize("batch_budget", ["120", "0.001"])
def test_many_due_feeds_are_polled_in_batches_and_alert_once_each(
    service_env: dict[str, str],
    httpserver: HTTPServer,
    start_process: Callable[..., subprocess.Popen[bytes]],
    write_config: Callable[..., Path],
    tmp_path: Path,
    batch_budget: str,
) -> None:
    """40 due feeds go several to a task; one broken feed in a batch stops none of the
    others; with a budget too small for even two feeds, every batch re-enqueues its rest
    and still each feed is polled, and each report alerted, exactly once."""
    count = 40
    for i in range(count):
        item = {
            "guid": f"b{i}",
            "title": f"Report {i}",
            "description": f"Report {i}: Azimjan Askarov's lawyers appealed.",
        }
        if i == 7:
            httpserver.expect_request(f"/feed{i}.xml").respond_with_data("oops", status=500)
        else:
            httpserver.expect_request(f"/feed{i}.xml").respond_with_data(feed_xml([item]))
    feeds = "".join(
        f"  - {{id: f{i}, url: '{httpserver.url_for(f'/feed{i}.xml')}', poll_interval: 1h}}\n"
        for i in range(count)
    )
    config = write_config(
        "defaults: {host_delay: 0, host_concurrency: 8}\nfeeds:\n"
        + feeds
        + f"""\
        watchlists:
          - id: kg
            title: Kyrgyzstan
            people: [{{name: Azimjan Askarov}}]
        subscribers:
          - id: tracker
            webhook: {httpserver.url_for("/hook")}
            secret_env: CASE_TRACKER_WEBHOOK_SECRET
            watchlists: [kg]
        """.replace("        ", "")
    )
    env = {
        **service_env,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_POLL_BATCH_BUDGET": batch_budget,
        "RIGHTSWATCH_LOG_FORMAT": "json",
    }
    assert subprocess.run(rightswatch("migrate"), env=env, capture_output=True).returncode == 0
    start_process("worker", "--concurrency", "2", env=env, name="worker")
    Celery(broker=env["RIGHTSWATCH_BROKER_URL"]).send_task("rightswatch.poll_due_feeds")

    def titles() -> list[str]:
        return [
            json.loads(r.get_data(as_text=True))["data"]["entry"]["title"]
            for r, _ in httpserver.log
            if r.path == "/hook"
        ]

    log = tmp_path / "worker.log"
    assert wait_for(lambda: len(titles()) >= count - 1, timeout=120), log.read_text()[-3000:]
    time.sleep(2)
    assert sorted(titles()) == sorted(f"Report {i}" for i in range(count) if i != 7)
    polled = [r.path for r, _ in httpserver.log if r.path.startswith("/feed")]
    assert sorted(polled) == sorted(f"/feed{i}.xml" for i in range(count))
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    tasks = {r.get("task") for r in records if r["message"].startswith("feed f")}
    assert "rightswatch.poll_feeds" in tasks
    if batch_budget != "120":
        assert any("re-enqueued" in r["message"] for r in records)
