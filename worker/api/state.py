"""What every request of the API needs, one per application: settings, runtime, limits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import HTTPException
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from worker import jobs, logs, metrics
from worker.api import service
from worker.api.rate_limits import Limit, RateLimiter
from worker.core.errors import ConfigError
from worker.db import rate_limits
from worker.runtime import Runtime
from worker.settings import Settings

log = logging.getLogger(__name__)

PURGE_EVERY = 60.0
"""Seconds between sweeps of expired pending subscriptions and old rate-limit counters (and
records of whether the configuration file is valid)."""
CONFIG_EVERY = 5.0
"""Seconds between looks at the YAML file (a stat; the database only when it changed)."""


@dataclass
class ApiState:
    """What every request needs; one per application."""

    settings: Settings
    runtime: Runtime
    limiter: RateLimiter
    registry: CollectorRegistry
    sender: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="rw-send")
    )
    pusher: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="rw-push")
    )
    """Ingests WebSub pushes one at a time, after the hub has had its answer."""
    stop: threading.Event = field(default_factory=threading.Event)
    synced_version: str | None = None

    def sync_config(self) -> None:
        """Mirror the YAML into the database if it changed, as `run` and beat do.

        The API must not depend on another process having done it: a fresh
        database with only `rightswatch api` would list no watch lists. A YAML
        that no longer loads or a database that is away keeps the last mirror.
        """
        try:
            version = self.runtime.config().version
            if version == self.synced_version:
                return
            try:
                self.runtime.sync_config()
            except IntegrityError:  # another process mirrored the same rows meanwhile
                self.runtime.sync_config()
            self.synced_version = version
        except (ConfigError, OperationalError, IntegrityError) as e:
            log.warning("configuration not mirrored now: %s", e)

    def now(self) -> datetime:
        return self.runtime.clock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.runtime.sessions() as session, session.begin():
            yield session

    def subscriptions_key(self, *, links: bool = False) -> str:
        """The secret key tokens are made with; 503 when the operator has not set it up."""
        key = self.settings.secret_key
        if not key or (links and not self.settings.public_url):
            raise HTTPException(
                503,
                "self-service subscriptions are off: the operator has not set "
                "RIGHTSWATCH_SECRET_KEY and RIGHTSWATCH_PUBLIC_URL",
            )
        return key

    def limit(self, limit: Limit, subject: str) -> None:
        """Count one request; 429 with Retry-After when over the limit."""
        now = self.now()
        if self.limiter.hit(limit, subject, now):
            return
        metrics.rate_limited(limit.scope)
        seconds = int(limit.window.total_seconds())
        retry = seconds - int(now.timestamp()) % seconds
        raise HTTPException(
            429,
            "too many requests; try again later",
            headers={"Retry-After": str(retry)},
        )

    def send_soon(self, delivery_ids: list[str]) -> None:
        """Send new outbox rows now, in the background; the worker retries any failure."""
        for delivery_id in delivery_ids:
            self.sender.submit(self._send, delivery_id, dict(logs.context()))

    def resend_later(self, email: str) -> None:
        """Look up the address's pending subscriptions and resend their confirmations, in
        the background: the answer goes out first, so how long it takes cannot tell
        whether the address has a pending subscription."""
        self.sender.submit(self._resend, email, self.now(), dict(logs.context()))

    def _resend(self, email: str, now: datetime, context: dict[str, str]) -> None:
        with logs.bind(**context):
            try:
                with self.transaction() as session:
                    delivery_ids = service.resend_confirmations(session, email, now)
            except Exception:
                log.exception("could not look up pending subscriptions to resend confirmations")
                return
            for delivery_id in delivery_ids:
                self._send(delivery_id, context)

    def _send(self, delivery_id: str, context: dict[str, str]) -> None:
        with logs.bind(**context):
            try:
                jobs.send_delivery(self.runtime, delivery_id)
            except Exception:
                log.exception("could not send %s now; the worker will retry it", delivery_id)

    def ingest_soon(self, feed_id: str, topic: str, body: bytes, content_type: str | None) -> None:
        """Ingest a pushed body in the background, then send what it created."""
        self.pusher.submit(self._ingest, feed_id, topic, body, content_type, dict(logs.context()))

    def warm_up(self) -> None:
        """Compile the watch lists before the first WebSub push needs them."""
        try:
            self.runtime.matcher()
        except Exception:
            log.exception("could not compile the watch lists; the first push will try again")

    def _ingest(
        self,
        feed_id: str,
        topic: str,
        body: bytes,
        content_type: str | None,
        context: dict[str, str],
    ) -> None:
        with logs.bind(**context):
            try:
                outcome = jobs.ingest_push(self.runtime, feed_id, topic, body, content_type)
                for alert_id in outcome.operator_alert_ids:
                    jobs.send_operator_alert(self.runtime, alert_id)
            except Exception:
                log.exception("feed %s: a WebSub push could not be ingested", feed_id)
                return
            self.send_soon(list(outcome.delivery_ids))

    def send_operator_alerts(self, alert_ids: list[str]) -> None:
        """Send the alert of a configuration turned invalid (or valid) that this process saw
        first (an API without workers is a deployment too)."""
        for alert_id in alert_ids:
            self.sender.submit(self._send_operator_alert, alert_id)

    def _send_operator_alert(self, alert_id: str) -> None:
        try:
            jobs.send_operator_alert(self.runtime, alert_id)
        except Exception:
            log.exception(
                "could not send operator alert %s now; the worker will retry it", alert_id
            )

    def background_loop(self) -> None:
        """Mirror the configuration when it changes; sweep expired rows now and then."""
        last_purge = time.monotonic()
        while not self.stop.wait(CONFIG_EVERY):
            self.sync_config()
            if time.monotonic() - last_purge >= PURGE_EVERY:
                last_purge = time.monotonic()
                self.purge()

    def purge(self) -> None:
        now = self.now()
        try:
            with self.transaction() as session:
                count = service.purge_unconfirmed(session, now)
                rate_limits.purge(session, now - timedelta(days=1))
            self.send_operator_alerts(self.runtime.record_config_state())
        except OperationalError as e:
            log.warning("purge skipped: the database is not reachable (%s)", type(e).__name__)
            return
        if count:
            log.info("deleted %d unconfirmed subscription(s) whose link expired", count)

    def close(self) -> None:
        self.stop.set()
        self.pusher.shutdown(wait=True)
        self.sender.shutdown(wait=True)
        self.limiter.close()
        self.runtime.close()
