"""The whole service in one process: the same jobs as the Celery tasks, run in-line.

Used by ``rightswatch run`` with no broker (SQLite by default) and by
``rightswatch run --once`` whatever the broker setting.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

from worker import jobs
from worker.core.progress import Progress, silent
from worker.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Summary:
    feeds_polled: int = 0
    feeds_failed: int = 0
    entries_new: int = 0
    matches_new: int = 0
    alerts_sent: int = 0
    alerts_failed: int = 0
    failed_feeds: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"feeds: {self.feeds_polled} polled, {self.feeds_failed} failed | "
            f"entries: {self.entries_new} new | matches: {self.matches_new} new | "
            f"alerts: {self.alerts_sent} sent, {self.alerts_failed} failed"
        )


class EmbeddedService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._purged_on: date | None = None

    def prepare(self) -> None:
        """Create or upgrade the schema and mirror the config into it."""
        self.runtime.migrate()
        self.runtime.sync_config()

    def run_once(self, progress: Progress = silent) -> Summary:
        """Poll every active feed now, then send every delivery that is due."""
        summary = Summary()
        self._poll(jobs.active_feed_ids(self.runtime), summary, hold=False, progress=progress)
        self._subscribe()
        self._deliver_due(summary, progress=progress)
        return summary

    def run_forever(self, stop: threading.Event) -> None:
        """Poll feeds as they fall due and deliver alerts until ``stop`` is set."""
        while not stop.is_set():
            self.runtime.sync_config()
            now = self.runtime.clock()
            summary = Summary()
            self._poll(jobs.claim_due_feeds(self.runtime, now), summary, stop=stop)
            self._subscribe()
            self._deliver_due(summary, stop=stop)
            self._purge_daily()
            if summary.feeds_polled or summary.alerts_sent or summary.alerts_failed:
                log.info("cycle: %s", summary.line())
            stop.wait(self.runtime.settings.beat_interval)

    def _subscribe(self) -> None:
        """Ask WebSub hubs to push the feeds that advertise one, and renew leases ending."""
        for subscription_id in jobs.claim_subscriptions(self.runtime):
            jobs.subscribe(self.runtime, subscription_id)

    def _purge_daily(self) -> None:
        """The embedded counterpart of the nightly Celery task: once per (UTC) day."""
        today = self.runtime.clock().date()
        if self._purged_on != today:
            self._purged_on = today
            jobs.purge(self.runtime)

    def _poll(
        self,
        feed_ids: list[str],
        summary: Summary,
        stop: threading.Event | None = None,
        hold: bool = True,
        progress: Progress = silent,
    ) -> None:
        """Poll the feeds in turn (``hold=False``: every feed is polled before any alert
        is sent, so copies of a story are grouped without the configured hold)."""
        for done, feed_id in enumerate(feed_ids, 1):
            if stop is not None and stop.is_set():
                return
            outcome = jobs.poll(self.runtime, feed_id, hold=hold)
            progress("Polling feeds", done, len(feed_ids))
            if not outcome.polled:
                continue
            summary.feeds_polled += 1
            if outcome.failed:
                summary.feeds_failed += 1
                summary.failed_feeds.append(f"{feed_id}: {outcome.error}")
            summary.entries_new += outcome.new_entries
            summary.matches_new += len(outcome.new_match_ids)
        for alert_id in jobs.due_operator_alerts(self.runtime):
            jobs.send_operator_alert(self.runtime, alert_id)

    def _deliver_due(
        self,
        summary: Summary,
        stop: threading.Event | None = None,
        progress: Progress = silent,
    ) -> None:
        due = jobs.overdue_deliveries(self.runtime, pending_grace=timedelta(0))
        for done, delivery_id in enumerate(due, 1):
            if stop is not None and stop.is_set():
                return
            status = jobs.send_delivery(self.runtime, delivery_id).status
            progress("Sending alerts", done, len(due))
            if status == "sent":
                summary.alerts_sent += 1
            elif status in ("retrying", "dead"):
                summary.alerts_failed += 1
