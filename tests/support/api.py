"""A live API (uvicorn on a free port) over real PostgreSQL, SMTP and feed servers.

The worker side runs in the test process too, as ``rightswatch run --once`` does
(``EmbeddedService.run_once``), on the same database: an alert for an API
subscriber flows through exactly the code the embedded default runs.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx
import uvicorn
from fastapi import FastAPI
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.clock import Clock
from tests.support.feeds import feed_xml
from tests.support.waits import wait_for
from worker.embedded import EmbeddedService
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
class CaseDesk:
    """A case-management webhook that answers its verification ping, then refuses alerts
    with HTTP 400 (not retryable: each is dead at once) until it is ``accepting``."""

    accepting: bool = False
    received: list[str] = field(default_factory=list)

    def respond(self, request: Request) -> Response:
        body = request.get_data(as_text=True)
        if '"subscription.verification"' in body:
            challenge = re.search(r'"challenge":"([^"]+)"', body)
            assert challenge is not None
            return Response(f'{{"challenge":"{challenge.group(1)}"}}')
        if not self.accepting:
            return Response("no such case", status=400)
        self.received.append(body)
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


def text_of(mail: EmailMessage, subtype: str = "plain") -> str:
    part = mail.get_body((subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def confirm_link(stack: Stack, address: str) -> str:
    mails = wait_for(lambda: stack.mails_to(address))
    assert mails, f"no confirmation e-mail to {address}"
    link = re.search(r"http://\S+/confirm/\S+", text_of(mails[-1]))
    assert link is not None
    return link.group(0).removeprefix(stack.url)


def subscribe(stack: Stack, address: str, **extra: object) -> int:
    body = {"email": address, "watchlists": ["kg"], **extra}
    return stack.api.post("/subscriptions", json=body).status_code


def webhook_subscription(stack: Stack, url: str | None = None) -> tuple[str, dict[str, str]]:
    """A new webhook subscription to ``kg`` (the stack's hook unless ``url``): its id, and
    the headers that carry its management token."""
    body = {"webhook": url or stack.hook_url, "watchlists": ["kg"]}
    created = stack.api.post("/subscriptions", json=body).json()
    return str(created["id"]), {"Authorization": f"Bearer {created['management_token']}"}


def subscription_status(stack: Stack, subscription_id: str, auth: dict[str, str]) -> str:
    return str(stack.api.get(f"/subscriptions/{subscription_id}", headers=auth).json()["status"])


def case_desk_subscription(stack: Stack, httpserver: HTTPServer) -> tuple[CaseDesk, str]:
    """A verified webhook subscription to ``kg`` whose alerts die until the desk accepts."""
    desk = CaseDesk()
    httpserver.expect_request("/cases", method="POST").respond_with_handler(desk.respond)
    created = stack.api.post(
        "/subscriptions", json={"webhook": httpserver.url_for("/cases"), "watchlists": ["kg"]}
    )
    assert created.status_code == 201
    stack.run_once()  # the verification ping, should the API's own send not have finished
    return desk, str(created.json()["id"])


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of the form on a page."""
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)
