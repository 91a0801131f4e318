"""WebSub push end to end: a hub written for the test, a live API, the embedded worker.

The hub is a real HTTP server in the test: it takes the subscription request,
verifies intent at the callback of the API (uvicorn on a free port), and POSTs
content distributions, signed or not. The worker (``rightswatch run``'s loop) polls
the feed once, sees the hub, subscribes, and renews the lease the hub granted.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.security.proxies import socks5_proxy
from tests.support.api import Hook, LiveServer
from tests.support.network import free_port, serving
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.waits import wait_for
from worker import jobs
from worker.api.app import create_app
from worker.core.types import ParsedFeed
from worker.core.websub import link_rels, sign, signature_valid
from worker.db.models import Entry, Feed, WebSubSubscription
from worker.embedded import EmbeddedService
from worker.ingest.parse import parse_feed, parse_with_feedparser
from worker.ingest.sources.json_feed import parse_json_feed
from worker.ingest.websub import push_possible
from worker.runtime import Runtime
from worker.security import crypto
from worker.settings import Settings, load_settings

CONFIG = """\
feeds:
  - id: ngo
    title: NGO urgent appeals
    url: {feed_url}
    poll_interval: 6h
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people: [{{name: Azimjan Askarov}}]
subscribers:
  - id: desk
    webhook: {hook_url}
    secret_env: CASE_TRACKER_WEBHOOK_SECRET
    watchlists: [kg]
"""


def atom(
    hub: str | None, self_url: str | None, entries: list[tuple[str, str]], padding: int = 0
) -> bytes:
    """An Atom feed; ``hub`` None: it names no hub (a Link header may); ``padding``: bytes of
    filler in each summary."""
    items = "".join(
        f"<entry><id>urn:appeal:{key}</id><title>{title}</title>"
        f"<link href='https://ngo.example.org/{key}'/><updated>2026-11-30T09:00:00Z</updated>"
        f"<summary>{title} {'.' * padding}</summary></entry>"
        for key, title in entries
    )
    links = f'<link rel="hub" href="{hub}"/><link rel="self" href="{self_url}"/>' if hub else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>NGO urgent appeals</title><id>urn:ngo</id><updated>2026-11-30T09:00:00Z</updated>"
        f"{links}{items}</feed>"
    ).encode()


@dataclass
class Verification:
    callback: str
    status: int
    echoed: bool


@dataclass
class FakeHub:
    """A WebSub hub: 202 to each subscription request, then verifies intent at the
    callback; ``leases`` are the lease_seconds it grants, one per verification."""

    leases: list[int]
    refusals: int = 0
    """Subscription requests answered 400 before it accepts any."""
    verifying: bool = True
    """False: requests are accepted but not verified (the test verifies by hand)."""
    requests: list[dict[str, str]] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    url: str = ""

    def handle(self, form: dict[str, str]) -> None:
        self.requests.append(form)
        if self.verifying:
            threading.Thread(target=self._verify, args=(form,), daemon=True).start()

    def _verify(self, form: dict[str, str]) -> None:
        time.sleep(0.1)  # after the 202, as an asynchronous hub does
        challenge = secrets.token_urlsafe(16)
        lease = self.leases[min(len(self.verifications), len(self.leases) - 1)]
        query = {
            "hub.mode": form["hub.mode"],
            "hub.topic": form["hub.topic"],
            "hub.challenge": challenge,
            "hub.lease_seconds": str(lease),
        }
        try:
            response = httpx.get(form["hub.callback"], params=query, timeout=10)
        except httpx.TransportError:  # the API has stopped: the test is over
            return
        self.verifications.append(
            Verification(form["hub.callback"], response.status_code, response.text == challenge)
        )

    def publish(self, body: bytes, secret: str | None) -> int:
        """POST a distribution to the (last) subscriber, signed with ``secret`` if given."""
        form = self.requests[-1]
        headers = {
            "Content-Type": "application/atom+xml",
            "Link": f'<{self.url}>; rel="hub", <{form["hub.topic"]}>; rel="self"',
        }
        if secret is not None:
            headers["X-Hub-Signature"] = sign(secret, body, "sha256")
        return httpx.post(
            form["hub.callback"], content=body, headers=headers, timeout=10
        ).status_code


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    state = FakeHub(leases=[4, 3600])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if state.refusals:
                state.refusals -= 1
                state.requests.append(form)
                reply = b"topic not allowed"
                self.send_response(400)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                return
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            state.handle(form)

        def log_message(self, *_: Any) -> None:
            pass

    with serving(ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)) as port:
        state.url = f"http://127.0.0.1:{port}/hub"
        yield state


@dataclass
class Site:
    """The NGO's feed server: counts how often it is polled."""

    body: bytes = b""
    polls: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def respond(self, _: Request) -> Response:
        self.polls += 1
        return Response(self.body, content_type="application/atom+xml", headers=self.headers)


