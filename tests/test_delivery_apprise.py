"""The Apprise channel (Signal, Matrix, ntfy…) on the same outbox, via its json:// scheme."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.delivery import ITEMS, deliveries
from tests.support.receiver import Receiver
from worker.db.outbox import destination_key
from worker.embedded import EmbeddedService

pytest.importorskip("apprise")


def test_apprise_alerts_are_retried_then_sent(
    feeds: Callable[..., str],
    receiver: Receiver,
    service_on: Callable[..., EmbeddedService],
    clock: Clock,
) -> None:
    service = service_on(
        f"feeds:\n  - id: news\n    title: News\n    url: {feeds(ITEMS[:1])}\n"
        "watchlists:\n  - id: kg\n    title: Kyrgyzstan defenders\n"
        "    people: [{name: Tolekan Ismailova}]\n"
        "subscribers:\n  - id: signal-group\n"
        f'    apprise: "json://127.0.0.1:{receiver.port}/${{NOTIFY_TOKEN}}"\n'
        "    watchlists: [kg]\n",
        NOTIFY_TOKEN="t0ken",
    )
    receiver.respond(500, b"down")
    service.run_once()
    (row,) = deliveries(service)
    receiver_key = destination_key("apprise", f"json://127.0.0.1:{receiver.port}/t0ken")
    assert row.status == "retrying" and row.destination == receiver_key
    assert row.last_error == (
        "DeliveryError: Apprise could not deliver the notification: "
        "Failed to send JSON POST notification: Internal server error., error=500."
    )
    assert "t0ken" not in (row.last_error or "")
    clock.advance(hours=7)
    assert service.run_once().alerts_sent == 1
    assert [path for path, _, _ in receiver.requests] == ["/t0ken", "/t0ken"]
    message = json.loads(receiver.requests[1][2])
    assert message["title"] == "[rightswatch] Tolekan Ismailova: Tolekan Ismailova detained"
    assert "Tolekan Ismailova detained\nhttps://example.org/d1" in message["message"]
    assert deliveries(service)[0].status == "sent"


def test_an_unset_variable_in_the_apprise_url_is_a_config_error(
    write_config: Callable[..., Path],
) -> None:
    from worker.config import load_config
    from worker.core.errors import ConfigError

    path = write_config(
        "watchlists: [{id: kg, title: KG, keywords: [x]}]\n"
        'subscribers: [{id: s, apprise: "tgram://${BOT_TOKEN}/123", watchlists: [kg]}]\n'
    )
    with pytest.raises(ConfigError, match="environment variable BOT_TOKEN is not set"):
        load_config(path, {})
    assert load_config(path, {"BOT_TOKEN": "x"}).config.subscribers[0].channel == "apprise"
