"""Prometheus metrics: counters the pipeline, the deliveries and the API move, and gauges
read from the database when scraped.

Counters live in the process that counts: the API serves its own (and the
database gauges) on ``/metrics``; ``rightswatch run`` and ``rightswatch worker``
serve theirs on ``RIGHTSWATCH_METRICS_PORT``. Celery's prefork children are
separate processes, so ``rightswatch worker`` switches prometheus-client to its
multiprocess mode (one file per process under the data directory, summed when
scraped). That mode is chosen by an environment variable read when
prometheus-client is first imported, which is why this module imports it only
inside functions.

Useful ratios are left to PromQL, e.g. the share of polls answered 304::

    rate(rightswatch_fetches_total{result="not_modified"}[1h])
      / ignoring(result) sum without(result)
        (rate(rightswatch_fetches_total{result=~"modified|not_modified"}[1h]))
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from worker.config import LoadedConfig, load_config
from worker.core.errors import ConfigError
from worker.core.feed_health import assess
from worker.db import config_state
from worker.db import feeds as feeds_db
from worker.db import outbox as outbox_db
from worker.db import subscribers as subscribers_db
from worker.settings import Settings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    from prometheus_client.core import Metric

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400)
_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


@dataclass(frozen=True, slots=True)
class _Metrics:
    feed_polls: Counter
    fetches: Counter
    fetch_seconds: Histogram
    entries: Counter
    matches: Counter
    deliveries: Counter
    delivery_latency: Histogram
    api_requests: Counter
    subscription_events: Counter
    rate_limited: Counter
    websub_rejected: Counter


@cache
def _metrics() -> _Metrics:
    from prometheus_client import Counter, Histogram

    return _Metrics(
        feed_polls=Counter(
            "rightswatch_feed_polls", "Feed polls by outcome (ok or failed).", ["outcome"]
        ),
        fetches=Counter(
            "rightswatch_fetches",
            "Feed fetches by result: modified (2xx), not_modified (304), error, busy (host "
            "slot not free).",
            ["result"],
        ),
        fetch_seconds=Histogram(
            "rightswatch_fetch_duration_seconds",
            "Time to fetch one feed (waiting for a host slot included).",
            buckets=_FETCH_BUCKETS,
        ),
        entries=Counter("rightswatch_entries_ingested", "New entries stored."),
        matches=Counter("rightswatch_matches", "New matches by watch list.", ["watchlist"]),
        deliveries=Counter(
            "rightswatch_deliveries",
            "Delivery attempts by channel, kind (alert, digest, confirm, verify) and the state "
            "they ended in (sent, retrying, dead, cancelled, deferred, skipped).",
            ["channel", "kind", "state"],
        ),
        delivery_latency=Histogram(
            "rightswatch_delivery_latency_seconds",
            "From the match (alert), the digest's send time (digest) or the request "
            "(confirm, verify) to the message being sent.",
            ["channel", "kind"],
            buckets=_LATENCY_BUCKETS,
        ),
        api_requests=Counter(
            "rightswatch_api_requests",
            "API requests by route template, method and status code.",
            ["route", "method", "status"],
        ),
        subscription_events=Counter(
            "rightswatch_subscription_events",
            "Self-service subscriptions: requested, confirmed, verified, updated, "
            "unsubscribed, deleted, disabled.",
            ["event"],
        ),
        rate_limited=Counter(
            "rightswatch_api_rate_limited", "Requests refused by a rate limit.", ["scope"]
        ),
        websub_rejected=Counter(
            "rightswatch_websub_rejected",
            "WebSub content distributions refused: reason signature (missing or wrong), "
            "unknown_callback (no active subscription) or unknown_topic (another topic).",
            ["reason", "feed"],
        ),
    )


# --- recording -------------------------------------------------------------------------


def fetched(result: str, seconds: float | None = None) -> None:
    """One fetch: its result (modified, not_modified, error, busy) and how long it took."""
    m = _metrics()
    m.fetches.labels(result).inc()
    if seconds is not None:
        m.fetch_seconds.observe(seconds)


def polled(failed: bool, new_entries: int, watchlists: list[str]) -> None:
    """One poll done: its outcome, the entries it stored, the watch lists of its matches."""
    m = _metrics()
    m.feed_polls.labels("failed" if failed else "ok").inc()
    if new_entries:
        m.entries.inc(new_entries)
    for watchlist in watchlists:
        m.matches.labels(watchlist).inc()


def delivered(channel: str, kind: str, state: str, waiting_since: datetime) -> None:
    m = _metrics()
    m.deliveries.labels(channel, kind, state).inc()
    if state == "sent":
        seconds = (datetime.now(UTC) - waiting_since).total_seconds()
        m.delivery_latency.labels(channel, kind).observe(max(0.0, seconds))


def api_request(route: str, method: str, status: int) -> None:
    _metrics().api_requests.labels(route, method, str(status)).inc()


def subscription_event(event: str) -> None:
    _metrics().subscription_events.labels(event).inc()


def rate_limited(scope: str) -> None:
    _metrics().rate_limited.labels(scope).inc()


def websub_rejected(reason: str, feed_id: str = "") -> None:
    """A pushed body refused; ``feed_id`` empty when the callback matches no subscription
    (so a forger cannot add label values)."""
    _metrics().websub_rejected.labels(reason, feed_id).inc()


# --- gauges from the database --------------------------------------------------------


class StateCollector:
    """Queue depth, feeds by health, subscribers by status and whether the configuration
    is valid, read when scraped.

    Opens no pooled connection (a forked worker must not inherit one) and
    re-reads the configuration only when its file changes.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine = create_engine(settings.database_url, poolclass=NullPool)
        self._config: tuple[float, LoadedConfig] | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> LoadedConfig | None:
        path = self._settings.config_path
        with self._lock:
            try:
                mtime = path.stat().st_mtime
                if self._config is None or self._config[0] != mtime:
                    self._config = (mtime, load_config(path, self._settings.environ))
            except (OSError, ConfigError):
                return self._config[1] if self._config else None
            return self._config[1]

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        outbox = GaugeMetricFamily(
            "rightswatch_outbox_depth",
            "Deliveries waiting to be sent, by status.",
            labels=["status"],
        )
        feeds = GaugeMetricFamily(
            "rightswatch_feeds",
            "Active feeds by health: ok, failing (broken), stale, gone, new.",
            labels=["health"],
        )
        subscribers = GaugeMetricFamily(
            "rightswatch_subscribers",
            "Subscribers by who manages them and status.",
            labels=["managed_by", "status"],
        )
        config_valid = GaugeMetricFamily(
            "rightswatch_config_valid",
            "1 while the configuration file is valid; 0 while a running process found it "
            "invalid and keeps the last valid one.",
        )
        loaded = self._loaded()
        now = datetime.now(UTC)
        try:
            with Session(self._engine) as session:
                config_valid.add_metric([], 0 if config_state.current(session) else 1)
                for status, n in outbox_db.waiting_counts(session).items():
                    outbox.add_metric([status], n)
                health = dict.fromkeys(("ok", "failing", "stale", "gone", "new"), 0)
                for feed in feeds_db.list_feeds(session):
                    stale_after = loaded.config.stale_after(feed.id) if loaded else None
                    health[assess(feeds_db.feed_state(feed), now, stale_after).status] += 1
                for state, n in health.items():
                    feeds.add_metric([state], n)
                for (managed_by, label), n in subscribers_db.counts_by_status(session).items():
                    subscribers.add_metric([managed_by, label], n)
        except SQLAlchemyError as e:
            log.warning("metrics: cannot read the database: %s", type(e).__name__)
            return
        yield config_valid
        yield outbox
        yield feeds
        yield subscribers
        broker = self._broker_depth()
        if broker is not None:
            yield broker

    def _broker_depth(self) -> Metric | None:
        url = self._settings.broker_url
        if not url or not url.startswith(("redis://", "rediss://")):
            return None
        import redis
        from prometheus_client.core import GaugeMetricFamily

        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            try:
                length = int(client.llen("celery"))
            finally:
                client.close()
        except redis.RedisError as e:
            log.warning("metrics: cannot read the broker queue: %s", type(e).__name__)
            return None
        family = GaugeMetricFamily(
            "rightswatch_broker_queue_length", "Tasks waiting in the broker.", labels=["queue"]
        )
        family.add_metric(["celery"], length)
        return family

    def close(self) -> None:
        self._engine.dispose()


