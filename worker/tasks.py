"""Celery tasks: thin, idempotent, ids in and ids out.

Each task reloads its state from the database, checks whether the work is
already done (the claim in :mod:`worker.db.repo`), does it, records it, and
enqueues follow-up tasks only after its transaction has committed.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery.signals import task_postrun, task_prerun
from sqlalchemy.exc import OperationalError

from worker import jobs, logs, retention
from worker.celery_app import app
from worker.runtime import Runtime
from worker.settings import Settings, load_settings

log = logging.getLogger(__name__)
_runtime: Runtime | None = None
_settings: Settings | None = None
task_prerun.connect(logs.task_started)
task_postrun.connect(logs.task_finished)


def configure(settings: Settings) -> None:
    """Use these settings (e.g. `--config` given to the CLI) instead of the environment's.

    Called before the worker forks, so every child process inherits them.
    """
    global _settings, _runtime
    _settings, _runtime = settings, None


def runtime() -> Runtime:
    """One Runtime per worker process, made lazily (after the prefork fork)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(_settings or load_settings())
    return _runtime


@app.task(name="rightswatch.poll_due_feeds")
def poll_due_feeds() -> int:
    """Beat's tick: sync the config, claim due feeds, enqueue one poll each."""
    rt = runtime()
    rt.sync_config()
    now = rt.clock()
    feed_ids = jobs.claim_due_feeds(rt, now)
    for feed_id in feed_ids:
        poll_feed.delay(feed_id, now.isoformat())
    for alert_id in jobs.due_operator_alerts(rt):
        operator_alert.delay(alert_id)
    return len(feed_ids)


@app.task(
    name="rightswatch.poll_feed",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def poll_feed(feed_id: str, claimed_at: str | None = None) -> int:
    not_before = datetime.fromisoformat(claimed_at) if claimed_at else None
    outcome = jobs.poll(runtime(), feed_id, not_before=not_before)
    for delivery_id in outcome.delivery_ids:
        deliver.delay(delivery_id)
    for alert_id in outcome.operator_alert_ids:
        operator_alert.delay(alert_id)
    return len(outcome.delivery_ids)


@app.task(
    name="rightswatch.operator_alert",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def operator_alert(alert_id: str) -> str:
    """Tell the operators about a feed's health (retries are picked up by the beat tick)."""
    return jobs.send_operator_alert(runtime(), alert_id)


@app.task(
    name="rightswatch.deliver",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def deliver(delivery_id: str) -> str:
    return jobs.send(runtime(), delivery_id).status


@app.task(name="rightswatch.sweep")
def sweep() -> int:
    """Re-enqueue deliveries that are due or whose worker died: the broker may have lost them."""
    delivery_ids = jobs.overdue_deliveries(runtime())
    for delivery_id in delivery_ids:
        deliver.delay(delivery_id)
    if delivery_ids:
        log.info("sweep re-enqueued %d deliveries", len(delivery_ids))
    return len(delivery_ids)


@app.task(name="rightswatch.purge")
def purge() -> int:
    """Nightly: delete rows older than the configured retention."""
    return retention.purge(runtime()).total
