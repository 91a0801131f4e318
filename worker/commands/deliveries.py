"""``rightswatch deliveries``: look into the outbox, and put dead deliveries back."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from worker.commands.common import config_option, settings_for
from worker.core.clock import utcnow
from worker.db import outbox
from worker.db.models import Delivery
from worker.outbox.machine import LIFETIME

STATUSES = ("pending", "sending", "retrying", "sent", "dead", "cancelled")


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _row(d: Delivery) -> str:
    when = d.sent_at if d.status == "sent" else d.next_attempt_at
    what = f"match {d.match_id}" if d.kind == "alert" else f"digest to {_time(d.period_end)}"
    error = (d.last_error or "").replace("\n", " ")
    error = error if len(error) <= 80 else error[:79] + "…"
    return (
        f"{d.id:<36}  {d.status:<9}  {d.attempts:>3}  {_time(when):<19}  "
        f"{d.subscriber_id:<20}  {what:<30}  {error}"
    ).rstrip()


@click.group("deliveries", invoke_without_command=True)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only this status.")
@click.option("--subscriber", "subscriber_id", default=None, help="Only this subscriber id.")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@config_option
@click.pass_context
def deliveries_command(
    ctx: click.Context,
    status: str | None,
    subscriber_id: str | None,
    limit: int,
    config_path: Path | None,
) -> None:
    """List deliveries, newest first (time is the next attempt, or when it was sent)."""
    if ctx.invoked_subcommand is not None:
        return
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        with runtime.sessions() as session:
            rows = outbox.list_deliveries(session, status, subscriber_id, limit)
            counts = outbox.delivery_counts(session)
    finally:
        runtime.close()
    click.echo(
        f"{'ID':<36}  {'STATUS':<9}  {'TRY':>3}  {'TIME (UTC)':<19}  {'SUBSCRIBER':<20}  "
        f"{'WHAT':<30}  LAST ERROR"
    )
    for row in rows:
        click.echo(_row(row))
    click.echo(", ".join(f"{counts[s]} {s}" for s in STATUSES if counts.get(s)) or "no deliveries")


@deliveries_command.command("retry")
@click.argument("delivery_ids", nargs=-1)
@click.option("--dead", "all_dead", is_flag=True, help="Every dead delivery.")
@config_option
def retry_command(delivery_ids: tuple[str, ...], all_dead: bool, config_path: Path | None) -> None:
    """Put dead deliveries back in the queue (with a fresh lifetime)."""
    if bool(delivery_ids) == all_dead:
        raise click.UsageError("give delivery ids, or --dead for every dead delivery")
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    now = utcnow()
    try:
        with runtime.sessions() as session, session.begin():
            retried = outbox.retry_dead(
                session, None if all_dead else delivery_ids, now, now + LIFETIME
            )
            others = {
                delivery_id: status
                for delivery_id, status in outbox.statuses(session, delivery_ids).items()
                if delivery_id not in retried
            }
    finally:
        runtime.close()
    for delivery_id in retried:
        click.echo(f"{delivery_id}: dead → pending")
    problems = 0
    for delivery_id in delivery_ids:
        if delivery_id in retried:
            continue
        problems += 1
        if delivery_id in others:
            click.echo(f"{delivery_id}: not dead (status {others[delivery_id]})", err=True)
        else:
            click.echo(f"{delivery_id}: no such delivery", err=True)
    count = len(retried)
    click.echo(
        f"{count} deliver{'y' if count == 1 else 'ies'} put back; "
        "the running service sends them on its next cycle"
    )
    if problems:
        sys.exit(1)
