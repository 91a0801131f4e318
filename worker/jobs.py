"""The units of work, shared by the Celery tasks and the embedded loop.

Each takes the process :class:`Runtime` and ids, and returns what it created,
so the caller decides how follow-up work is run: enqueued on the broker, or
called in-process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from worker.db import repo
from worker.delivery import DeliveryOutcome, deliver
from worker.pipeline import PollOutcome, poll_feed
from worker.runtime import Runtime

POLL_LEASE = timedelta(minutes=10)
"""A claimed feed whose poll never finishes becomes due again after this."""
PENDING_GRACE = timedelta(seconds=60)
"""A new delivery is left to its own task for this long before the sweep takes it."""


def claim_due_feeds(runtime: Runtime, now: datetime) -> list[str]:
    with runtime.sessions() as session, session.begin():
        return repo.claim_due_feeds(session, now, POLL_LEASE)


def active_feed_ids(runtime: Runtime) -> list[str]:
    with runtime.sessions() as session:
        return repo.active_feed_ids(session)


def poll(runtime: Runtime, feed_id: str, not_before: datetime | None = None) -> PollOutcome:
    return poll_feed(
        runtime.sessions,
        feed_id,
        fetcher=runtime.fetcher,
        matcher=runtime.matcher(),
        now=runtime.clock(),
        not_before=not_before,
    )


def send(runtime: Runtime, delivery_id: str) -> DeliveryOutcome:
    return deliver(
        runtime.sessions,
        delivery_id,
        notifiers=runtime.notifiers,
        settings=runtime.settings,
        now=runtime.clock,
    )


def overdue_deliveries(runtime: Runtime, pending_grace: timedelta = PENDING_GRACE) -> list[str]:
    with runtime.sessions() as session:
        return repo.due_delivery_ids(session, runtime.clock(), pending_grace)
