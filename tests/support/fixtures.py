"""The shared pytest fixtures built on :mod:`tests.support` (a plugin of ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.support.api import API_TOKEN, SECRET_KEY, Feed, Hook, LiveServer, Stack
from tests.support.api import CONFIG as API_CONFIG
from tests.support.clock import Clock
from tests.support.delivery import ITEMS, webhook_config
from tests.support.feedlab import FeedLab
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from tests.support.receiver import Receiver
from worker.api.app import create_app
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings


@pytest.fixture
def lab(
    pg_database: str, write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> Iterator[FeedLab]:
    """A runtime on the test's PostgreSQL database whose clock the test moves."""
    feed_lab = FeedLab(pg_database, write_config, make_settings)
    yield feed_lab
    feed_lab.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def feeds(httpserver: HTTPServer) -> Callable[[list[dict[str, str]]], str]:
    """Serve items as an RSS feed at a path of the test's HTTP server; returns its URL."""

    def serve(items: list[dict[str, str]], path: str = "/feed.xml", title: str = "News") -> str:
        httpserver.expect_request(path).respond_with_data(feed_xml(items, title=title))
        return httpserver.url_for(path)

    return serve


@pytest.fixture
def make_service(clock: Clock) -> Iterator[Callable[[Settings], EmbeddedService]]:
    """Embedded services on the test's clock, closed at the end."""
    runtimes: list[Runtime] = []

    def make(settings: Settings) -> EmbeddedService:
        runtime = Runtime(settings, clock=clock)
        runtimes.append(runtime)
        service = EmbeddedService(runtime)
        service.prepare()
        return service

    yield make
    for runtime in runtimes:
        runtime.close()


@pytest.fixture
def service_on(
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    make_service: Callable[[Settings], EmbeddedService],
) -> Callable[..., EmbeddedService]:
    """An embedded service on the test's PostgreSQL database for a YAML text (and env)."""

    def make(yaml_text: str, **env: str) -> EmbeddedService:
        config = write_config(yaml_text)
        return make_service(make_settings(config, RIGHTSWATCH_DATABASE_URL=pg_database, **env))

    return make


@pytest.fixture
def hook_service(
    feeds: Callable[..., str], receiver: Receiver, service_on: Callable[..., EmbeddedService]
) -> Callable[..., EmbeddedService]:
    """An embedded service alerting the receiver by webhook about the delivery items."""

    def make(
        items: list[dict[str, str]] = ITEMS[:1], hook_url: str | None = None, **env: str
    ) -> EmbeddedService:
        return service_on(webhook_config(feeds(items), hook_url or receiver.url()), **env)

    return make


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
    config = write_config(API_CONFIG.format(feed_url=httpserver.url_for("/feed.xml")))

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
