"""Structured logs: JSON lines with the feed, entry, delivery, task and request ids bound,
and no e-mail address, token or secret in full, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from tests.support.api import Stack, confirm_link, text_of
from tests.support.waits import wait_for
from worker import logs


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every log record of the test process, as JSON lines (the root logger restored after)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    logs.setup("INFO", "json", stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_bound_ids_and_redaction(captured: io.StringIO) -> None:
    log = logging.getLogger("worker.test")
    with logs.bind(feed_id="news", task_id="7f1c"):
        logs.add(entry_id=42)
        log.warning(
            "to %s via %s, secret %s, %s, header %s",
            "reporter@example.org",
            "https://alerts.example.org/unsubscribe/Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "smtp://alerts:hunter2@mail.example.org:587",
            "Authorization: Bearer operator-token",
        )
    log.info("outside")
    try:
        raise ValueError("cannot deliver to someone@example.org")
    except ValueError:
        log.exception("failed")
    first, second, third = lines(captured)
    assert first["feed_id"] == "news" and first["task_id"] == "7f1c" and first["entry_id"] == "42"
    assert first["level"] == "WARNING" and first["logger"] == "worker.test"
    assert first["message"] == (
        "to r***@example.org via https://alerts.example.org/unsubscribe/Abcd…, secret whsec_***, "
        "smtp://alerts:***@mail.example.org:587, header Authorization: Bearer ***"
    )
    assert "feed_id" not in second
    assert "s***@example.org" in third["exception"] and "someone@" not in third["exception"]


def test_the_text_format_appends_the_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.TextFormatter())
    log = logging.getLogger("worker.text")
    log.addHandler(handler)
    try:
        with logs.bind(delivery_id="msg_1"):
            log.warning("sent to desk@example.org")
    finally:
        log.removeHandler(handler)
    assert (
        stream.getvalue()
        .rstrip()
        .endswith("WARNING worker.text: sent to d***@example.org delivery_id=msg_1")
    )


def test_a_subscriber_journey_logs_ids_and_never_an_address_or_token(
    stack: Stack, captured: io.StringIO
) -> None:
    assert (
        stack.api.post(
            "/subscriptions", json={"email": "journalist@example.org", "watchlists": ["kg"]}
        ).status_code
        == 202
    )
    link = confirm_link(stack, "journalist@example.org")
    stack.api.get(link)
    stack.api.post(link)
    stack.feed.publish("l1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    alert = wait_for(lambda: stack.mails_to("journalist@example.org")[1:])
    unsubscribe = re.search(
        r"<http://[^/]+(/unsubscribe/[^>]+)>", str(alert[0]["List-Unsubscribe"])
    )
    assert unsubscribe is not None
    stack.api.post(unsubscribe.group(1))
    # The server logs a request after its response is on the wire: wait for the line.
    wait_for(lambda: "POST /unsubscribe/{token}" in captured.getvalue())

    records = lines(captured)
    text = captured.getvalue()
    secrets = [
        "journalist@example.org",
        "desk@example.org",
        link.split("/")[-1],
        unsubscribe.group(1).split("/")[-1],
        *re.findall(
            r"/manage/([A-Za-z0-9_-]+)", text_of(stack.mails_to("journalist@example.org")[0])
        ),
    ]
    for secret in secrets:
        assert secret not in text, secret
    polled = [r for r in records if r["message"].startswith("feed news polled")]
    assert polled and all(r["feed_id"] == "news" for r in polled)
    sent = [r for r in records if re.match(r"delivery msg_\w+: sending → sent", r["message"])]
    assert len(sent) >= 3  # the confirmation, and the alert to each subscriber
    assert all(r["message"].split()[1].rstrip(":") == r["delivery_id"] for r in sent)
    assert any("entry_id" in r for r in sent)
    requests = [r for r in records if r["logger"] == "worker.api.app"]
    assert {r["message"].split(" →")[0] for r in requests} >= {
        "POST /subscriptions",
        "GET /confirm/{token}",
        "POST /confirm/{token}",
        "POST /unsubscribe/{token}",
    }
    assert all(re.fullmatch(r"[0-9a-f]{12}", r["request_id"]) for r in requests)
