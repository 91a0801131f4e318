"""The webhook notifier against real local HTTP receivers: signing, SSRF guard, replies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.network import free_port
from tests.support.receiver import WEBHOOK_SECRET, Receiver
from worker.core.errors import DeliveryError, UnsafeDestinationError
from worker.core.http_headers import retry_after_seconds
from worker.core.types import Alert, AlertTerm, Digest
from worker.notify.base import Recipient
from worker.notify.webhook import WebhookNotifier
from worker.settings import Settings, load_settings

NEW_SECRET = "whsec_dGhpcyBpcyB0aGUgbmV3IHNlY3JldCBrZXkh"


def settings(allow_private: bool = True) -> Settings:
    return load_settings(
        {"RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true" if allow_private else "false"}
    )


ALERT = Alert(
    delivery_id="msg_0123456789abcdef",
    match_id=7,
    watchlist_id="kg",
    watchlist_title="Kyrgyzstan defenders",
    feed_id="news",
    feed_title="News",
    entry_title="Azimjan Askarov remembered",
    entry_link="https://example.org/n1",
    entry_published=datetime(2026, 11, 16, 9, tzinfo=UTC),
    terms=(AlertTerm("person", "Azimjan Askarov", "Азимжан Аскаров", "summary", "alias"),),
    snippet="… «Азимжан Аскаров» …",
    matched_at=datetime(2026, 11, 16, 10, tzinfo=UTC),
)


def recipient(url: str, secret: str | None = WEBHOOK_SECRET) -> Recipient:
    return Recipient("tracker", "webhook", url, secret)


def test_signed_with_both_secrets_during_a_rotation(receiver: Receiver) -> None:
    WebhookNotifier(settings()).send(
        ALERT, recipient(receiver.url(), f"{WEBHOOK_SECRET} {NEW_SECRET}")
    )
    ((_, headers, _),) = receiver.requests
    assert len(headers["webhook-signature"].split()) == 2
    old, new = receiver.verified(WEBHOOK_SECRET), receiver.verified(NEW_SECRET)
    assert old == new
    payload = old[0]
    assert payload["type"] == "match.created" and payload["version"] == 1
    assert payload["data"]["delivery_id"] == headers["webhook-id"] == "msg_0123456789abcdef"
    assert payload["data"]["terms"][0]["text"] == "Азимжан Аскаров"
    with pytest.raises(WebhookVerificationError):
        receiver.verified("whsec_" + "A" * 32)


def test_digest_payload_lists_the_matches(receiver: Receiver) -> None:
    start = datetime(2026, 11, 16, 7, tzinfo=UTC)
    digest = Digest(
        "msg_digest", "daily", start, start + timedelta(days=1), "Europe/Berlin", (ALERT, ALERT)
    )
    WebhookNotifier(settings()).send(digest, recipient(receiver.url()))
    (payload,) = receiver.verified()
    assert payload["type"] == "digest.created"
    assert payload["data"]["period"] == {
        "start": "2026-11-16T07:00:00+00:00",
        "end": "2026-11-17T07:00:00+00:00",
        "timezone": "Europe/Berlin",
    }
    assert [m["match_id"] for m in payload["data"]["matches"]] == [7, 7]


@pytest.mark.parametrize(
    ("url", "resolves_to"),
    [
        ("http://127.0.0.1:{port}/hook", None),
        ("http://localhost:{port}/hook", None),
        ("http://10.0.0.1/hook", None),
        ("http://169.254.169.254/latest/meta-data/", None),
        ("http://[::1]:{port}/hook", None),
        ("http://[::ffff:10.0.0.1]/hook", None),
        ("http://internal.example/hook", ["10.0.0.1"]),
        ("http://metadata.example/hook", ["169.254.169.254"]),
        ("https://rebind.example/hook", ["93.184.216.34", "127.0.0.1"]),
    ],
)
def test_internal_destinations_are_refused_before_any_connection(
    receiver: Receiver, url: str, resolves_to: list[str] | None
) -> None:
    def resolve(host: str, port: int) -> list[str]:
        assert resolves_to is not None
        return resolves_to

    notifier = (
        WebhookNotifier(settings(allow_private=False))
        if resolves_to is None
        else WebhookNotifier(settings(allow_private=False), resolve=resolve)
    )
    with pytest.raises(UnsafeDestinationError) as refused:
        notifier.send(ALERT, recipient(url.format(port=receiver.port)))
    message = str(refused.value)
    assert "a private or internal address" in message
    assert "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE=true" in message and "\n" not in message
    assert not refused.value.retryable
    assert receiver.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(receiver: Receiver) -> None:
    """DNS rebinding: a second lookup would fail, but there is none; Host stays the name."""
    answers = [["127.0.0.1"]]

    def resolve(host: str, port: int) -> list[str]:
        assert host == "hooks.example"
        if not answers:
            raise OSError("a second lookup happened")
        return answers.pop()

    WebhookNotifier(settings(), resolve=resolve).send(
        ALERT, recipient(receiver.url(host="hooks.example"))
    )
    ((path, headers, _),) = receiver.requests
    assert path == "/hook" and headers["Host"] == f"hooks.example:{receiver.port}"


def test_allowed_private_destinations_are_reached(receiver: Receiver) -> None:
    WebhookNotifier(settings()).send(ALERT, recipient(receiver.url(host="localhost")))
    assert len(receiver.requests) == 1


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (401, False),
        (404, False),
        (410, False),
        (408, True),
        (409, True),
        (425, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
    ],
)
def test_which_answers_are_retried(receiver: Receiver, status: int, retryable: bool) -> None:
    receiver.respond(status, b"nope")
    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(receiver.url()))
    assert failed.value.retryable is retryable
    assert failed.value.status == status
    assert str(failed.value) == f"webhook answered HTTP {status}: nope"


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    receiver.respond(302, Location=receiver.url("/elsewhere"))
    with pytest.raises(DeliveryError, match="HTTP 302 \\(redirects are not followed\\)") as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(receiver.url()))
    assert not failed.value.retryable
    assert [path for path, _, _ in receiver.requests] == ["/hook"]


def test_a_huge_reply_is_read_only_to_the_cap(receiver: Receiver) -> None:
    receiver.respond(500, b"x" * (50 * 1024 * 1024))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(receiver.url()))
    assert time.monotonic() - started < 5
    assert len(str(failed.value)) < 250


def test_a_slow_receiver_times_out(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("worker.notify.webhook.READ_TIMEOUT", 0.5)
    receiver.delay = 2
    with pytest.raises(DeliveryError, match="webhook timed out \\(ReadTimeout\\)") as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(receiver.url()))
    assert failed.value.retryable


def test_nobody_listening_is_retried() -> None:
    with pytest.raises(DeliveryError, match="webhook request failed: ConnectError") as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(f"http://127.0.0.1:{free_port()}/hook"))
    assert failed.value.retryable


def test_a_malformed_secret_is_not_retried(receiver: Receiver) -> None:
    with pytest.raises(DeliveryError, match="not a valid whsec_ secret") as failed:
        WebhookNotifier(settings()).send(ALERT, recipient(receiver.url(), "whsec_%%%"))
    assert not failed.value.retryable and receiver.requests == []


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 16, 10, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


def test_check_config_rejects_a_secret_that_is_not_whsec(
    write_config: Callable[..., Path],
) -> None:
    from worker.config import load_config
    from worker.core.errors import ConfigError

    path = write_config(
        """\
        watchlists: [{id: kg, title: KG, keywords: [x]}]
        subscribers:
          - {id: a, webhook: "https://hooks.example.org/a", secret_env: A_SECRET, watchlists: [kg]}
          - {id: b, webhook: "https://hooks.example.org/b", secret_env: B_SECRET, watchlists: [kg]}
          - {id: c, webhook: "https://hooks.example.org/c", secret_env: C_SECRET, watchlists: [kg]}
        """
    )
    env = {
        "A_SECRET": "hunter2",
        "B_SECRET": f"{WEBHOOK_SECRET} {NEW_SECRET}",
        "C_SECRET": "whsec_!!",
    }
    with pytest.raises(ConfigError) as error:
        load_config(path, env)
    messages = [p.message for p in error.value.problems]
    assert messages == [
        "A_SECRET: a webhook secret must start with whsec_ (Standard Webhooks format)",
        "C_SECRET: the part after whsec_ is not valid base64",
    ]
    assert "hunter2" not in str(error.value)
    json.dumps(messages)
