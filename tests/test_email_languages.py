# ruff: noqa: RUF001 -- the expected Russian and Kyrgyz words are the test data
"""Alerts and digests in the subscriber's language (en, ru, ky), through a real SMTP server.

YAML subscribers choose it with ``language:``; API subscribers chose it when they
subscribed. The message's own words, dates and footer change; the entry's text stays
as the feed wrote it; the headers stay safe (RFC 2047 subject, plain ASCII
List-Unsubscribe); the webhook payload only names the language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, get_args

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.support.api import Stack, confirm_link, subscribe, text_of
from tests.support.clock import Clock
from tests.support.feeds import feed_xml
from worker import i18n
from worker.config import Language, load_config
from worker.core.errors import ConfigError
from worker.core.types import Alert, AlertTerm
from worker.db.models import Subscriber
from worker.embedded import EmbeddedService
from worker.notify import render
from worker.runtime import Runtime
from worker.settings import Settings

CONFIG = """\
feeds:
  - {{id: news, title: News, url: "{news}"}}
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people: [{{name: Tolekan Ismailova}}, {{name: Azimjan Askarov}}]
subscribers:
{subscribers}
"""
SUBSCRIBER = """\
  - id: {language}_{frequency}
    email: {language}.{frequency}@example.org
    frequency: {frequency}
    deliver_at: "08:00"
    language: {language}
    watchlists: [kg]
