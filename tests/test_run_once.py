"""`rightswatch run --once` end to end against real local servers.

A feed server and a webhook receiver (pytest-httpserver), a real SMTP server
(aiosmtpd) and real PostgreSQL: each new match reaches each subscriber once,
and a second run over the same feeds sends nothing new.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook
from werkzeug import Request, Response

from tests.support.feeds import feed_xml
from tests.support.receiver import WEBHOOK_SECRET
from tests.support.scenario import DESK, REMEMBERED, case_tracker, watch_config
from worker.db.models import Delivery, Entry, Feed, Match
from worker.db.session import make_engine, make_session_factory
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

ITEMS = [
    REMEMBERED,
    {
        "guid": "n2",
        "title": "Parliament debates the law on foreign agents",
        "description": "Bir Duino called on deputies to reject the bill.",
    },
    {"guid": "n3", "title": "Weather", "description": "Askarovich street is sunny."},
]

CONFIG = watch_config(
    "{feed_url}",
    feed_title="Test news",
    aliases=True,
    keywords=True,
    subscribers=DESK + case_tracker("{webhook_url}"),
)


def run_once(settings: Settings) -> str:
    runtime = Runtime(settings)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        return service.run_once().line()
    finally:
        runtime.close()


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def webhook_calls(server: HTTPServer) -> list[tuple[Request, Response]]:
    return [(req, resp) for req, resp in server.log if req.path == "/hook"]


@pytest.fixture
def stack(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> tuple[Settings, HTTPServer, list[EmailMessage]]:
    smtp_url, inbox = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = write_config(
        CONFIG.format(
            feed_url=httpserver.url_for("/feed.xml"), webhook_url=httpserver.url_for("/hook")
        )
    )
    settings = make_settings(
        config,
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@rightswatch.example.org>",
    )
    return settings, httpserver, inbox.messages


def test_each_match_reaches_each_subscriber_once(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]],
) -> None:
    settings, server, mails = stack
    assert run_once(settings) == (
        "feeds: 1 polled, 0 failed | entries: 3 new | matches: 2 new | alerts: 4 sent, 0 failed"
    )
    assert len(mails) == 2
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert subjects == [
        "[rightswatch] Azimjan Askarov: Azimjan Askarov remembered in Bishkek",
        "[rightswatch] Bir Duino: Parliament debates the law on foreign agents",
    ]
    askarov = next(m for m in mails if "Askarov" in str(m["Subject"]))
    text = body(askarov, "plain")
    assert "Azimjan Askarov" in text and "https://example.org/n1" in text
    assert askarov["To"] == "desk@example.org"

    calls = webhook_calls(server)
    assert len(calls) == 2
    verifier = Webhook(WEBHOOK_SECRET)
    payloads = []
    for request, _ in calls:
        headers = {k.lower(): v for k, v in request.headers.items()}
        payloads.append(verifier.verify(request.get_data(as_text=True), headers))
        assert headers["webhook-id"].startswith("msg_")
    titles = sorted(p["data"]["entry"]["title"] for p in payloads)
    assert titles == [
        "Azimjan Askarov remembered in Bishkek",
        "Parliament debates the law on foreign agents",
    ]
    askarov_payload = next(p for p in payloads if "Askarov" in p["data"]["entry"]["title"])
    assert askarov_payload["type"] == "match.created"
    assert askarov_payload["data"]["watchlist"] == {"id": "kg", "title": "Kyrgyzstan defenders"}
    assert askarov_payload["data"]["entry"]["link"] == "https://example.org/n1"
    assert askarov_payload["data"]["entry"]["feed"] == {"id": "news", "title": "Test news"}
    assert {"term": "Azimjan Askarov", "text": "Azimjan Askarov"}.items() <= askarov_payload[
        "data"
    ]["terms"][0].items()
    assert "Azimjan Askarov" in askarov_payload["data"]["snippet"]

    assert run_once(settings) == (
        "feeds: 1 polled, 0 failed | entries: 0 new | matches: 0 new | alerts: 0 sent, 0 failed"
    )
    assert len(mails) == 2 and len(webhook_calls(server)) == 2


def test_new_items_alert_on_the_next_run(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]],
) -> None:
    settings, server, mails = stack
    run_once(settings)
    server.clear_all_handlers()
    newer = [
        *ITEMS,
        {"guid": "n4", "title": "Азимжан Аскаров", "description": "Правозащитник Азимжан Аскаров."},
    ]
    server.expect_request("/feed.xml").respond_with_data(feed_xml(newer, language="ru"))
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    assert run_once(settings).endswith("entries: 1 new | matches: 1 new | alerts: 2 sent, 0 failed")
    assert len(mails) == 3


def test_conditional_get_sends_the_stored_validators(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]],
) -> None:
    settings, server, _ = stack
    server.clear_all_handlers()
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(
            feed_xml(ITEMS),
            headers={"ETag": '"v1"', "Last-Modified": "Mon, 16 Nov 2026 09:00:00 GMT"},
        )

    server.expect_request("/feed.xml").respond_with_handler(handler)
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    run_once(settings)
    assert run_once(settings).startswith("feeds: 1 polled, 0 failed | entries: 0 new")
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["If-Modified-Since"] == "Mon, 16 Nov 2026 09:00:00 GMT"
    assert re.match(r"rightswatch/\S+ \(\+https?://", seen[0]["User-Agent"])


def test_a_broken_feed_is_recorded_and_the_others_go_on(
    httpserver: HTTPServer,
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
) -> None:
    def slow(_: Request) -> Response:
        time.sleep(3)
        return Response(feed_xml(ITEMS))

    httpserver.expect_request("/ok.xml").respond_with_data(feed_xml(ITEMS))
    httpserver.expect_request("/500.xml").respond_with_data("oops", status=500)
    httpserver.expect_request("/html.xml").respond_with_data(
        "<!DOCTYPE html><html><body>Please log in</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/broken.xml").respond_with_data("<rss><channel><item>&&&")
    httpserver.expect_request("/slow.xml").respond_with_handler(slow)
    feeds = "".join(
        f"  - id: {name}\n    url: {httpserver.url_for(f'/{name}.xml')}\n"
        for name in ("ok", "500", "html", "broken", "slow")
    )
    feeds += "  - id: nowhere\n    url: http://nonexistent.invalid/feed\n"
    outbox = tmp_path / "outbox"
    config = write_config(
        f"feeds:\n{feeds}watchlists:\n  - id: kg\n    title: KG\n    keywords: [Bir Duino]\n"
        f"subscribers:\n  - id: folder\n    outbox: {outbox}\n    watchlists: [kg]\n"
    )
    settings = make_settings(
        config, RIGHTSWATCH_DATABASE_URL=pg_database, RIGHTSWATCH_FETCH_TIMEOUT="1"
    )
    assert run_once(settings) == (
        "feeds: 6 polled, 5 failed | entries: 3 new | matches: 1 new | alerts: 1 sent, 0 failed"
    )
    assert len(list(outbox.glob("*.eml"))) == 1
    engine = make_engine(pg_database)
    with make_session_factory(engine)() as session:
        errors = {
            f.id: (f.last_error, f.consecutive_failures) for f in session.scalars(select(Feed))
        }
    engine.dispose()
    assert errors["ok"] == (None, 0)
    assert errors["500"][0] == "HTTP 500 INTERNAL SERVER ERROR"
    assert errors["html"][0] == "the server returned an HTML page, not a feed"
    assert errors["broken"][0] is not None and "not an RSS or Atom feed" in errors["broken"][0]
    assert errors["slow"][0] is not None and errors["slow"][0].startswith("timed out")
    assert errors["nowhere"][0] is not None and errors["nowhere"][0].startswith("cannot connect")
    assert all(count == 1 for _, count in errors.values() if _ is not None)


def test_webhooks_to_private_addresses_are_refused_unless_allowed(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]], make_settings: Callable[..., Settings]
) -> None:
    settings, server, mails = stack
    strict = make_settings(
        settings.config_path,
        RIGHTSWATCH_DATABASE_URL=settings.database_url,
        RIGHTSWATCH_SMTP_URL=settings.environ["RIGHTSWATCH_SMTP_URL"],
        RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="false",
    )
    assert run_once(strict).endswith("alerts: 2 sent, 2 failed")
    assert webhook_calls(server) == [] and len(mails) == 2
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        dead = session.scalars(
            select(Delivery).where(Delivery.subscriber_id == "case-tracker")
        ).all()
    engine.dispose()
    assert {d.status for d in dead} == {"dead"}
    assert all("private or internal address" in (d.last_error or "") for d in dead)


def test_hostile_titles_cannot_inject_headers_or_html(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]],
) -> None:
    settings, server, mails = stack
    server.clear_all_handlers()
    evil = [
        {
            "guid": "evil",
            "title": "Azimjan Askarov R&amp;D&#13;&#10;Bcc: everyone@example.org&#13;&#10;X-Evil: 1",
            "description": "<p>Azimjan Askarov <img src=x onerror=alert(1)> &lt;script&gt;steal()&lt;/script&gt;</p>",
            "link": "javascript:alert(1)",
        }
    ]
    server.expect_request("/feed.xml").respond_with_data(feed_xml(evil))
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    run_once(settings)
    (mail,) = mails
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert "\n" not in str(mail["Subject"]) and "Bcc: everyone" in str(mail["Subject"])
    html = body(mail, "html")
    assert "<script" not in html and "<img" not in html
    assert "Azimjan Askarov R&amp;D" in html
    assert "javascript:" not in html and "onerror" not in html.replace("&#34;", "")


def test_sync_keeps_history_when_a_feed_is_removed(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]], make_settings: Callable[..., Settings]
) -> None:
    settings, _, _ = stack
    run_once(settings)
    text = settings.config_path.read_text()
    settings.config_path.write_text(text.replace("feeds:\n  - id: news", "feeds:\n  - id: other"))
    assert run_once(settings).startswith("feeds: 1 polled")
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        feeds = {f.id: f.active for f in session.scalars(select(Feed))}
        entries = session.scalars(select(Entry).where(Entry.feed_id == "news")).all()
        matches = session.scalars(select(Match).join(Entry).where(Entry.feed_id == "news")).all()
    engine.dispose()
    assert feeds == {"news": False, "other": True}
    assert len(entries) == 3 and len(matches) == 2


def test_match_rows_record_terms_and_surface_text(
    stack: tuple[Settings, HTTPServer, list[EmailMessage]],
) -> None:
    settings, _, _ = stack
    run_once(settings)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        match = session.scalars(select(Match).where(Match.terms.is_not(None))).all()
    engine.dispose()
    by_term = {m.terms[0]: m for m in match}
    hit = by_term["Azimjan Askarov"].hits[0]
    assert hit["text"] == "Azimjan Askarov" and hit["kind"] == "person"
    assert "«Azimjan Askarov»" in by_term["Azimjan Askarov"].snippet
    json.dumps(by_term["Bir Duino"].hits)
