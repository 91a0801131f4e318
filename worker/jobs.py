"""The units of work, shared by the Celery tasks and the embedded loop.

Each takes the process :class:`Runtime` and ids, and returns what it created,
so the caller decides how follow-up work is run: enqueued on the broker, or
called in-process.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from worker import logs, metrics
from worker.core.types import PollOutcome
from worker.db import feeds, outbox
from worker.ingest.pipeline import ingest_feed
from worker.ingest.policy import PollPolicy
from worker.outbox import operator_alerts as operators
from worker.outbox.delivery import DeliveryOutcome, deliver
from worker.runtime import Runtime


def claim_due_feeds(runtime: Runtime, now: datetime) -> list[str]:
    with runtime.sessions() as session, session.begin():
        return feeds.claim_due_feeds(session, now, runtime.settings.poll_lease)


def active_feed_ids(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return feeds.active_feed_ids(session)


def poll(
    runtime: Runtime, feed_id: str, not_before: datetime | None = None, *, hold: bool = True
) -> PollOutcome:
    """Poll one feed; ``hold=False`` sends its alerts without the configured story hold."""
    policy = PollPolicy.from_config(runtime.config().config, feed_id)
    if not hold:
        policy = replace(policy, story_hold=timedelta(0))
    with logs.bind(feed_id=feed_id):
        outcome = ingest_feed(
            runtime.sessions,
            feed_id,
            fetcher=runtime.fetcher,
            matcher=runtime.matcher(),
            now=runtime.clock(),
            not_before=not_before,
            policy=policy,
        )
    if outcome.polled:
        metrics.polled(outcome.failed, outcome.new_entries, list(outcome.new_match_watchlists))
    return outcome


def due_operator_alerts(runtime: Runtime) -> list[str]:
    return operators.due_ids(runtime.sessions, runtime.clock())


def send_operator_alert(runtime: Runtime, alert_id: str) -> str:
    return operators.send(runtime.sessions, alert_id, settings=runtime.settings, now=runtime.clock)


def send(runtime: Runtime, delivery_id: str) -> DeliveryOutcome:
    with logs.bind(delivery_id=delivery_id):
        return deliver(
            runtime.sessions,
            delivery_id,
            notifiers=runtime.notifiers,
            settings=runtime.settings,
            now=runtime.clock,
        )


def overdue_deliveries(runtime: Runtime, pending_grace: timedelta | None = None) -> list[str]:
    """Deliveries to (re)send now; new ones get ``settings.sweep_grace`` to go on their own."""
    grace = runtime.settings.sweep_grace if pending_grace is None else pending_grace
    with runtime.sessions() as session:
        return outbox.due_delivery_ids(session, runtime.clock(), grace)
