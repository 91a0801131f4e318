"""The outbox against real PostgreSQL and real receivers, with a clock we move by hand.

Retries, the lifetime, Retry-After, dead letters and the per-destination limit,
through the same jobs the Celery tasks and the embedded loop run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.support.clock import Clock
from tests.support.delivery import ITEMS, deliveries, webhook_config
from tests.support.network import free_port
from tests.support.receiver import Receiver
from worker import jobs
from worker.db.models import Delivery
from worker.embedded import EmbeddedService


def test_three_500s_then_200_delivers_once_with_one_webhook_id(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    for _ in range(3):
        receiver.respond(500, b"database is down")
    service = hook_service()
    assert service.run_once().line().endswith("alerts: 0 sent, 1 failed")
    (row,) = deliveries(service)
    assert (row.status, row.attempts, row.last_status) == ("retrying", 1, 500)
    assert row.last_error == "DeliveryError: webhook answered HTTP 500: database is down"
    assert (
        clock.now + timedelta(seconds=5) <= row.next_attempt_at <= clock.now + timedelta(seconds=30)
    )
    for _ in range(3):
        clock.advance(hours=7)
        service.run_once()
    (row,) = deliveries(service)
    assert (row.status, row.attempts, row.last_error, row.last_status) == ("sent", 4, None, None)
    assert row.sent_at == clock.now
    assert receiver.ids() == [row.id] * 4
    payloads = receiver.verified()
    assert {p["data"]["entry"]["title"] for p in payloads} == {"Tolekan Ismailova detained"}
    clock.advance(days=1)
    service.run_once()
    assert len(receiver.requests) == 4


def test_a_receiver_down_for_hours_gets_every_alert_once(
    hook_service: Callable[..., EmbeddedService], clock: Clock
) -> None:
    port = free_port()
    service = hook_service(ITEMS, hook_url=f"http://127.0.0.1:{port}/hook")
    assert service.run_once().line().endswith("matches: 3 new | alerts: 0 sent, 3 failed")
    for _ in range(4):
        clock.advance(hours=6, minutes=1)
        assert service.run_once().alerts_failed == 3
    rows = deliveries(service)
    assert {r.status for r in rows} == {"retrying"} and {r.attempts for r in rows} == {5}
    assert all(
        (r.last_error or "").startswith("DeliveryError: webhook request failed: ConnectError")
        for r in rows
    )
    back = Receiver().start(port)
    try:
        clock.advance(hours=6, minutes=1)
        assert service.run_once().alerts_sent == 3
        clock.advance(days=1)
        assert service.run_once().alerts_sent == 0
        assert sorted(back.ids()) == sorted(r.id for r in rows)
        titles = sorted(p["data"]["entry"]["title"] for p in back.verified())
        assert titles == sorted(i["title"] for i in ITEMS)
    finally:
        back.stop()
    assert {r.status for r in deliveries(service)} == {"sent"}


def test_410_gone_is_dead_at_once(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    receiver.respond(410, b"this hook was removed")
    service = hook_service()
    service.run_once()
    (row,) = deliveries(service)
    assert (row.status, row.attempts, row.last_status) == ("dead", 1, 410)
    assert row.last_error == "DeliveryError: webhook answered HTTP 410: this hook was removed"
    clock.advance(days=2)
    service.run_once()
    assert len(receiver.requests) == 1


def test_a_delivery_that_keeps_failing_is_dead_after_its_lifetime(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    receiver.script = [(503, {}, b"busy")] * 1000
    service = hook_service()
    created = clock.now
    service.run_once()
    while deliveries(service)[0].status == "retrying":
        assert clock.now - created <= timedelta(days=3, hours=1)
        clock.advance(hours=6, minutes=1)
        service.run_once()
    (row,) = deliveries(service)
    assert row.status == "dead" and row.last_status == 503
    assert timedelta(days=3) <= clock.now - created <= timedelta(days=3, hours=7)
    assert 12 <= row.attempts <= 20 and len(receiver.requests) == row.attempts


def test_retry_after_is_honoured(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    receiver.respond(429, b"slow down", Retry_After="7200")
    service = hook_service()
    service.run_once()
    (row,) = deliveries(service)
    assert row.status == "retrying" and row.next_attempt_at >= clock.now + timedelta(seconds=7200)
    clock.advance(hours=1)
    service.run_once()
    assert len(receiver.requests) == 1
    clock.advance(hours=1, seconds=1)
    service.run_once()
    assert len(receiver.requests) == 2 and deliveries(service)[0].status == "sent"


def test_one_slow_receiver_does_not_hold_up_the_others(
    feeds: Callable[..., str],
    receiver: Receiver,
    service_on: Callable[..., EmbeddedService],
    clock: Clock,
) -> None:
    """Limit 1 per destination: a second alert to the slow host waits; another host does not."""
    fast = Receiver().start()
    service = service_on(
        webhook_config(feeds(ITEMS[:2]), receiver.url())
        + f"  - id: other\n    webhook: {fast.url()}\n"
        "    secret_env: CASE_TRACKER_WEBHOOK_SECRET\n    watchlists: [kg]\n",
        RIGHTSWATCH_DELIVERY_CONCURRENCY="1",
    )
    # Two alerts for each of the two subscribers; nothing has been sent yet.
    outcome = jobs.poll(service.runtime, "news")
    assert len(outcome.delivery_ids) == 4
    rows = {(r.subscriber_id, r.id) for r in deliveries(service)}
    slow_ids = [i for s, i in sorted(rows) if s == "tracker"]
    fast_ids = [i for s, i in sorted(rows) if s == "other"]
    receiver.delay = 2
    results: dict[str, str] = {}
    first = threading.Thread(
        target=lambda: results.update(a=jobs.send_delivery(service.runtime, slow_ids[0]).status)
    )
    try:
        first.start()
        assert receiver.arrived.wait(10)
        assert jobs.send_delivery(service.runtime, slow_ids[1]).status == "deferred"
        assert [jobs.send_delivery(service.runtime, i).status for i in fast_ids] == ["sent", "sent"]
        first.join()
        assert results == {"a": "sent"}
        clock.advance(seconds=10)
        receiver.delay = 0
        assert service.run_once().alerts_sent == 1
    finally:
        fast.stop()
    assert {r.status for r in deliveries(service)} == {"sent"}
    assert sorted(receiver.ids()) == sorted(slow_ids)


def test_transitions_are_logged_with_the_delivery_id(
    hook_service: Callable[..., EmbeddedService],
    receiver: Receiver,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.respond(503, b"later")
    service = hook_service()
    with caplog.at_level("INFO", logger="worker.outbox.machine"):
        service.run_once()
        clock.advance(hours=7)
        service.run_once()
    (row,) = deliveries(service)
    lines = [r.getMessage() for r in caplog.records if row.id in r.getMessage()]
    assert [line.split(": ", 1)[1].split(" ", 2)[:2] for line in lines] == [
        ["→", "sending"],
        ["sending", "→"],
        ["→", "sending"],
        ["sending", "→"],
    ]
    assert "retrying at" in lines[1] and lines[3].endswith("sending → sent")
    assert all("whsec_" not in line for line in lines)


def test_overdue_rows_are_swept_back(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    """A lost broker message or a dead worker leaves a row behind; the sweep finds it."""
    service = hook_service()
    outcome = jobs.poll(service.runtime, "news")
    (delivery_id,) = outcome.delivery_ids
    assert jobs.overdue_deliveries(service.runtime) == []  # its own task still has time
    clock.advance(seconds=61)
    assert jobs.overdue_deliveries(service.runtime) == [delivery_id]
    with service.runtime.sessions() as session, session.begin():
        row = session.get_one(Delivery, delivery_id)
        row.status, row.claimed_until = "sending", clock.now + timedelta(minutes=5)
    assert jobs.overdue_deliveries(service.runtime) == []
    assert jobs.send_delivery(service.runtime, delivery_id).status == "skipped"
    clock.advance(minutes=5, seconds=1)
    assert jobs.overdue_deliveries(service.runtime) == [delivery_id]
    assert jobs.send_delivery(service.runtime, delivery_id).status == "sent"
    assert receiver.ids() == [delivery_id]
