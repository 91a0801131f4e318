"""``rightswatch feeds``: every feed's health at a glance; ``discover``, ``import``, ``export``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy.orm import Session

from worker.commands.common import config_option, mirrored_runtime
from worker.commands.feeds_io import discover_command, export_command, import_command
from worker.commands.subscribers import unsubscribed_lines
from worker.config import Config
from worker.core.feed_health import assess, describe
from worker.db import websub
from worker.db.feeds import feed_state, list_feeds
from worker.db.subscribers import unsubscribed_by_recipient
from worker.ingest.policy import PollPolicy

HEADERS = ("FEED", "STATUS", "LAST POLL", "NEXT POLL", "ENTRIES", "LAST ERROR")
_ERROR_WIDTH = 70


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _ERROR_WIDTH else flat[: _ERROR_WIDTH - 1] + "…"


@dataclass(frozen=True, slots=True)
class ShownHealth:
    """A feed's state and its times as the desk shows them (the CLI's words are English)."""

    state: str
    """ok, failing, stale, gone, new or disabled."""
    since: str
    failures: int
    last_new_entry: str | None
    stale_hours: str
    last_error: str | None
    moved_to: str | None
    push_until: str | None


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One feed's line of ``rightswatch feeds``, also shown by the desk's feed page."""

    id: str
    status: str
    last_poll: str
    next_poll: str
    entries: str
    shown: ShownHealth
    """The state's facts as values, for the desk to word in the reader's language."""

    @property
    def note(self) -> str:
        """The last error in full (or where the feed moved), else "-"."""
        if self.shown.last_error:
            return self.shown.last_error
        return f"moved permanently to {self.shown.moved_to}" if self.shown.moved_to else "-"

    @property
    def push(self) -> str:
        """ "active until …" while the feed's WebSub hub pushes it, else ""."""
        return f"active until {self.shown.push_until}" if self.shown.push_until else ""

    def cells(self) -> tuple[str, ...]:
        status = f"{self.status}, push: {self.push}" if self.push else self.status
        return (self.id, status, self.last_poll, self.next_poll, self.entries, _short(self.note))


def feed_health(
    session: Session, config: Config, now: datetime, *, include_inactive: bool = False
) -> list[FeedHealth]:
    """Every feed's health, by id; removed feeds only with ``include_inactive``."""
    policies = {f.id: PollPolicy.from_config(config, f.id) for f in config.feeds}
    push_until = websub.active_until(session, now)
    rows: list[FeedHealth] = []
    for feed in list_feeds(session, include_inactive=include_inactive):
        state = feed_state(feed)
        policy = policies.get(feed.id, PollPolicy())
        health = assess(state, now, policy.stale_after)
        status = describe(health, state) if feed.active else "disabled"
        rows.append(
            FeedHealth(
                feed.id,
                status,
                _time(feed.last_polled_at),
                _time(feed.next_poll_at) if feed.active else "-",
                str(feed.entry_count),
                ShownHealth(
                    health.status if feed.active else "disabled",
                    _time(health.since),
                    state.consecutive_failures,
                    _time(state.last_new_entry_at) if state.last_new_entry_at else None,
                    f"{health.stale_after.total_seconds() / 3600:g}",
                    feed.last_error,
                    feed.redirected_url,
                    _time(push_until[feed.id]) if feed.id in push_until else None,
                ),
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
    with mirrored_runtime(config_path) as runtime, runtime.sessions() as session:
        config = runtime.config().config
        feeds = feed_health(session, config, runtime.clock(), include_inactive=show_all)
        opted_out = unsubscribed_by_recipient(session)
    if not feeds:
        click.echo("no feeds configured")
    else:
        click.echo(format_table([f.cells() for f in feeds]))
    for line in unsubscribed_lines(opted_out):
        click.echo(line)


feeds_command.add_command(discover_command)
feeds_command.add_command(import_command)
feeds_command.add_command(export_command)