# --- exposing them ---------------------------------------------------------------------


def enable_multiprocess(directory: Path) -> None:
    """Count in per-process files under ``directory`` (emptied first): prefork workers.

    Must run before prometheus-client is first imported in this process.
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess mode was set")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


class _ThisProcess:
    """The default registry's metrics (this process's counters and its resource use)."""

    def collect(self) -> Iterator[Metric]:
        from prometheus_client import REGISTRY

        yield from REGISTRY.collect()


def registry(settings: Settings, *, multiprocess: bool = False) -> CollectorRegistry:
    """What a scrape shows: this process's counters (or every worker process's) and gauges."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    _metrics()
    target = CollectorRegistry()
    if multiprocess:
        MultiProcessCollector(target)  # type: ignore[no-untyped-call]
    else:
        target.register(_ThisProcess())
    target.register(StateCollector(settings))
    return target


def serve(settings: Settings, *, multiprocess: bool = False) -> Any:
    """Serve the metrics on RIGHTSWATCH_METRICS_PORT (all interfaces); None if unset."""
    if settings.metrics_port is None:
        return None
    from prometheus_client import start_http_server

    server, _thread = start_http_server(
        settings.metrics_port, registry=registry(settings, multiprocess=multiprocess)
    )
    log.info("metrics on port %d", settings.metrics_port)
    return server