"""
ENTRIES = [
    {
        "guid": "e1",
        "title": "Толекан Исмаилова задержана",
        "description": "Милиция задержала Толекан Исмаилову в Бишкеке.",
    },
    {"guid": "e2", "title": "Hearing postponed", "description": "Azimjan Askarov's case waits."},
]
WORDS = {
    "en": {
        "source": "Source: News, published 2026-11-16 09:00 UTC",
        "appeared": "As it appeared: Толекан Исмаилова",
        "unsubscribe": "Unsubscribe: https://alerts.example.org/unsubscribe/",
        "footer": 'rightswatch alert {id} for watch list "kg".',
        "digest": "[rightswatch] daily digest, 2 matches: ",
        "period": "2026-11-16 08:00 UTC to 2026-11-17 08:00 UTC",
        "heading": '== Watch list "Kyrgyzstan defenders" ==',
    },
    "ru": {
        "source": "Источник: News, опубликовано 16 ноября 2026\u202fг., 09:00 UTC",
        "appeared": "Как в тексте: Толекан Исмаилова",
        "unsubscribe": "Отписаться: https://alerts.example.org/unsubscribe/",
        "footer": "Оповещение rightswatch {id} по списку наблюдения «kg».",
        "digest": "[rightswatch] ежедневная сводка, 2 совпадения: ",
        "period": "с 16 ноября 2026\u202fг., 08:00 UTC по 17 ноября 2026\u202fг., 08:00 UTC",
        "heading": "== Список наблюдения «Kyrgyzstan defenders» ==",
    },
    "ky": {
        "source": "Булак: News, жарыяланган: 2026-ж., 16-ноябрь, 09:00 UTC",
        "appeared": "Тексттеги жазылышы: Толекан Исмаилова",
        "unsubscribe": "Жазылуудан чыгуу: https://alerts.example.org/unsubscribe/",
        "footer": "«kg» байкоо тизмеси боюнча rightswatch эскертүүсү {id}.",
        "digest": "[rightswatch] күн сайынкы жыйынтык, 2 дал келүү: ",
        "period": "2026-ж., 16-ноябрь, 08:00 UTC – 2026-ж., 17-ноябрь, 08:00 UTC",
        "heading": "== «Kyrgyzstan defenders» байкоо тизмеси ==",
    },
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def service(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    pg_database: str,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> Iterator[tuple[EmbeddedService, Clock, Any]]:
    smtp_url, inbox = smtp_server
    httpserver.expect_request("/news.xml").respond_with_data(feed_xml(ENTRIES))
    subscribers = "".join(
        SUBSCRIBER.format(language=language, frequency=frequency)
        for language in WORDS
        for frequency in ("immediate", "daily")
    )
    config = write_config(
        CONFIG.format(news=httpserver.url_for("/news.xml"), subscribers=subscribers)
    )
    settings = make_settings(
        config,
        RIGHTSWATCH_DATABASE_URL=pg_database,
        RIGHTSWATCH_SMTP_URL=smtp_url,
        RIGHTSWATCH_SMTP_FROM="rightswatch <alerts@rightswatch.example.org>",
        RIGHTSWATCH_PUBLIC_URL="https://alerts.example.org",
        RIGHTSWATCH_SECRET_KEY="correct horse battery staple",
    )
    clock = Clock(utc("2026-11-16T10:00"))
    runtime = Runtime(settings, clock=clock)
    embedded = EmbeddedService(runtime)
    embedded.prepare()
    yield embedded, clock, inbox
    runtime.close()


def received(inbox: Any, address: str) -> list[tuple[EmailMessage, bytes]]:
    """The messages to ``address`` with the bytes as the SMTP server received them."""
    return [
        (message, envelope.original_content or envelope.content)
        for message, envelope in zip(inbox.messages, inbox.envelopes, strict=True)
        if str(message["To"]) == address
    ]


def assert_safe_headers(raw: bytes, non_ascii_subject: bool) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii(), "every header is 7-bit (RFC 2047 for the subject)"
    subject = re.search(rb"^Subject:(.*(?:\r\n[ \t].*)*)", head, re.MULTILINE)
    assert subject is not None
    assert (b"=?utf-8?" in subject.group(1)) == non_ascii_subject
    (line,) = [h for h in head.split(b"\r\n") if h.startswith(b"List-Unsubscribe:")]
    assert re.fullmatch(
        rb"List-Unsubscribe: <https://alerts\.example\.org/unsubscribe/[A-Za-z0-9_-]{43}>, "
        rb"<mailto:alerts@rightswatch\.example\.org\?subject=unsubscribe%20[A-Za-z0-9_-]{43}>",
        line,
    )


@pytest.mark.parametrize("language", list(WORDS))
def test_each_subscriber_gets_alerts_and_a_daily_digest_in_their_language(
    service: tuple[EmbeddedService, Clock, Any], language: str
) -> None:
    embedded, clock, inbox = service
    words = WORDS[language]
    embedded.run_once()

    alerts = received(inbox, f"{language}.immediate@example.org")
    assert len(alerts) == 2
    (mail, raw), _ = sorted(alerts, key=lambda m: "Толекан" not in str(m[0]["Subject"]))
    assert mail["Subject"] == "[rightswatch] Tolekan Ismailova: Толекан Исмаилова задержана"
    assert_safe_headers(raw, non_ascii_subject=True)
    text, html = text_of(mail), text_of(mail, "html")
    delivery = str(mail["X-Rightswatch-Delivery"])
    for key in ("source", "appeared", "unsubscribe"):
        assert words[key] in text, key
    assert words["footer"].format(id=delivery) in text
    assert "\nТолекан Исмаилова задержана\n" in text  # the entry's own words
    assert f'<html lang="{language}">' in html
    assert words["appeared"].split(":")[0] in html

    clock.now = utc("2026-11-17T08:00:30")
    embedded.run_once()
    ((digest, raw),) = received(inbox, f"{language}.daily@example.org")
    # Python's e-mail policy may fold right after "Subject:"; the parser keeps that space.
    assert str(digest["Subject"]).strip().startswith(words["digest"])
    assert_safe_headers(raw, non_ascii_subject=language != "en")
    text = text_of(digest)
    for key in ("period", "heading", "appeared", "unsubscribe"):
        assert words[key] in text, key
    assert "Hearing postponed" in text and "Толекан Исмаилова задержана" in text
    assert f'<html lang="{language}">' in text_of(digest, "html")


def test_an_api_subscriber_gets_alerts_in_the_language_chosen_when_subscribing(
    stack: Stack,
) -> None:
    assert subscribe(stack, "olga@example.org", language="ru", frequency="immediate") == 202
    assert stack.api.post(confirm_link(stack, "olga@example.org")).status_code == 200
    stack.feed.publish("a1", "Tolekan Ismailova detained", "Police detained Tolekan Ismailova.")
    stack.run_once()
    (alert,) = [m for m in stack.mails_to("olga@example.org") if "/confirm/" not in text_of(m)]
    text = text_of(alert)
    assert "Как в тексте: Tolekan Ismailova" in text
    assert re.search(r"\nУправление подпиской: http://\S+/manage/\S+\n", text)
    assert "Tolekan Ismailova detained" in text  # the entry's own words


def test_yaml_language_is_stored_and_validated(
    write_config: Callable[..., Path], service: tuple[EmbeddedService, Clock, Any]
) -> None:
    embedded, _, _ = service
    with embedded.runtime.sessions() as session:
        stored = {s.id: s.language for s in session.scalars(select(Subscriber))}
    assert stored["ky_daily"] == "ky" and stored["en_immediate"] == "en"

    base = "feeds: []\nwatchlists: [{id: kg, title: K, keywords: [x]}]\n"
    wrong = write_config(
        base + "subscribers: [{id: a, console: true, watchlists: [kg], language: fr}]\n"
    )
    with pytest.raises(ConfigError, match="language"):
        load_config(wrong, {})
    operator = write_config(base + "operators: [{id: o, console: true, language: ru}]\n")
    with pytest.raises(ConfigError, match="an operator has no language"):
        load_config(operator, {})
    assert set(get_args(Language)) == set(i18n.LANGUAGES)


def test_the_webhook_payload_only_names_the_language() -> None:
    alert = Alert(
        "dlv_1", 1, "kg", "Kyrgyzstan defenders", "news", "News", "Title", None, None,
        (AlertTerm("person", "Tolekan Ismailova", "Толекан Исмаилова", "title", "exact"),),
        "«Толекан Исмаилова»", utc("2026-11-16T10:00"),
    )  # fmt: skip
    at = utc("2026-11-16T10:01")
    english = render.payload(alert, at)
    russian = render.payload(replace(alert, language="ru"), at)
    assert russian["data"].pop("language") == "ru" and english["data"].pop("language") == "en"
    assert russian == english
