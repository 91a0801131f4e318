"""``rightswatch generate-secret``: a new ``whsec_`` webhook secret, made where rightswatch runs.

Beside ``generate-key`` so that a deployment without rightswatch on the host makes both
with ``docker compose run --rm --no-deps migrate generate-secret``.
"""

from __future__ import annotations

import base64
import secrets

import click


def new_webhook_secret() -> str:
    """32 random bytes in the Standard Webhooks format the YAML's ``secret_env`` expects."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@click.command("generate-secret")
def generate_secret_command() -> None:
    """Print a new webhook signing secret (whsec_…) for a variable named by secret_env."""
    click.echo(new_webhook_secret())
