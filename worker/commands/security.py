"""Security commands: ``purge`` (retention now), ``generate-key``, ``rotate-key``, ``audit``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from worker.commands.common import config_option, settings_for
from worker.db import audit


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@config_option
def purge_command(dry_run: bool, config_path: Path | None) -> None:
    """Delete rows older than the configured `retention:` (as the nightly task does)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.commands.progress import shown
    from worker.jobs import purge
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        runtime.wait_for_schema()
        with shown() as progress:
            report = purge(runtime, dry_run=dry_run, actor=audit.cli_actor(), progress=progress)
    finally:
        runtime.close()
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"{verb} {report.total} rows ({report.line()})")


@click.command("generate-key")
def generate_key_command() -> None:
    """Print a new random key for RIGHTSWATCH_ENCRYPTION_KEY (keep it out of the database host's
    backups)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.security.crypto import new_key

    click.echo(new_key())


@click.command("rotate-key")
@config_option
def rotate_key_command(config_path: Path | None) -> None:
    """Re-encrypt every sensitive field under RIGHTSWATCH_ENCRYPTION_KEY.

    Put the previous key in RIGHTSWATCH_ENCRYPTION_OLD_KEYS first; once this has
    run, the old key can be destroyed. Also encrypts values stored while no key
    was set, and keys the plain receivers of deliveries written before receivers
    were keyed (run it once after upgrading). Safe to interrupt and run again.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.commands.progress import shown
    from worker.db import key_rotation
    from worker.db.models import Base
    from worker.runtime import Runtime
    from worker.security import crypto

    settings = settings_for(config_path)
    if settings.encryption_key is None:
        raise click.ClickException(
            "RIGHTSWATCH_ENCRYPTION_KEY is not set: there is no key to rotate to "
            "(make one with `rightswatch generate-key`)"
        )
    runtime = Runtime(settings)
    try:
        runtime.wait_for_schema()
        ring = crypto.Keyring(settings.encryption_key, settings.encryption_old_keys)
        with shown() as progress:
            count = key_rotation.rotate(runtime.engine, Base.metadata, ring, progress=progress)
            rekeyed = key_rotation.rekey_lookups(runtime.engine, ring, progress=progress)
            destinations = key_rotation.rekey_destinations(runtime.engine, ring)
        with runtime.sessions() as session, session.begin():
            audit.record(
                session,
                "key.rotate",
                actor=audit.cli_actor(),
                target=ring.current_id,
                details={
                    "values": count,
                    "entries_rekeyed": rekeyed,
                    "destinations_rekeyed": destinations,
                },
            )
    finally:
        runtime.close()
    click.echo(
        f"re-encrypted {count} values and re-keyed {rekeyed} entries and {destinations} "
        f"delivery receivers under key {ring.current_id}"
    )


@click.command("audit")
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--action", default=None, help="Only this action (e.g. key.rotate, purge).")
@config_option
def audit_command(limit: int, action: str | None, config_path: Path | None) -> None:
    """List the audit log of operator actions, newest first."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    runtime = Runtime(settings_for(config_path))
    try:
        runtime.wait_for_schema()
        with runtime.sessions() as session:
            entries = audit.recent(session, limit, action)
            for e in entries:
                details = json.dumps(e.details, sort_keys=True) if e.details else ""
                click.echo(
                    f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<20}  {e.action:<20}  "
                    f"{e.target or '-':<20}  {details}".rstrip()
                )
    finally:
        runtime.close()