@dataclass
class Stack:
    settings: Settings
    runtime: Runtime
    site: Site
    hook: Hook
    api_url: str


@pytest.fixture
def make_stack(
    httpserver: HTTPServer,
    pg_database: str,
    hub: FakeHub,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> Iterator[Callable[..., Stack]]:
    """API and worker on one database; keyword arguments become environment settings."""
    site, hook = Site(), Hook()
    feed_url = httpserver.url_for("/appeals.atom")
    site.body = atom(hub.url, feed_url, [("1", "Annual report published")])
    httpserver.expect_request("/appeals.atom").respond_with_handler(site.respond)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook.respond)
    config = write_config(CONFIG.format(feed_url=feed_url, hook_url=httpserver.url_for("/hook")))
    stop = threading.Event()
    started: list[tuple[LiveServer, threading.Thread, Runtime]] = []

    def make(*, link_header: bool = False, proxy: str | None = None, **env: str) -> Stack:
        """``link_header``: the hub and topic are named in the HTTP Link header only;
        ``proxy``: the feed is read through it."""
        if proxy:
            text = config.read_text().replace("6h\n", f"6h\n    proxy: {proxy}\n", 1)
            config.write_text(text)
        if link_header:
            site.body = atom(None, None, [("1", "Annual report published")])
            site.headers = {"Link": f'<{hub.url}>; rel="hub", <{feed_url}>; rel="self"'}
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        defaults = {
            "RIGHTSWATCH_DATABASE_URL": pg_database,
            "RIGHTSWATCH_PUBLIC_URL": api_url,
            "RIGHTSWATCH_BEAT_INTERVAL": "0.3",
            "RIGHTSWATCH_ENCRYPTION_KEY": crypto.new_key(),
        }
        settings = make_settings(config, **{**defaults, **env})
        runtime = Runtime(settings)
        service = EmbeddedService(runtime)
        service.prepare()
        server = LiveServer(create_app(settings), port).__enter__()
        thread = threading.Thread(target=service.run_forever, args=(stop,), daemon=True)
        thread.start()
        started.append((server, thread, runtime))
        return Stack(settings, runtime, site, hook, api_url)

    yield make
    stop.set()
    for server, thread, runtime in started:
        thread.join(timeout=20)
        server.__exit__()
        runtime.close()


