"""``rightswatch status``: feeds, outbox and workers at a glance, for those who do not read
Prometheus (``docker compose exec worker rightswatch status``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import click

from worker.commands.common import config_option, settings_for
from worker.core.clock import utcnow
from worker.core.feed_health import assess, describe
from worker.db import outbox
from worker.db.feeds import feed_state, list_feeds
from worker.settings import Settings

STATUSES = ("pending", "sending", "retrying", "sent", "dead", "cancelled")
PING_TIMEOUT = 2.0


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "never"
    seconds = int((now - then).total_seconds())
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def workers_line(settings: Settings) -> tuple[bool, str]:
    """Whether workers are there to work, and a line saying how many answer a ping."""
    if settings.embedded:
        return True, "workers: none needed (embedded mode: `rightswatch run` does everything)"
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.celery_app import app

    try:
        replies = app.control.inspect(timeout=PING_TIMEOUT).ping() or {}
    except Exception as e:  # kombu raises the transport's own errors
        return False, f"workers: broker unreachable ({type(e).__name__})"
    names = sorted(replies)
    if not names:
        return False, "workers: none answered (is a worker running?)"
    return True, f"workers: {len(names)} answering ({', '.join(names)})"


@click.command("status")
@config_option
def status_command(config_path: Path | None) -> None:
    """Feeds by health, the outbox by status, and the workers that answer.

    Exits 1 when a feed is failing or gone, a delivery is dead, or no worker answers,
    so it can also serve as a cron check.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    settings = settings_for(config_path)
    runtime = Runtime(settings)
    now = utcnow()
    try:
        runtime.wait_for_schema()
        with runtime.sessions() as session:
            feeds = list_feeds(session)
            counts = outbox.delivery_counts(session)
    finally:
        runtime.close()
    health = {f.id: assess(feed_state(f), now, None) for f in feeds}
    by_status = Counter(h.status for h in health.values())
    last_poll = max((f.last_polled_at for f in feeds if f.last_polled_at), default=None)
    click.echo(
        f"feeds: {len(feeds)} active — "
        + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
        + f"; last poll {_ago(now, last_poll)}"
        if feeds
        else "feeds: none active"
    )
    for feed in feeds:
        if health[feed.id].status in ("failing", "stale", "gone"):
            click.echo(f"  {feed.id}: {describe(health[feed.id], feed_state(feed))}")
    click.echo(
        "outbox: " + (", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s)) or "empty")
    )
    workers_ok, workers = workers_line(settings)
    click.echo(workers)
    trouble = by_status["failing"] + by_status["gone"] + counts.get("dead", 0) > 0
    raise SystemExit(1 if trouble or not workers_ok else 0)
