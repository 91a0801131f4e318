"""``rightswatch poll FEED_ID… | --all``: poll feeds now and say what each poll found.

Chosen as ``run`` and ``worker`` choose: without RIGHTSWATCH_BROKER_URL (embedded
mode) the feeds are polled in this process and their alerts sent at once; with a
broker the polls are enqueued for the Celery workers (who send the alerts) and
the command waits for their results in the database. Exit status: 0 when every
poll worked; 3 when some feed failed, an alert could not be sent, or no worker
polled a feed in time; 1 when it could not run (e.g. an unknown feed id).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from worker import jobs
from worker.commands.common import RAN_WITH_FAILURES, config_option, mirrored_runtime
from worker.db import entries as entries_db
from worker.db import feeds as feeds_db
from worker.runtime import Runtime

WAIT_STEP = 0.5


@dataclass(frozen=True, slots=True)
class PollReport:
    """One feed's poll as `poll` prints it."""

    feed_id: str
    status: str
    """``HTTP 200``, ``not modified``, ``skipped`` (another process is polling it) or ``failed``."""
    new_entries: int = 0
    new_matches: int = 0
    alerts: str = ""
    error: str | None = None

    def line(self) -> str:
        if self.error is not None:
            return f"{self.feed_id}: failed: {self.error}"
        parts = [f"{self.new_entries} new entries", f"{self.new_matches} new matches"]
        if self.alerts:
            parts.append(self.alerts)
        return f"{self.feed_id}: {self.status}: " + ", ".join(parts)


def _status(last_status: int | None) -> str:
    if last_status == 304:
        return "not modified"
    return f"HTTP {last_status}" if last_status else "ok"


def poll_here(runtime: Runtime, feed_ids: list[str]) -> tuple[list[PollReport], bool]:
    """Poll in this process, then send each poll's alerts; (reports, whether all worked)."""
    reports = []
    all_worked = True
    for feed_id in feed_ids:
        outcome = jobs.poll(runtime, feed_id, hold=False)
        if not outcome.polled:
            reports.append(PollReport(feed_id, "skipped: another process is polling it"))
            continue
        sent = failed = 0
        for delivery_id in outcome.delivery_ids:
            status = jobs.send_delivery(runtime, delivery_id).status
            sent += status == "sent"
            failed += status in ("retrying", "dead")
        for alert_id in outcome.operator_alert_ids:
            jobs.send_operator_alert(runtime, alert_id)
        with runtime.sessions() as session:
            feed = feeds_db.feeds_by_id(session, [feed_id]).get(feed_id)
        alerts = f"alerts: {sent} sent, {failed} failed" if outcome.delivery_ids else ""
        reports.append(
            PollReport(
                feed_id,
                _status(feed.last_status if feed else None),
                outcome.new_entries,
                len(outcome.new_match_ids),
                alerts,
                outcome.error,
            )
        )
        all_worked = all_worked and not outcome.failed and not failed
    return reports, all_worked


def poll_on_workers(
    runtime: Runtime, feed_ids: list[str], timeout: float
) -> tuple[list[PollReport], bool]:
    """Enqueue the polls for the Celery workers and read their results from the database."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker import tasks

    tasks.configure(runtime.settings)
    started = runtime.clock()
    for feed_id in feed_ids:
        tasks.poll_feed.delay(feed_id, started.isoformat())
    deadline = time.monotonic() + timeout
    while True:
        with runtime.sessions() as session:
            feeds = feeds_db.feeds_by_id(session, feed_ids)
            done = [f for f in feeds.values() if f.last_polled_at and f.last_polled_at >= started]
            if len(done) == len(feed_ids) or time.monotonic() > deadline:
                found = entries_db.found_since(session, feed_ids, started)
                break
        time.sleep(WAIT_STEP)
    reports = []
    polled = {f.id: f for f in done}
    for feed_id in feed_ids:
        feed = polled.get(feed_id)
        if feed is None:
            reports.append(
                PollReport(feed_id, "", error=f"no worker polled it within {timeout:g}s")
            )
            continue
        new_entries, new_matches = found[feed_id]
        error = feed.last_error if feed.consecutive_failures else None
        alerts = "alerts queued for the workers" if new_matches else ""
        status = _status(feed.last_status)
        reports.append(PollReport(feed_id, status, new_entries, new_matches, alerts, error))
    return reports, all(r.error is None for r in reports)


def _chosen(runtime: Runtime, feed_ids: tuple[str, ...], all_feeds: bool) -> list[str]:
    if all_feeds == bool(feed_ids):
        raise click.UsageError("name the feeds to poll, or give --all (not both)")
    known = jobs.active_feed_ids(runtime)
    if all_feeds:
        return known
    unknown = [f for f in feed_ids if f not in known]
    if unknown:
        raise click.ClickException(
            f"no active feed {', '.join(unknown)} in the configuration (see `rightswatch feeds`)"
        )
    return list(dict.fromkeys(feed_ids))


@click.command("poll")
@click.argument("feed_ids", nargs=-1, metavar="FEED_ID...")
@click.option("--all", "all_feeds", is_flag=True, help="Poll every active feed.")
@click.option(
    "--timeout",
    type=float,
    default=300.0,
    show_default=True,
    help="With a broker: seconds to wait for the workers' results.",
)
@config_option
def poll_command(
    feed_ids: tuple[str, ...], all_feeds: bool, timeout: float, config_path: Path | None
) -> None:
    """Poll feeds now; print each one's status, new entries, matches and any error.

    Without RIGHTSWATCH_BROKER_URL the polls run here and their alerts are sent at
    once; with it, the Celery workers poll and send. Exit 3 if a feed or alert failed.
    """
    with mirrored_runtime(config_path) as runtime:
        chosen = _chosen(runtime, feed_ids, all_feeds)
        if runtime.settings.embedded:
            reports, all_worked = poll_here(runtime, chosen)
        else:
            reports, all_worked = poll_on_workers(runtime, chosen, timeout)
    for report in reports:
        click.echo(report.line())
    if not reports:
        click.echo("no feeds configured")
    elif not all_worked:
        sys.exit(RAN_WITH_FAILURES)