def alerts(hook: Hook) -> list[str]:
    return [body for _, body in hook.requests if '"match.created"' in body]


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_a_signed_push_becomes_an_alert_within_seconds_and_a_forged_one_is_dropped(
    make_stack: Callable[..., Stack], hub: FakeHub, database: str, tmp_path: Path
) -> None:
    """On PostgreSQL (production) and SQLite (embedded: `run` and `api` share the file)."""
    env = {"RIGHTSWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'rw.db'}"}
    stack = make_stack(**(env if database == "sqlite" else {}))

    # The first poll finds the hub; rightswatch subscribes and answers the challenge.
    assert wait_for(lambda: hub.verifications, timeout=20), "no subscription was verified"
    request = hub.requests[0]
    assert request["hub.mode"] == "subscribe"
    assert request["hub.topic"].endswith("/appeals.atom")
    assert request["hub.callback"].startswith(stack.api_url + "/websub/")
    assert len(request["hub.secret"]) >= 32
    assert int(request["hub.lease_seconds"]) > 0
    assert hub.verifications[0].status == 200 and hub.verifications[0].echoed
    with stack.runtime.sessions() as session:
        stored = session.execute(sa.text("SELECT secret FROM websub_subscriptions")).scalar_one()
    assert stored.startswith("rw1:") and request["hub.secret"] not in stored
    polls = stack.site.polls
    assert polls == 1

    # Verification for anything rightswatch did not ask for: 404, no challenge echoed.
    callback, topic = request["hub.callback"], request["hub.topic"]
    for query in (
        {"hub.mode": "subscribe", "hub.topic": topic + "?other", "hub.challenge": "x"},
        {"hub.mode": "unsubscribe", "hub.topic": topic, "hub.challenge": "x"},
    ):
        refused = httpx.get(callback, params=query, timeout=10)
        assert refused.status_code == 404 and "x" not in refused.text
    unknown = httpx.get(stack.api_url + "/websub/nosuchsubscription", params=query, timeout=10)
    assert unknown.status_code == 404
    posted = httpx.post(stack.api_url + "/websub/nosuchsubscription", content=b"x", timeout=10)
    assert posted.status_code == 404

    # Forged (wrong secret) and unsigned distributions: acknowledged, not processed.
    forged = atom(hub.url, topic, [("66", "Forged: Azimjan Askarov confesses")])
    assert hub.publish(forged, secret="not-the-secret") == 202
    assert hub.publish(forged, secret=None) == 202

    # A signed distribution: an alert at once, with no poll in between (the next is 6 h away;
    # the wait bound is for a loaded machine, typically it takes about a second).
    pushed = atom(hub.url, topic, [("7", "Azimjan Askarov barred from leaving Kyrgyzstan")])
    started = time.monotonic()
    assert hub.publish(pushed, secret=request["hub.secret"]) == 202
    assert wait_for(lambda: alerts(stack.hook), timeout=30), "the push made no alert"
    print(f"push to alert: {time.monotonic() - started:.2f}s")
    assert "barred from leaving Kyrgyzstan" in alerts(stack.hook)[0]
    assert stack.site.polls == polls
    with stack.runtime.sessions() as session:
        titles = {e.title for e in session.scalars(sa.select(Entry))}
    assert titles == {"Annual report published", "Azimjan Askarov barred from leaving Kyrgyzstan"}

    # The same push again (a hub retrying) is deduplicated like a poll: no second alert.
    def last_taken() -> Any:
        with stack.runtime.sessions() as session:
            return session.scalars(sa.select(Feed.last_polled_at)).one()

    before = last_taken()
    assert hub.publish(pushed, secret=request["hub.secret"]) == 202
    assert wait_for(lambda: last_taken() > before, timeout=30)
    time.sleep(0.5)
    assert len(alerts(stack.hook)) == 1
    assert stack.site.polls == polls


