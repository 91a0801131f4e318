"""A live API (uvicorn on a free port) over real PostgreSQL, SMTP and feed servers.

The worker side runs in the test process too, as ``rightswatch run --once`` does
(``EmbeddedService.run_once``), on the same database: an alert for an API
subscriber flows through exactly the code the embedded default runs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import feed_xml, free_port
from worker.api.app import create_app
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

SECRET_KEY = "test secret key, not for production"
API_TOKEN = "operator-token-for-tests"

CONFIG = """\
feeds:
  - id: news
    title: Test news
    url: {feed_url}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    description: People at risk in Kyrgyzstan
    public: true
    people: [{{name: Azimjan Askarov}}, {{name: Tolekan Ismailova}}]
  - id: open
    title: Open list
    public: true
    show_people: true
    people: [{{name: Bir Duino}}]
  - id: private
    title: Private list
    people: [{{name: Hidden Person}}]
subscribers:
  - id: desk
    email: desk@example.org
    watchlists: [kg]
"""


class Clock:
    """The service's now; tests move it instead of waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Feed:
    """The feed the test publishes to, served by pytest-httpserver."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def publish(self, guid: str, title: str, description: str = "") -> None:
        self.items.append({"guid": guid, "title": title, "description": description or title})

    def respond(self, _: Request) -> Response:
        return Response(feed_xml(self.items), content_type="application/rss+xml")


@dataclass
class Hook:
    """A webhook receiver: answers verification pings with their challenge (if told to)."""

    echo_challenge: bool = True
    requests: list[tuple[dict[str, str], str]] = field(default_factory=list)

    def respond(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        self.requests.append(({k.lower(): v for k, v in request.headers.items()}, body))
        if self.echo_challenge and '"subscription.verification"' in body:
            challenge = re.search(r'"challenge":"([^"]+)"', body)
            assert challenge is not None
            return Response(
                f'{{"challenge":"{challenge.group(1)}"}}', content_type="application/json"
            )
        return Response("ok")


@dataclass
class Stack:
    settings: Settings
    api: httpx.Client
    url: str
    app: FastAPI
    worker: EmbeddedService
    clock: Clock
    feed: Feed
    hook: Hook
    hook_url: str
    mails: list[EmailMessage]

    def run_once(self) -> str:
        return self.worker.run_once().line()

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if str(m["To"]) == address]

    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_TOKEN}"}


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    return condition()


class LiveServer:
    """uvicorn serving an app in a thread, on a port chosen before the app is built."""

    def __init__(self, app: FastAPI, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        assert wait_for(lambda: self.server.started, timeout=20), "the API did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def make_stack(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> Iterator[Callable[..., Stack]]:
    """Builds the stack; keyword arguments become environment settings."""
    started: list[tuple[LiveServer, httpx.Client, Runtime]] = []
    smtp_url, inbox = smtp_server
    feed, hook = Feed(), Hook()
    httpserver.expect_request("/feed.xml").respond_with_handler(feed.respond)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook.respond)
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml")))

    def make(**env: str) -> Stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        defaults = {
            "RIGHTSWATCH_DATABASE_URL": pg_database,
            "RIGHTSWATCH_SMTP_URL": smtp_url,
            "RIGHTSWATCH_SMTP_FROM": "rightswatch <alerts@rightswatch.example.org>",
            "RIGHTSWATCH_SECRET_KEY": SECRET_KEY,
            "RIGHTSWATCH_PUBLIC_URL": url,
            "RIGHTSWATCH_API_TOKEN": API_TOKEN,
        }
        settings = make_settings(config, **{**defaults, **env})
        clock = Clock()
        runtime = Runtime(settings, clock)
        worker = EmbeddedService(runtime)
        worker.prepare()
        app = create_app(settings, clock=clock)
        server = LiveServer(app, port).__enter__()
        client = httpx.Client(base_url=url, timeout=30)
        started.append((server, client, runtime))
        return Stack(
            settings=settings,
            api=client,
            url=url,
            app=app,
            worker=worker,
            clock=clock,
            feed=feed,
            hook=hook,
            hook_url=httpserver.url_for("/hook"),
            mails=inbox.messages,
        )

    yield make
    for server, client, runtime in started:
        client.close()
        server.__exit__()
        runtime.close()


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()
