"""``rightswatch subscribers``: who receives alerts, and undoing a YAML subscriber's opt-out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from worker.commands.common import config_option, mirrored_runtime, settings_for
from worker.db import audit
from worker.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
UNSUBSCRIBED = "unsubscribed by recipient"


def unsubscribed_lines(ids: list[str]) -> list[str]:
    """What `feeds` and `subscribers` print for YAML subscribers who opted out."""
    return [
        f"subscriber {i}: {UNSUBSCRIBED} (undo: rightswatch subscribers enable {i})" for i in ids
    ]


def opted_out_in_database(settings: Settings) -> list[str]:
    """For `check-config`: the YAML subscribers who unsubscribed, when the database is
    there and answers within seconds; else none (the check needs no database)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from sqlalchemy.exc import SQLAlchemyError

    # start-up: as above
    from worker.db import subscribers

    try:
        return read_database(settings, subscribers.unsubscribed_by_recipient)
    except SQLAlchemyError:
        return []


def read_database(settings: Settings, read: Callable[[Session], list[T]]) -> list[T]:
    """``read`` in a session of its own when the database answers within seconds; none
    when it has no subscribers yet (no SQLite file, not migrated). Raises SQLAlchemyError
    when it cannot be read."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import Session

    url = make_url(settings.database_url)
    connect_args: dict[str, int] = {"connect_timeout": 3}
    if url.get_backend_name() == "sqlite":
        if not url.database or not Path(url.database).is_file():
            return []
        connect_args = {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("subscribers"):
                return []
            with Session(bind=connection) as session:
                return read(session)
    finally:
        engine.dispose()


@click.group("subscribers", invoke_without_command=True)
@config_option
@click.pass_context
def subscribers_command(ctx: click.Context, config_path: Path | None) -> None:
    """List the subscribers of the YAML with their state (and how many came through the API)."""
    if ctx.invoked_subcommand is not None:
        return
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.db import subscribers

    with mirrored_runtime(config_path) as runtime, runtime.sessions() as session:
        config = runtime.config().config
        opted_out = set(subscribers.unsubscribed_by_recipient(session))
        counts = subscribers.counts_by_status(session)
    for subscriber in config.subscribers:
        state = "disabled in the YAML" if not subscriber.enabled else "active"
        if subscriber.id in opted_out:
            state = UNSUBSCRIBED
        click.echo(f"{subscriber.id}  {subscriber.channel}  {state}")
    api = {status: n for (managed_by, status), n in counts.items() if managed_by == "api"}
    if api:
        click.echo("API: " + ", ".join(f"{n} {status}" for status, n in sorted(api.items())))


@subscribers_command.command("enable")
@click.argument("subscriber_id")
@config_option
def enable_command(subscriber_id: str, config_path: Path | None) -> None:
    """Undo a YAML subscriber's unsubscribe (or an operator's disable of an API subscriber)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.api import service
    from worker.db import subscribers
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        runtime.wait_for_schema()
        config = runtime.config().config
        with runtime.sessions() as session, session.begin():
            subscriber = subscribers.get(session, subscriber_id, for_update=True)
            if subscriber is None:
                raise click.ClickException(f"no subscriber {subscriber_id!r}")
            try:
                service.enable(session, subscriber, config)
            except service.Conflict as e:
                raise click.ClickException(str(e)) from e
            audit.record(
                session, "subscriber.enable", actor=audit.cli_actor(), target=subscriber_id
            )
            now_active = subscriber.active
    finally:
        runtime.close()
    state = "receives alerts again" if now_active else "is enabled (still disabled in the YAML)"
    click.echo(f"subscriber {subscriber_id} {state}")
