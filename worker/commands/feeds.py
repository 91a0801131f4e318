"""``rightswatch feeds``: every feed's health at a glance; ``discover``, ``import``, ``export``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from worker.commands.common import config_option, settings_for
from worker.commands.feeds_io import discover_command, export_command, import_command
from worker.commands.subscribers import unsubscribed_lines
from worker.core.feed_health import assess, describe
from worker.db import websub
from worker.db.feeds import feed_state, list_feeds
from worker.db.models import Feed
from worker.db.subscribers import unsubscribed_by_recipient
from worker.ingest.policy import PollPolicy

HEADERS = ("FEED", "STATUS", "LAST POLL", "NEXT POLL", "ENTRIES", "LAST ERROR")
_ERROR_WIDTH = 70


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _ERROR_WIDTH else flat[: _ERROR_WIDTH - 1] + "…"


def feed_rows(
    feeds: list[Feed],
    now: datetime,
    policies: dict[str, PollPolicy],
    push_until: dict[str, datetime] | None = None,
) -> list[tuple[str, ...]]:
    """One row per feed: id, status, last poll, next poll, entries, last error (or note).

    ``push_until``: feeds with an active WebSub subscription, to the end of its lease.
    """
    rows: list[tuple[str, ...]] = []
    for feed in feeds:
        state = feed_state(feed)
        policy = policies.get(feed.id, PollPolicy())
        status = (
            describe(assess(state, now, policy.stale_after), state) if feed.active else "disabled"
        )
        note = feed.last_error or (
            f"moved permanently to {feed.redirected_url}" if feed.redirected_url else "-"
        )
        if push_until and feed.id in push_until:
            status += f", push: active until {_time(push_until[feed.id])}"
        rows.append(
            (
                feed.id,
                status,
                _time(feed.last_polled_at),
                _time(feed.next_poll_at) if feed.active else "-",
                str(feed.entry_count),
                _short(note),
            )
        )
    return rows


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    lines = []
    for row in [HEADERS, *rows]:
        cells = [
            cell.rjust(widths[i]) if i == 4 else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


@click.group("feeds", invoke_without_command=True)
@click.option("--all", "show_all", is_flag=True, help="Also list feeds removed from the config.")
@config_option
@click.pass_context
def feeds_command(ctx: click.Context, show_all: bool, config_path: Path | None) -> None:
    """Show each feed's health: status, last and next poll, entries, last error.

    Status is ok, failing since … (n failures), stale (no new entry for longer
    than expected), gone (HTTP 410), or not polled yet; "push: active until …"
    when the feed's WebSub hub pushes it (polling goes on). Times are UTC.
    """
    if ctx.invoked_subcommand is not None:
        return
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        runtime.migrate()
        runtime.sync_config()
        config = runtime.config().config
        policies = {f.id: PollPolicy.from_config(config, f.id) for f in config.feeds}
        now = runtime.clock()
        with runtime.sessions() as session:
            feeds = list_feeds(session, include_inactive=show_all)
            push_until = websub.active_until(session, now)
            opted_out = unsubscribed_by_recipient(session)
    finally:
        runtime.close()
    if not feeds:
        click.echo("no feeds configured")
    else:
        click.echo(format_table(feed_rows(feeds, now, policies, push_until)))
    for line in unsubscribed_lines(opted_out):
        click.echo(line)


feeds_command.add_command(discover_command)
feeds_command.add_command(import_command)
feeds_command.add_command(export_command)
