"""The units of work, shared by the Celery tasks and the embedded loop.

Each takes the process :class:`Runtime` and ids, and returns what it created,
so the caller decides how follow-up work is run: enqueued on the broker, or
called in-process.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from worker import logs, metrics
from worker.core.progress import Progress, silent
from worker.core.schedule import interleave
from worker.core.types import FetchResult, PollOutcome
from worker.db import feeds, outbox, retention
from worker.db import websub as websub_rows
from worker.db.models import Delivery, OperatorAlert
from worker.db.session import make_durable
from worker.ingest import websub
from worker.ingest.host_gate import host_key
from worker.ingest.pipeline import ingest_feed
from worker.ingest.policy import PollPolicy
from worker.outbox.deliveries import Deliveries
from worker.outbox.machine import Box, Outcome, process
from worker.outbox.operator_alerts import OperatorAlerts
from worker.runtime import Runtime

log = logging.getLogger(__name__)

OPERATOR_BATCH = 100
"""Operator alerts sent per tick at most (a handful per feed episode)."""


CLAIM_BATCH = 500
"""Due feeds claimed per transaction (each batch locks only its own rows, briefly)."""
CLAIM_MOST = 20_000
"""Due feeds one tick claims at most: the rest wait for the next tick."""


def claim_due_feeds(runtime: Runtime, now: datetime) -> list[str]:
    """Every due feed (up to CLAIM_MOST), claimed in batches: one tick keeps up however many
    feeds fall due between two ticks, instead of a fixed number a tick. In round-robin order
    of their hosts (:func:`~worker.core.schedule.interleave`)."""
    claimed: list[tuple[str, str]] = []
    while len(claimed) < CLAIM_MOST:
        with runtime.sessions() as session, session.begin():
            batch = feeds.claim_due_feeds(session, now, runtime.settings.poll_lease, CLAIM_BATCH)
        claimed += batch
        if len(batch) < CLAIM_BATCH:
            break
    return interleave([(feed_id, host_key(url)) for feed_id, url in claimed])


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
    # A feed read through a proxy is never pushed: the callback would name this server.
    discover_hubs = websub.push_possible(runtime.settings) and policy.limits.proxy is None
    return _ingest(runtime, feed_id, policy, not_before=not_before, discover_hubs=discover_hubs)


def ingest_push(
    runtime: Runtime, feed_id: str, topic: str, body: bytes, content_type: str | None
) -> PollOutcome:
    """Take a body a WebSub hub pushed as if a poll had fetched it: same dedup, matching,
    outbox and health."""
    policy = PollPolicy.from_config(runtime.config().config, feed_id)
    pushed = FetchResult(url=topic, status=200, body=body, content_type=content_type)
    return _ingest(runtime, feed_id, policy, pushed=pushed)


def _ingest(
    runtime: Runtime,
    feed_id: str,
    policy: PollPolicy,
    *,
    not_before: datetime | None = None,
    pushed: FetchResult | None = None,
    discover_hubs: bool = False,
) -> PollOutcome:
    """One feed's body, polled or pushed, through the pipeline; then durable and counted."""
    with logs.bind(feed_id=feed_id):
        outcome = ingest_feed(
            runtime.sessions,
            feed_id,
            fetcher=runtime.fetcher,
            matcher=runtime.matcher(),
            now=runtime.clock(),
            not_before=not_before,
            policy=policy,
            pushed=pushed,
            discover_hubs=discover_hubs,
        )
    if outcome.delivery_ids:  # committed alerts must survive a power cut too
        make_durable(runtime.engine)
    if outcome.polled:
        metrics.polled(outcome.failed, outcome.new_entries, list(outcome.new_match_watchlists))
    return outcome


def claim_subscriptions(runtime: Runtime) -> list[str]:
    """WebSub subscriptions to request or renew now (none unless a hub could reach
    RIGHTSWATCH_PUBLIC_URL)."""
    if not websub.push_possible(runtime.settings):
        return []
    with runtime.sessions() as session, session.begin():
        return websub_rows.claim_due(session, runtime.clock())


def subscribe(runtime: Runtime, subscription_id: str) -> str:
    """Ask the hub to push the feed (a claimed subscription); the outcome in a word.

    A feed that is now read through a proxy loses its subscription instead: asking its hub
    would tell it where this server is.
    """
    config = runtime.config().config
    with runtime.sessions() as session, session.begin():
        feed_id = websub_rows.feed_of(session, subscription_id)
        if feed_id is not None and PollPolicy.from_config(config, feed_id).limits.proxy:
            websub_rows.forget(session, subscription_id)
            log.info("feed %s is read through a proxy: its WebSub subscription is dropped", feed_id)
            return "dropped"
    return websub.subscribe(runtime.settings, runtime.sessions, subscription_id, runtime.clock())


def send_delivery(runtime: Runtime, delivery_id: str) -> Outcome:
    """Send one subscriber delivery (alert, digest, confirmation or ping)."""
    return _send(runtime, Deliveries(runtime.settings), delivery_id)


def send_operator_alert(runtime: Runtime, alert_id: str) -> str:
    """Send one operator alert; its new status."""
    return _send(runtime, OperatorAlerts(runtime.settings), alert_id).status


def _send(runtime: Runtime, box: Box, row_id: str) -> Outcome:
    with logs.bind(delivery_id=row_id):
        return process(
            box,
            runtime.sessions,
            row_id,
            notifiers=runtime.notifiers,
            settings=runtime.settings,
            now=runtime.clock,
        )


def due_operator_alerts(runtime: Runtime) -> list[str]:
    """Operator alerts to (re)send now: new, due for a retry, or left by a dead worker."""
    with runtime.sessions() as session:
        return outbox.due_ids(session, OperatorAlert, runtime.clock(), limit=OPERATOR_BATCH)


def overdue_deliveries(runtime: Runtime, pending_grace: timedelta | None = None) -> list[str]:
    """Deliveries to (re)send now; new ones get ``settings.sweep_grace`` to go on their own."""
    grace = runtime.settings.sweep_grace if pending_grace is None else pending_grace
    with runtime.sessions() as session:
        return outbox.due_ids(session, Delivery, runtime.clock(), grace)


def purge(
    runtime: Runtime,
    *,
    dry_run: bool = False,
    actor: str = "task:nightly",
    progress: Progress = silent,
) -> retention.PurgeReport:
    """Apply the configured retention now (see :func:`worker.db.retention.purge`)."""
    return retention.purge(
        runtime.sessions,
        runtime.config().config.retention,
        runtime.clock(),
        dry_run=dry_run,
        actor=actor,
        progress=progress,
    )