def test_the_lease_is_renewed_before_it_ends(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack()  # the hub grants 4 seconds first, then an hour
    assert wait_for(lambda: len(hub.verifications) >= 2, timeout=20), hub.requests
    first, renewal = hub.requests[0], hub.requests[1]
    assert renewal["hub.callback"] == first["hub.callback"]
    assert renewal["hub.secret"] == first["hub.secret"]
    assert all(v.status == 200 and v.echoed for v in hub.verifications)
    with stack.runtime.sessions() as session:
        row = session.scalars(sa.select(WebSubSubscription)).one()
        assert row.state == "active"
        assert row.lease_expires_at is not None
        assert row.lease_expires_at > stack.runtime.clock() + timedelta(minutes=50)
    assert stack.site.polls == 1

    shown = subprocess.run(
        [sys.executable, "-m", "worker", "feeds"],
        env={**stack.settings.environ, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "push: active until " in shown, shown


def test_a_hub_named_in_the_link_header_is_found_and_a_large_push_is_taken(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack(link_header=True)
    assert wait_for(lambda: hub.verifications, timeout=20), "no subscription was verified"
    request = hub.requests[0]
    assert request["hub.topic"].endswith("/appeals.atom")
    entries = [(str(n), f"Appeal {n}") for n in range(20)]
    entries.append(("99", "Azimjan Askarov barred from leaving Kyrgyzstan"))
    body = atom(None, None, entries, padding=10_000)
    assert len(body) > 200_000  # far above the API's 16 KiB cap for its own requests
    assert hub.publish(body, secret=request["hub.secret"]) == 202
    assert wait_for(lambda: alerts(stack.hook), timeout=30), "the push made no alert"
    assert stack.site.polls == 1


def test_under_celery_beat_subscribes_and_renews_and_the_api_process_takes_the_push(
    httpserver: HTTPServer,
    pg_database: str,
    redis_url: str,
    hub: FakeHub,
    write_config: Callable[..., Path],
    start_process: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """The distributed path: `rightswatch worker` + `beat` on Redis and `rightswatch api`, each
    its own process; the subscription request is the rightswatch.websub_subscribe task."""
    site, hook = Site(), Hook()
    feed_url = httpserver.url_for("/appeals.atom")
    site.body = atom(hub.url, feed_url, [("1", "Annual report published")])
    httpserver.expect_request("/appeals.atom").respond_with_handler(site.respond)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hook.respond)
    config = write_config(CONFIG.format(feed_url=feed_url, hook_url=httpserver.url_for("/hook")))
    port = free_port()
    env = {
        **os.environ,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": pg_database,
        "RIGHTSWATCH_BROKER_URL": redis_url,
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "RIGHTSWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "RIGHTSWATCH_BEAT_INTERVAL": "0.5",
        "RIGHTSWATCH_ENCRYPTION_KEY": crypto.new_key(),
        "CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    migrated = subprocess.run(
        [sys.executable, "-m", "worker", "migrate"], env=env, capture_output=True, text=True
    )
    assert migrated.returncode == 0, migrated.stderr
    start_process("api", "--port", str(port), env=env, name="api")
    start_process("worker", "--concurrency", "1", env=env, name="worker")
    start_process("beat", env=env, name="beat")

    def logs() -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in tmp_path.glob("*.log"))

    assert wait_for(lambda: len(hub.verifications) >= 2, timeout=90), logs()
    assert all(v.status == 200 and v.echoed for v in hub.verifications), hub.verifications
    secret = hub.requests[-1]["hub.secret"]
    pushed = atom(hub.url, feed_url, [("7", "Azimjan Askarov barred from leaving Kyrgyzstan")])
    assert hub.publish(pushed, secret="forged") == 202
    assert hub.publish(pushed, secret=secret) == 202
    assert wait_for(lambda: alerts(hook), timeout=30), logs()
    assert site.polls == 1
    time.sleep(1.0)
    assert len(alerts(hook)) == 1


def test_a_refusing_hub_is_asked_again_later_and_a_denial_is_recorded(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    hub.refusals = 1
    stack = make_stack()
    assert wait_for(lambda: hub.requests, timeout=20)

    def row() -> WebSubSubscription:
        with stack.runtime.sessions() as session:
            return session.scalars(sa.select(WebSubSubscription)).one()

    assert wait_for(lambda: row().state == "failed", timeout=10)
    failed = row()
    assert failed.last_error is not None and failed.last_error.startswith("HTTP 400: topic")
    assert failed.next_attempt_at > stack.runtime.clock() + timedelta(seconds=50)
    time.sleep(1.0)
    assert len(hub.requests) == 1 and hub.verifications == []

    request = hub.requests[0]
    query = {"hub.mode": "denied", "hub.topic": request["hub.topic"], "hub.reason": "no"}
    assert httpx.get(request["hub.callback"], params=query, timeout=10).status_code == 200
    denied = row()
    assert denied.state == "denied" and denied.last_error is not None
    assert denied.next_attempt_at > stack.runtime.clock() + timedelta(hours=23)


def test_a_feed_read_through_a_proxy_is_never_subscribed(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    """Its hub would learn this server's address from the callback."""
    with socks5_proxy() as (address, seen):
        stack = make_stack(proxy=f"socks5h://{address}")
        assert wait_for(lambda: stack.site.polls >= 1, timeout=20)
        time.sleep(1.5)
    assert seen.usernames, "the feed was not read through the proxy"
    assert hub.requests == []
    with stack.runtime.sessions() as session:
        assert session.scalars(sa.select(WebSubSubscription)).all() == []


def test_a_proxy_added_to_a_pushed_feed_drops_its_subscription_at_renewal(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack()  # the hub grants 4 seconds: the renewal comes soon
    assert wait_for(lambda: hub.verifications, timeout=20)
    config = stack.settings.config_path
    config.write_text(config.read_text().replace("6h\n", "6h\n    proxy: socks5h://127.0.0.1:9\n"))

    def rows() -> list[WebSubSubscription]:
        with stack.runtime.sessions() as session:
            return list(session.scalars(sa.select(WebSubSubscription)))

    assert wait_for(lambda: rows() == [], timeout=20)
    asked = len(hub.requests)
    time.sleep(1.5)  # several ticks: the hub is not asked again
    assert len(hub.requests) == asked


def test_without_a_public_url_nothing_subscribes(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack(RIGHTSWATCH_PUBLIC_URL="")
    assert wait_for(lambda: stack.site.polls >= 1, timeout=20)
    time.sleep(1.5)
    assert hub.requests == []
    with stack.runtime.sessions() as session:
        assert session.scalars(sa.select(WebSubSubscription)).all() == []


def test_link_headers_and_signatures() -> None:
    assert link_rels('<https://hub.example/>; rel="hub", </feed>; rel=self') == {
        "hub": "https://hub.example/",
        "self": "/feed",
    }
    assert link_rels('<https://a/>; rel="hub self"') == {"hub": "https://a/", "self": "https://a/"}
    assert link_rels(None) == {}
    for method in ("sha1", "sha256", "sha384", "sha512"):
        assert signature_valid(sign("s3cret", b"body", method), "s3cret", b"body")
        assert not signature_valid(sign("s3cret", b"body", method), "other", b"body")
        assert not signature_valid(sign("s3cret", b"body", method), "s3cret", b"body!")
    assert not signature_valid("md5=00", "s3cret", b"body")
    assert not signature_valid(None, "s3cret", b"body")
    assert not signature_valid("sha256", "s3cret", b"body")


RSS_WITH_HUB = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
    b'xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
    b'<atom:link rel="hub" href="https://hub.example/"/><atom:link rel="self" href="/feed/"/>'
    b"<item><guid>a</guid><title>x</title><description>d</description></item></channel></rss>"
)


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (lambda body: parse_feed(body, "https://ngo.example.org/feed/"), RSS_WITH_HUB),
        (
            lambda body: parse_with_feedparser(body, "https://ngo.example.org/feed/", None),
            RSS_WITH_HUB,
        ),
        (
            lambda body: parse_feed(body, "https://ngo.example.org/feed/"),
            atom("https://hub.example/", "https://ngo.example.org/feed/", [("1", "x")]),
        ),
        (
            lambda body: parse_json_feed(body, "https://ngo.example.org/feed.json"),
            b'{"version": "https://jsonfeed.org/version/1.1", "feed_url": "/feed/", "hubs": '
            b'[{"type": "rssCloud", "url": "https://cloud/"}, '
            b'{"type": "WebSub", "url": "https://hub.example/"}], "items": [{"id": "1", '
            b'"content_text": "x"}]}',
        ),
    ],
    ids=["rss-fast-path", "rss-feedparser", "atom", "json-feed"],
)
def test_every_kind_of_feed_names_its_hub_and_topic(
    parse: Callable[[bytes], ParsedFeed], body: bytes
) -> None:
    parsed = parse(body)
    assert parsed.hub == "https://hub.example/"
    assert parsed.self_url == "https://ngo.example.org/feed/"


@pytest.mark.parametrize(
    ("public_url", "allow_private", "possible"),
    [
        ("", True, False),
        ("https://alerts.example.org", False, True),
        ("http://localhost:8000", False, False),
        ("http://127.0.0.1:8000", False, False),
        ("http://10.0.0.5", False, False),
        ("http://rightswatch.local", False, False),
        ("http://203.0.113.7", False, False),  # documentation range: not global
        ("http://8.8.8.8", False, True),
        ("http://localhost:8000", True, True),
    ],
)
def test_nothing_subscribes_with_a_callback_no_hub_could_reach(
    public_url: str, allow_private: bool, possible: bool
) -> None:
    settings = load_settings(
        {
            "RIGHTSWATCH_PUBLIC_URL": public_url,
            "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": str(allow_private).lower(),
        }
    )
    assert push_possible(settings) is possible


def subscriptions(stack: Stack) -> list[WebSubSubscription]:
    with stack.runtime.sessions() as session:
        return list(session.scalars(sa.select(WebSubSubscription)))


def rejected(stack: Stack) -> dict[tuple[str, str], float]:
    """rightswatch_websub_rejected_total on the API's /metrics, by (reason, feed)."""
    text = httpx.get(stack.api_url + "/metrics", timeout=10).text
    return {
        (sample.labels["reason"], sample.labels["feed"]): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "rightswatch_websub_rejected_total"
    }


def test_a_feed_removed_from_the_config_is_unsubscribed_at_the_hub(
    make_stack: Callable[..., Stack], hub: FakeHub, httpserver: HTTPServer
) -> None:
    stack = make_stack()
    assert wait_for(lambda: hub.verifications, timeout=20), "no subscription was verified"
    subscribed = hub.requests[0]
    hub.verifying = False  # this test answers for the hub from here on
    httpserver.expect_request("/other.rss").respond_with_data(
        "<rss><channel><title>t</title></channel></rss>", content_type="application/rss+xml"
    )
    config = stack.settings.config_path
    text = config.read_text().replace("id: ngo", "id: other")
    config.write_text(text.replace("/appeals.atom", "/other.rss"))

    assert wait_for(lambda: len(hub.requests) >= 2, timeout=20), "no unsubscribe request"
    request = hub.requests[1]
    assert request == {
        "hub.mode": "unsubscribe",
        "hub.topic": subscribed["hub.topic"],
        "hub.callback": subscribed["hub.callback"],
    }
    callback, topic = request["hub.callback"], request["hub.topic"]
    # Only the mode rightswatch asked for, for its topic, is confirmed.
    for query in (
        {"hub.mode": "subscribe", "hub.topic": topic, "hub.challenge": "x"},
        {"hub.mode": "unsubscribe", "hub.topic": topic + "?other", "hub.challenge": "x"},
    ):
        refused = httpx.get(callback, params=query, timeout=10)
        assert refused.status_code == 404 and "x" not in refused.text
    assert [row.state for row in subscriptions(stack)] == ["unsubscribing"]
    # Retired: a push, even signed, is no longer taken.
    pushed = atom(hub.url, topic, [("7", "Azimjan Askarov barred from leaving Kyrgyzstan")])
    assert hub.publish(pushed, secret=subscribed["hub.secret"]) == 404

    query = {"hub.mode": "unsubscribe", "hub.topic": topic, "hub.challenge": "bye-123"}
    confirmed = httpx.get(callback, params=query, timeout=10)
    assert confirmed.status_code == 200 and confirmed.text == "bye-123"
    assert subscriptions(stack) == []
    time.sleep(1.0)  # several ticks: the hub is not asked again
    assert len(hub.requests) == 2
    assert alerts(stack.hook) == []


def test_a_feed_that_stops_naming_a_hub_is_unsubscribed(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack()
    assert wait_for(lambda: hub.verifications, timeout=20), "no subscription was verified"
    stack.site.body = atom(None, None, [("2", "The site moved to another host")])
    assert jobs.poll(stack.runtime, "ngo").polled

    assert wait_for(lambda: len(hub.verifications) >= 2, timeout=20), hub.requests
    assert hub.requests[1]["hub.mode"] == "unsubscribe"
    assert hub.verifications[1].status == 200 and hub.verifications[1].echoed
    assert wait_for(lambda: subscriptions(stack) == [], timeout=10)


def test_forged_pushes_are_counted_by_reason_without_urls_or_secrets(
    make_stack: Callable[..., Stack], hub: FakeHub
) -> None:
    stack = make_stack()
    assert wait_for(lambda: hub.verifications, timeout=20), "no subscription was verified"
    request = hub.requests[0]
    before = rejected(stack)
    body = atom(hub.url, request["hub.topic"], [("9", "Azimjan Askarov")])
    assert hub.publish(body, secret="not-the-secret") == 202
    assert hub.publish(body, secret=None) == 202
    assert httpx.post(stack.api_url + "/websub/nosuchcallback", content=body).status_code == 404
    other_topic = {
        "X-Hub-Signature": sign(request["hub.secret"], body),
        "Link": f'<{hub.url}>; rel="hub", <https://elsewhere.example/feed>; rel="self"',
    }
    taken = httpx.post(request["hub.callback"], content=body, headers=other_topic, timeout=10)
    assert taken.status_code == 202

    after = rejected(stack)
    moved = {key: after[key] - before.get(key, 0.0) for key in after}
    assert moved == {
        ("signature", "ngo"): 2.0,
        ("unknown_callback", ""): 1.0,
        ("unknown_topic", "ngo"): 1.0,
    }
    text = httpx.get(stack.api_url + "/metrics", timeout=10).text
    assert request["hub.secret"] not in text and request["hub.topic"] not in text
    time.sleep(0.5)
    assert alerts(stack.hook) == []
