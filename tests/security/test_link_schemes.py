"""Only http(s) links reach a subscriber, in every channel: a feed item whose link is
``javascript:`` or ``data:`` arrives without a link (issue 15, item 12)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.receiver import WEBHOOK_SECRET
from worker.core.types import Alert, AlertTerm, Digest
from worker.notify import render
from worker.notify.base import Recipient
from worker.notify.webhook import WebhookNotifier
from worker.settings import Settings

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def alert(link: str) -> Alert:
    return Alert(
        delivery_id="d1",
        match_id=1,
        watchlist_id="kg",
        watchlist_title="Kyrgyzstan",
        feed_id="news",
        feed_title="News",
        entry_title="A report",
        entry_link=link,
        entry_published=NOW,
        terms=(AlertTerm("person", "A B", "A B", "title", "exact"),),
        snippet="…",
        matched_at=NOW,
    )


BAD = ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>", "file:///etc/x"]


@pytest.mark.parametrize("link", BAD)
def test_webhook_alerts_and_digests_carry_only_http_links(
    link: str,
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    settings = make_settings(write_config("feeds: []\n"))
    notifier = WebhookNotifier(settings)
    recipient = Recipient("hook", "webhook", httpserver.url_for("/hook"), secret=WEBHOOK_SECRET)
    digest = Digest("d2", "daily", NOW, NOW, "UTC", (alert(link), alert("https://ok.example/")))
    try:
        notifier.send(alert(link), recipient)
        notifier.send(digest, recipient)
    finally:
        notifier.close()
    sent = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert sent[0]["data"]["entry"]["link"] is None
    assert [m["entry"]["link"] for m in sent[1]["data"]["matches"]] == [None, "https://ok.example/"]
    assert link.split(":")[0] + ":" not in json.dumps(sent)


@pytest.mark.parametrize("link", BAD)
def test_text_and_html_bodies_carry_only_http_links(link: str) -> None:
    for body in (
        render.text_body(alert(link), None, None, None),
        render.html_body(alert(link), None, None, None),
    ):
        assert body is not None and link not in body
