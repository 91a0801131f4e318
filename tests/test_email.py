"""E-mail: digests in two time zones, List-Unsubscribe, SMTP replies, header safety.

A real SMTP server (aiosmtpd) in the test process, real PostgreSQL, and a
clock moved by hand so a day of digests takes seconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.support.clock import Clock
from tests.support.delivery import deliveries
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from worker.db.models import Subscriber
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

CONFIG = """\
feeds:
  - {{id: news, title: News, url: "{news}"}}
  - {{id: mirror, title: Mirror, url: "{mirror}"}}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people: [{{name: Tolekan Ismailova}}, {{name: Azimjan Askarov}}]
    keywords: [Bir Duino]
  - id: kz
    title: Central Asia NGOs
    keywords: [Bir Duino]
subscribers:
{subscribers}
"""
DIGESTS = """\
  - id: berlin
    email: berlin@example.org
    frequency: daily
    deliver_at: "08:00"
    timezone: Europe/Berlin
    watchlists: [kg]
  - id: newyork
    email: ny@example.org
    frequency: daily
    deliver_at: "08:00"
    timezone: America/New_York
    watchlists: [kg, kz]
"""
MORNING = [
    {
        "guid": "d1",
        "title": "Tolekan Ismailova detained",
        "description": "Police detained Tolekan Ismailova.",
    },
    {
        "guid": "d2",
        "title": "Hearing postponed",
        "description": "Azimjan Askarov's case was postponed.",
    },
    {
        "guid": "d3",
        "title": "&lt;script&gt;alert(1)&lt;/script&gt;Statement",
        "description": "<p>Bir Duino <img src=x onerror=alert(1)> demands a release.</p>",
    },
]
MIRROR = [
    {
        "guid": "m1",
        "link": "https://example.org/d1",
        "title": "Tolekan Ismailova detained",
        "description": "Police detained Tolekan Ismailova, a mirror says.",
    }
]
NOON = {
    "guid": "d4",
    "title": "Askarov's lawyer speaks",
    "description": "The lawyer of Azimjan Askarov spoke.",
}
AFTERNOON = {
    "guid": "d5",
    "title": "Ismailova released",
    "description": "Tolekan Ismailova was released.",
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def stack(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> Iterator[Callable[..., tuple[EmbeddedService, list[EmailMessage]]]]:
    runtimes: list[Runtime] = []

    def make(
        subscribers: str, clock: Clock, **env: str
    ) -> tuple[EmbeddedService, list[EmailMessage]]:
        smtp_url, inbox = smtp_server
        httpserver.expect_request("/news.xml").respond_with_data(feed_xml(MORNING))
        httpserver.expect_request("/mirror.xml").respond_with_data(feed_xml(MIRROR, title="Mirror"))
        config = write_config(
            CONFIG.format(
                news=httpserver.url_for("/news.xml"),
                mirror=httpserver.url_for("/mirror.xml"),
                subscribers=subscribers,
            )
        )
        settings = make_settings(
            config,
            **{
                "RIGHTSWATCH_DATABASE_URL": pg_database,
                "RIGHTSWATCH_SMTP_URL": smtp_url,
                "RIGHTSWATCH_SMTP_FROM": "rightswatch <alerts@rightswatch.example.org>",
                **env,
            },
        )
        runtime = Runtime(settings, clock=clock)
        runtimes.append(runtime)
        service = EmbeddedService(runtime)
        service.prepare()
        return service, inbox.messages

    yield make
    for runtime in runtimes:
        runtime.close()


def republish(httpserver: HTTPServer, items: list[dict[str, str]]) -> None:
    httpserver.clear_all_handlers()
    httpserver.expect_request("/news.xml").respond_with_data(feed_xml(items))
    httpserver.expect_request("/mirror.xml").respond_with_data(feed_xml(MIRROR, title="Mirror"))


def test_daily_digests_go_out_at_local_time_in_two_zones(
    stack: Callable[..., tuple[EmbeddedService, list[EmailMessage]]], httpserver: HTTPServer
) -> None:
    clock = Clock(utc("2026-11-16T10:00"))  # 11:00 in Berlin, 05:00 in New York
    service, mails = stack(DIGESTS, clock)
    assert service.run_once().line() == (
        "feeds: 2 polled, 0 failed | entries: 4 new | matches: 5 new | alerts: 0 sent, 0 failed"
    )
    clock.now = utc("2026-11-16T12:00")
    republish(httpserver, [*MORNING, NOON])
    service.run_once()
    clock.now = utc("2026-11-16T12:59:59")
    service.run_once()
    assert mails == []

    clock.now = utc("2026-11-16T13:00:30")  # 08:00 in New York
    assert service.run_once().alerts_sent == 1
    (ny,) = mails
    assert ny["To"] == "ny@example.org"
    assert ny["Subject"] == (
        "[rightswatch] daily digest, 5 matches: Bir Duino, Tolekan Ismailova, Azimjan Askarov"
    )
    text = text_of(ny)
    assert "2026-11-15 08:00 America/New_York to 2026-11-16 08:00 America/New_York" in text
    assert text.index('== Watch list "Central Asia NGOs" ==') < text.index(
        '== Watch list "Kyrgyzstan defenders" =='
    )
    assert text.count("Tolekan Ismailova detained") == 1
    assert "Also reported by: Mirror" in text or "Also reported by: News" in text
    assert "Askarov's lawyer speaks" in text
    html = text_of(ny, "html")
    assert "<script" not in html and "<img" not in html and "Statement" in html
    assert ny["Message-ID"].startswith("<msg_") and ny["Date"] and ny["List-Id"]

    clock.now = utc("2026-11-16T14:00")
    republish(httpserver, [*MORNING, NOON, AFTERNOON])
    service.run_once()
    clock.now = utc("2026-11-17T06:59")
    service.run_once()
    assert len(mails) == 1

    clock.now = utc("2026-11-17T07:00:30")  # 08:00 in Berlin
    assert service.run_once().alerts_sent == 1
    berlin = mails[1]
    assert berlin["To"] == "berlin@example.org"
    text = text_of(berlin)
    assert "2026-11-16 08:00 Europe/Berlin to 2026-11-17 08:00 Europe/Berlin" in text
    assert "Central Asia NGOs" not in text
    for title in (
        "Tolekan Ismailova detained",
        "Hearing postponed",
        "Askarov's lawyer speaks",
        "Ismailova released",
    ):
        assert text.count(title) == 1, title

    clock.now = utc("2026-11-17T13:00:30")
    assert service.run_once().alerts_sent == 1
    second_ny = text_of(mails[2])
    assert "Ismailova released" in second_ny and "Hearing postponed" not in second_ny

    clock.now = utc("2026-11-19T12:00")
    assert service.run_once().alerts_sent == 0
    assert len(mails) == 3
    rows = deliveries(service)
    assert sorted((r.subscriber_id, r.kind, r.status) for r in rows) == [
        ("berlin", "digest", "sent"),
        ("newyork", "digest", "sent"),
        ("newyork", "digest", "sent"),
    ]


IMMEDIATE = """\
  - id: desk
    email: desk@example.org
    watchlists: [kg]
