"""``rightswatch generate-secret``: a new ``whsec_`` webhook secret, made where rightswatch runs.

Beside ``generate-key`` so that a deployment without rightswatch on the host makes both
with ``docker compose run --rm --no-deps migrate generate-secret``.
"""

from __future__ import annotations

import base64
import secrets
import sys

import click

from worker.security.passwords import hash_password


def new_webhook_secret() -> str:
    """32 random bytes in the Standard Webhooks format the YAML's ``secret_env`` expects."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@click.command("generate-secret")
def generate_secret_command() -> None:
    """Print a new webhook signing secret (whsec_…) for a variable named by secret_env."""
    click.echo(new_webhook_secret())


@click.command("hash-password")
def hash_password_command() -> None:
    """Print the Argon2id hash of a desk password, for an operator's password_hash.

    The password is asked for twice on a terminal, else read as the first line of
    standard input; never from the command line, where other users and the shell's
    history would see it.
    """
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise click.ClickException("no password given")
    click.echo(hash_password(password))
