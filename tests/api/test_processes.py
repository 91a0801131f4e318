"""The real processes: `rightswatch api`, and a prefork `rightswatch worker` whose child
processes' counters are summed on its metrics port (multiprocess mode)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from tests.support.api import API_TOKEN, SECRET_KEY
from tests.support.cli import run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.waits import wait_for

CONFIG = """\
feeds:
  - id: news
    url: {feed}
    poll_interval: 1h
watchlists:
  - id: kg
    title: Kyrgyzstan
    public: true
    people: [{{name: Azimjan Askarov}}, {{name: Tolekan Ismailova}}]
subscribers:
  - id: tracker
    webhook: {hook}
    secret_env: CASE_TRACKER_WEBHOOK_SECRET
    watchlists: [kg]
"""


@pytest.fixture
def env(
    httpserver: HTTPServer, pg_database: str, write_config: Callable[..., Path], tmp_path: Path
) -> dict[str, str]:
    items = [
        {"guid": "p1", "title": "Tolekan Ismailova detained", "description": "Detained."},
        {"guid": "p2", "title": "Hearing", "description": "Azimjan Askarov's case."},
    ]
    httpserver.expect_request("/feed.xml").respond_with_data(feed_xml(items))
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(
        CONFIG.format(feed=httpserver.url_for("/feed.xml"), hook=httpserver.url_for("/hook"))
    )
    return {
        **os.environ,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": pg_database,
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "RIGHTSWATCH_SECRET_KEY": SECRET_KEY,
        "RIGHTSWATCH_API_TOKEN": API_TOKEN,
        "RIGHTSWATCH_LOG_FORMAT": "json",
        "CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(*args: str, env: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", *args],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process, log

    yield run
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def scrape(url: str, **headers: str) -> dict[str, float]:
    response = httpx.get(url, headers=headers, timeout=10)
    response.raise_for_status()
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}"] = sample.value
    return values


def test_rightswatch_api_serves_health_openapi_and_json_logs(
    env: dict[str, str], start: Callable[..., tuple[subprocess.Popen[bytes], Path]]
) -> None:
    port = free_port()
    env = {**env, "RIGHTSWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    once = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--once"], env=env, capture_output=True, timeout=120
    )
    assert once.returncode == 0, once.stderr  # the worker mirrors the YAML's watch lists
    process, log = start("api", "--port", str(port), env=env, name="api")
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/healthz", timeout=2).json() == {"status": "ok"}
        except httpx.HTTPError:
            return False

    assert wait_for(healthy, timeout=60), log.read_text()
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ok"
    assert [c["component"] for c in ready["checks"]] == ["database", "broker", "config"]
    document = httpx.get(f"{base}/openapi.json").json()
    assert {"/watchlists", "/subscriptions", "/unsubscribe/{token}", "/metrics"} <= set(
        document["paths"]
    )
    assert httpx.get(f"{base}/watchlists").json()["watchlists"][0]["id"] == "kg"
    assert httpx.get(f"{base}/docs").status_code == 404  # no third-party scripts
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(r["message"] == "Application shutdown complete." for r in records)
    assert any(r["message"] == "GET /watchlists → 200" + r["message"][21:] for r in records)
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)


def test_rightswatch_api_refuses_a_bad_config_in_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("watchlists:\n  - id: x\n    title: X\n    public: maybe\n")
    result = run_rightswatch("api", "--config", str(bad), env=env, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"{bad}:4: watchlists[0].public:")


def test_a_prefork_worker_sums_its_processes_counters_on_the_metrics_port(
    env: dict[str, str],
    redis_url: str,
    httpserver: HTTPServer,
    start: Callable[..., tuple[subprocess.Popen[bytes], Path]],
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {**env, "RIGHTSWATCH_BROKER_URL": redis_url, "RIGHTSWATCH_METRICS_PORT": str(port)}
    migrated = subprocess.run(
        [sys.executable, "-m", "worker", "migrate"], env=env, capture_output=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    _, log = start("worker", "--concurrency", "2", env=env, name="worker")
    url = f"http://127.0.0.1:{port}/metrics"

    def serving() -> bool:
        try:
            return bool(scrape(url))
        except httpx.HTTPError:
            return False

    assert wait_for(serving, timeout=60), log.read_text()
    client = Celery(broker=redis_url)
    client.send_task("rightswatch.poll_due_feeds")

    def hooks() -> int:
        return len([r for r, _ in httpserver.log if r.path == "/hook"])

    assert wait_for(lambda: hooks() >= 2, timeout=60), log.read_text()[-3000:]
    time.sleep(1)
    values = wait_for(
        lambda: (
            v
            if (v := scrape(url)).get(
                "rightswatch_deliveries_total{channel=webhook,kind=alert,state=sent}"
            )
            == 2
            else None
        ),
        timeout=10,
    )
    assert values, scrape(url)
    assert values["rightswatch_feed_polls_total{outcome=ok}"] == 1
    assert values["rightswatch_entries_ingested_total{}"] == 2
    assert values["rightswatch_matches_total{watchlist=kg}"] == 2
    assert values["rightswatch_fetches_total{result=modified}"] == 1
    assert values["rightswatch_delivery_latency_seconds_count{channel=webhook,kind=alert}"] == 2
    assert values["rightswatch_outbox_depth{status=pending}"] == 0
    assert values["rightswatch_feeds{health=ok}"] == 1
    assert "rightswatch_broker_queue_length{queue=celery}" in values
    files = list((tmp_path / "data" / "metrics").glob("*.db"))
    assert len(files) >= 2  # one per worker process that counted
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    (polled,) = [r for r in records if r["message"].startswith("feed news polled")]
    assert polled["feed_id"] == "news" and polled["task"] == "rightswatch.poll_feed"
    assert re.fullmatch(r"[0-9a-f-]{36}", polled["task_id"])
    sent = [r for r in records if r["message"].endswith("sending → sent")]
    assert len(sent) == 2
    assert all(r["task"] == "rightswatch.deliver" and r["delivery_id"] for r in sent)
    assert all(r["task_id"] != polled["task_id"] for r in sent)