"""


def test_list_unsubscribe_headers_when_the_public_url_is_set(
    stack: Callable[..., tuple[EmbeddedService, list[EmailMessage]]],
) -> None:
    clock = Clock(utc("2026-11-16T10:00"))
    service, mails = stack(
        IMMEDIATE,
        clock,
        RIGHTSWATCH_PUBLIC_URL="https://alerts.example.org/",
        RIGHTSWATCH_SECRET_KEY="correct horse battery staple",
    )
    service.run_once()
    assert len(mails) == 3
    header = mails[0]["List-Unsubscribe"]
    match = re.fullmatch(
        r"<https://alerts\.example\.org/unsubscribe/([A-Za-z0-9_-]{43})>, "
        r"<mailto:alerts@rightswatch\.example\.org\?subject=unsubscribe%20([A-Za-z0-9_-]{43})>",
        str(header),
    )
    assert match is not None and match.group(1) == match.group(2)
    token = match.group(1)
    assert mails[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert {str(m["List-Unsubscribe"]) for m in mails} == {str(header)}
    assert f"Unsubscribe: https://alerts.example.org/unsubscribe/{token}" in text_of(mails[0])
    with service.runtime.sessions() as session:
        (stored,) = session.scalars(select(Subscriber.unsubscribe_token_hash))
    assert stored == hashlib.sha256(token.encode()).hexdigest()


def test_no_list_unsubscribe_without_a_public_url(
    stack: Callable[..., tuple[EmbeddedService, list[EmailMessage]]],
) -> None:
    service, mails = stack(IMMEDIATE, Clock(utc("2026-11-16T10:00")))
    service.run_once()
    assert mails and all(m["List-Unsubscribe"] is None for m in mails)


class Refusing:
    """An SMTP server that answers RCPT TO with a fixed reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return self.reply


@pytest.fixture
def refusing_smtp() -> Iterator[Callable[[str], str]]:
    controllers: list[Controller] = []

    def start(reply: str) -> str:
        controller = Controller(Refusing(reply), hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return f"smtp://127.0.0.1:{controller.port}"

    yield start
    for controller in controllers:
        controller.stop()


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        ("550 5.1.1 No such mailbox here", "dead", 550),
        ("451 4.3.0 Try again later", "retrying", 451),
    ],
)
def test_smtp_5xx_is_dead_and_4xx_is_retried(
    stack: Callable[..., tuple[EmbeddedService, list[EmailMessage]]],
    refusing_smtp: Callable[[str], str],
    reply: str,
    status: str,
    code: int,
) -> None:
    service, _ = stack(
        IMMEDIATE, Clock(utc("2026-11-16T10:00")), RIGHTSWATCH_SMTP_URL=refusing_smtp(reply)
    )
    service.run_once()
    rows = deliveries(service)
    assert len(rows) == 3 and {r.status for r in rows} == {status}
    assert {r.last_status for r in rows} == {code}
    assert {r.last_error for r in rows} == {f"DeliveryError: SMTP refused the recipient: {reply}"}


def test_a_long_hostile_title_is_one_folded_subject(
    stack: Callable[..., tuple[EmbeddedService, list[EmailMessage]]], httpserver: HTTPServer
) -> None:
    title = "Tolekan Ismailova " + "very long words " * 30 + "&#13;&#10;Bcc: all@example.org"
    service, mails = stack(IMMEDIATE, Clock(utc("2026-11-16T10:00")))
    republish(httpserver, [{"guid": "x", "title": title, "description": "Tolekan Ismailova."}])
    service.run_once()
    mine = [m for m in mails if "very long" in str(m["Subject"])]
    (mail,) = mine
    assert mail["Bcc"] is None
    assert len(str(mail["Subject"])) <= 150 and str(mail["Subject"]).endswith("…")
    raw = bytes(mail).decode()
    headers = raw.split("\n\n", 1)[0]
    subject_lines = re.search(r"^Subject:.*?(?=^\S)", headers, re.M | re.S)
    assert subject_lines is not None
    assert all(len(line) <= 78 for line in subject_lines.group(0).splitlines())
