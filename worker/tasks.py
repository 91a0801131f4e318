"""Celery tasks: thin, idempotent, ids in and ids out.

Each task reloads its state from the database, checks whether the work is
already done (the claim in :mod:`worker.db.repo`), does it, records it, and
enqueues follow-up tasks only after its transaction has committed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from celery.signals import task_postrun, task_prerun
from sqlalchemy.exc import OperationalError

from worker import jobs, logs, redaction
from worker.celery_app import app
from worker.core.memory import collector_paused
from worker.core.schedule import poll_batches
from worker.runtime import Runtime
from worker.settings import Settings, load_settings

log = logging.getLogger(__name__)
_RETRY_WHILE_THE_DATABASE_IS_AWAY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 10,
}
"""Tasks that work on rows retry, backing off, when the database cannot be reached."""
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


def compile_before_fork() -> None:
    """Load the configuration and compile the matcher in the parent, before prefork forks,
    and install the log redaction on the same matcher.

    Every child then starts with the same compiled automaton, shared copy-on-write
    (the automaton is native memory that reference counting never touches), instead
    of each compiling its own after the fork: memory does not grow with ``-c`` and
    the first poll does not wait for a compile. ``gc.freeze`` keeps the collector
    from writing to the shared objects' pages; with the collector off until then,
    the compile skips the full collection it ends with (1.5 s of CPU at 100,000
    names), which the freeze makes needless. The database engine and the fetcher
    stay unmade until a child first needs them (connections must not be shared
    across processes).
    """
    global _runtime
    settings = _settings or load_settings()
    _runtime = Runtime(settings)
    with collector_paused(freeze=True):
        _runtime.matcher()
        redaction.install(settings, _runtime)
        _prepare_what_children_share()


def _prepare_what_children_share() -> None:
    """Once in the parent, what each child would otherwise do on its first tasks: import
    the modules loaded on first use and configure the ORM's mappers (0.05-0.2 s of CPU
    per child, measured on a loaded machine). No connection is opened. prometheus-client
    reads its multiprocess setting when first imported: the worker command sets it first."""
    import httpcore  # noqa: F401  (imported by httpx when it makes its first transport)
    import prometheus_client  # noqa: F401  (imported by worker.metrics on the first count)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()


def runtime() -> Runtime:
    """One Runtime per worker process, made lazily (after the prefork fork)."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(_settings or load_settings())
    return _runtime


@app.task(name="rightswatch.poll_due_feeds")
def poll_due_feeds() -> int:
    """Beat's tick: sync the config, claim due feeds, enqueue their polls (batched)."""
    rt = runtime()
    rt.sync_config()
    now = rt.clock()
    feed_ids = jobs.claim_due_feeds(rt, now)
    enqueue_polls(feed_ids, now.isoformat())
    for alert_id in jobs.due_operator_alerts(rt):
        operator_alert.delay(alert_id)
    for subscription_id in jobs.claim_subscriptions(rt):
        websub_subscribe.delay(subscription_id)
    return len(feed_ids)


@app.task(
    name="rightswatch.poll_feed",
    **_RETRY_WHILE_THE_DATABASE_IS_AWAY,
)
def poll_feed(feed_id: str, claimed_at: str | None = None) -> int:
    return _poll_and_enqueue(feed_id, claimed_at)


def _poll_and_enqueue(feed_id: str, claimed_at: str | None) -> int:
    """Poll one feed, then enqueue its alerts (its transaction has committed)."""
    not_before = datetime.fromisoformat(claimed_at) if claimed_at else None
    outcome = jobs.poll(runtime(), feed_id, not_before=not_before)
    for delivery_id in outcome.delivery_ids:
        deliver.delay(delivery_id)
    for alert_id in outcome.operator_alert_ids:
        operator_alert.delay(alert_id)
    return len(outcome.delivery_ids)


@app.task(
    name="rightswatch.poll_feeds",
    **_RETRY_WHILE_THE_DATABASE_IS_AWAY,
)
def poll_feeds(feed_ids: list[str], claimed_at: str | None = None) -> int:
    """Poll several feeds one after another, each as :func:`poll_feed` does.

    Past ``poll_batch_budget`` seconds no new feed is started: the rest go back
    to the queue, so slow feeds neither hold the others back nor near the soft
    time limit. A database error retries the whole task; the feeds it already
    polled are skipped then (polled after ``claimed_at``). Any other error is
    logged with its feed and the batch goes on, as with a task per feed.
    """
    budget = runtime().settings.poll_batch_budget
    started = time.monotonic()
    deliveries = 0
    for index, feed_id in enumerate(feed_ids):
        if index and time.monotonic() - started > budget:
            poll_feeds.delay(feed_ids[index:], claimed_at)
            log.info("poll batch over budget: %d feeds re-enqueued", len(feed_ids) - index)
            break
        try:
            deliveries += _poll_and_enqueue(feed_id, claimed_at)
        except OperationalError:
            raise
        except Exception:
            log.exception("feed %s: poll failed", feed_id)
    return deliveries


def enqueue_polls(feed_ids: Sequence[str], claimed_at: str) -> None:
    """One task per batch of :func:`~worker.schedule.poll_batches` (a lone feed: poll_feed)."""
    for batch in poll_batches(feed_ids):
        if len(batch) == 1:
            poll_feed.delay(batch[0], claimed_at)
        else:
            poll_feeds.delay(batch, claimed_at)


@app.task(
    name="rightswatch.operator_alert",
    **_RETRY_WHILE_THE_DATABASE_IS_AWAY,
)
def operator_alert(alert_id: str) -> str:
    """Tell the operators about a feed's health (retries are picked up by the beat tick)."""
    return jobs.send_operator_alert(runtime(), alert_id)


@app.task(
    name="rightswatch.deliver",
    **_RETRY_WHILE_THE_DATABASE_IS_AWAY,
)
def deliver(delivery_id: str) -> str:
    return jobs.send_delivery(runtime(), delivery_id).status


@app.task(
    name="rightswatch.websub_subscribe",
    **_RETRY_WHILE_THE_DATABASE_IS_AWAY,
)
def websub_subscribe(subscription_id: str) -> str:
    """Ask a feed's WebSub hub to push it (a new subscription or a renewal the tick claimed);
    a duplicate finds nothing outstanding and does nothing."""
    return jobs.subscribe(runtime(), subscription_id)


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
    return jobs.purge(runtime()).total
