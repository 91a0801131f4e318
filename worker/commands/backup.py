"""``rightswatch backup keygen|encrypt|decrypt``: the encryption half of scripts/backup and
scripts/restore.

Backups are age-encrypted (https://age-encryption.org, through pyrage) to a public
recipient: the server that makes them holds only ``RIGHTSWATCH_BACKUP_RECIPIENT``
(``age1…``), the operator keeps the identity (``AGE-SECRET-KEY-1…``) elsewhere, and the
``age`` command decrypts a backup as well as ``rightswatch backup decrypt`` does. The
streams are PostgreSQL's own dump (``pg_dump --format=custom``), made and restored in the
postgres container, so the client always matches the server's version.
"""

from __future__ import annotations

import sys
from io import BufferedIOBase
from pathlib import Path
from typing import cast

import click

from worker.settings import load_settings

MISSING = (
    "backups need the backup extra: pip install 'rightswatch[backup]' (the Docker image has it)"
)


def _stdin() -> BufferedIOBase:
    return cast(BufferedIOBase, sys.stdin.buffer)


def _stdout() -> BufferedIOBase:
    return cast(BufferedIOBase, sys.stdout.buffer)


@click.group("backup")
def backup_command() -> None:
    """Encrypt and decrypt database backups (scripts/backup, scripts/restore use these)."""


@backup_command.command("keygen")
def keygen_command() -> None:
    """Print a new age identity; its first line is the public recipient for the server.

    Keep the whole output OFF the server (a password manager, paper): it is the only way
    to read the backups. Put the recipient in RIGHTSWATCH_BACKUP_RECIPIENT.
    """
    try:
        import pyrage  # the optional backup extra
    except ImportError as e:
        raise click.ClickException(MISSING) from e
    identity = pyrage.x25519.Identity.generate()
    click.echo(f"# public key: {identity.to_public()}")
    click.echo(str(identity))


@backup_command.command("encrypt")
@click.option(
    "--recipient",
    envvar="RIGHTSWATCH_BACKUP_RECIPIENT",
    help="age1… public key [env RIGHTSWATCH_BACKUP_RECIPIENT].",
)
def encrypt_command(recipient: str | None) -> None:
    """Encrypt standard input to standard output for the recipient."""
    try:
        import pyrage  # the optional backup extra
    except ImportError as e:
        raise click.ClickException(MISSING) from e
    recipient = recipient or load_settings().secret("RIGHTSWATCH_BACKUP_RECIPIENT")
    if not recipient:
        raise click.ClickException(
            "no recipient: set RIGHTSWATCH_BACKUP_RECIPIENT (make one with "
            "`rightswatch backup keygen`)"
        )
    try:
        key = pyrage.x25519.Recipient.from_str(recipient.strip())
    except pyrage.RecipientError as e:
        raise click.ClickException("RIGHTSWATCH_BACKUP_RECIPIENT is not an age1… key") from e
    pyrage.encrypt_io(_stdin(), _stdout(), [key])


@backup_command.command("decrypt")
@click.option(
    "--identity",
    "identity_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="RIGHTSWATCH_BACKUP_IDENTITY_FILE",
    required=True,
    help="File holding the AGE-SECRET-KEY-1… [env RIGHTSWATCH_BACKUP_IDENTITY_FILE].",
)
def decrypt_command(identity_path: Path) -> None:
    """Decrypt standard input (a backup) to standard output with the operator's identity."""
    try:
        import pyrage  # the optional backup extra
    except ImportError as e:
        raise click.ClickException(MISSING) from e
    try:
        lines = identity_path.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise click.ClickException(f"cannot read the identity file {identity_path}") from e
    keys = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]
    try:
        identities = [pyrage.x25519.Identity.from_str(k) for k in keys]
    except pyrage.IdentityError as e:
        raise click.ClickException(f"{identity_path}: not an age identity") from e
    if not identities:
        raise click.ClickException(f"{identity_path}: no AGE-SECRET-KEY-1… line")
    try:
        pyrage.decrypt_io(_stdin(), _stdout(), identities)
    except pyrage.DecryptError as e:
        raise click.ClickException(
            "cannot decrypt: not a backup made for this identity, or damaged"
        ) from e
