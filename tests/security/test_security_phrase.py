"""The subscriber's security phrase is at the top of every alert and every digest."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from tests.support.feeds import feed_xml
from tests.support.scenario import subscriber, watch_config
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

PHRASE = "blue heron over the Chuy river"
ITEMS = [
    {"guid": "n1", "title": "Azimjan Askarov remembered", "description": "Azimjan Askarov."},
    {"guid": "n2", "title": "Bir Duino statement", "description": "Bir Duino called."},
]
CONFIG = watch_config(
    "{feed_url}",
    keywords=True,
    subscribers=subscriber("desk", email="desk@example.org", security_phrase="{phrase}")
    + subscriber(
        "weekly-reader",
        email="reader@example.org",
        security_phrase="{phrase}",
        frequency="hourly",
        deliver_at='"00:00"',
    )
    + subscriber("no-phrase", email="plain@example.org"),
)


def _parts(mail: EmailMessage) -> list[str]:
    return [
        str(mail.get_body((subtype,)).get_content())  # type: ignore[union-attr]
        for subtype in ("plain", "html")
    ]


def test_every_alert_and_digest_starts_with_the_phrase(
    httpserver: HTTPServer,
    smtp_server: tuple[str, Any],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    smtp_url, inbox = smtp_server
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )
    config = write_config(CONFIG.format(feed_url=httpserver.url_for("/feed.xml"), phrase=PHRASE))
    now = [datetime(2026, 11, 28, 10, 5, tzinfo=UTC)]
    runtime = Runtime(make_settings(config, RIGHTSWATCH_SMTP_URL=smtp_url), clock=lambda: now[0])
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        service.run_once()
        now[0] += timedelta(hours=2)
        service.run_once()
    finally:
        runtime.close()
    by_recipient: dict[str, list[EmailMessage]] = {}
    for mail in inbox.messages:
        by_recipient.setdefault(str(mail["To"]), []).append(mail)
    assert len(by_recipient["desk@example.org"]) == 2  # two alerts
    assert len(by_recipient["reader@example.org"]) == 1  # one digest of both
    assert "digest" in str(by_recipient["reader@example.org"][0]["Subject"])
    for mail in by_recipient["desk@example.org"] + by_recipient["reader@example.org"]:
        text, html = _parts(mail)
        assert text.startswith(f"Your security phrase: {PHRASE}\r\n")
        assert f"Your security phrase: <strong>{PHRASE}</strong>" in html.split("<body", 1)[1][:300]
    for mail in by_recipient["plain@example.org"]:
        assert "security phrase" not in "".join(_parts(mail))
