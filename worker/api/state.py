"""What every request of the API needs, one per application: settings, runtime, limits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import HTTPException
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from worker import jobs, logs, metrics
from worker.api import service
from worker.api.rate_limits import Limit, RateLimiter
from worker.db import rate_limits
from worker.runtime import Runtime
from worker.settings import Settings

log = logging.getLogger(__name__)

PURGE_EVERY = 60.0
"""Seconds between sweeps of expired pending subscriptions and old rate-limit counters."""


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
    stop: threading.Event = field(default_factory=threading.Event)

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

    def purge_loop(self) -> None:
        while not self.stop.wait(PURGE_EVERY):
            self.purge()

    def purge(self) -> None:
        now = self.now()
        try:
            with self.transaction() as session:
                count = service.purge_unconfirmed(session, now)
                rate_limits.purge(session, now - timedelta(days=1))
        except OperationalError as e:
            log.warning("purge skipped: the database is not reachable (%s)", type(e).__name__)
            return
        if count:
            log.info("deleted %d unconfirmed subscription(s) whose link expired", count)

    def close(self) -> None:
        self.stop.set()
        self.sender.shutdown(wait=True)
        self.limiter.close()
        self.runtime.close()
