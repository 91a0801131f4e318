"""``rightswatch test-alert ID``: send a clearly marked test alert through a real channel.

``check-config --online`` shows that the channels answer; this proves a message
arrives: the signed webhook (the receiver's signature check included), the
e-mail (DKIM and OpenPGP as configured), the Apprise notification. It goes
through the very notifier the outbox uses, straight away, and is not recorded. The id
is looked up in the YAML (subscribers, then operators), then among the API's subscribers.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import SQLAlchemyError

from worker.commands.common import config_option, settings_for
from worker.config import Config, SubscriberConfig, load_config
from worker.core.clock import utcnow
from worker.core.errors import DeliveryError
from worker.core.types import ChannelTest
from worker.db import subscribers
from worker.db.models import Subscriber
from worker.notify.base import Recipient
from worker.outbox.deliveries import subscriber_recipient
from worker.outbox.machine import resolve_env_refs
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.runtime import Runtime


def find_recipient(config: Config, recipient_id: str) -> tuple[str, SubscriberConfig] | None:
    """("subscriber" or "operator", its entry) for the id, subscribers first."""
    for role, entries in (("subscriber", config.subscribers), ("operator", config.operators)):
        for entry in entries:
            if entry.id == recipient_id:
                return role, entry
    return None


def recipient_for(role: str, entry: SubscriberConfig, settings: Settings) -> Recipient:
    """The recipient a delivery to this YAML entry would have, with its secrets."""
    address = entry.address
    if entry.channel == "apprise":
        address = resolve_env_refs(address, settings)
    return Recipient(
        subscriber_id=entry.id,
        channel=entry.channel,
        address=address,
        secret=settings.secret(entry.secret_env) if entry.secret_env else None,
        security_phrase=entry.security_phrase,
        pgp_key=entry.pgp_key,
        role="operator" if role == "operator" else "subscriber",
    )


@click.command("test-alert")
@click.argument("recipient_id", metavar="SUBSCRIBER_ID")
@config_option
def test_alert_command(recipient_id: str, config_path: Path | None) -> None:
    """Send a clearly marked test alert to a subscriber (or operator) through its channel."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.runtime import Runtime

    settings = settings_for(config_path)
    config = load_config(settings.config_path, settings.environ).config
    runtime = Runtime(settings)
    try:
        found = find_recipient(config, recipient_id)
        if found is not None:
            role, entry = found
            recipient = recipient_for(role, entry, settings)
            enabled = entry.enabled
        else:
            row, unreadable = _api_subscriber(runtime, recipient_id)
            if row is None:
                known = ", ".join(e.id for e in (*config.subscribers, *config.operators))
                where = f"the database could not be read: {unreadable}" if unreadable else ""
                raise click.ClickException(
                    f"no subscriber or operator {recipient_id!r} in {settings.config_path} "
                    f"(known: {known or 'none'}) {where or 'nor in the database'}"
                )
            role, recipient, enabled = "subscriber", subscriber_recipient(row, settings), row.active
        message = ChannelTest(
            delivery_id=f"test-{uuid.uuid4()}",
            recipient_id=recipient.subscriber_id,
            channel=recipient.channel,
            sent_at=utcnow(),
        )
        what = f"test alert to {role} {recipient.subscriber_id} by {recipient.channel}"
        try:
            runtime.notifiers[recipient.channel].send(message, recipient)
        except DeliveryError as e:
            click.echo(f"{what}: FAILED: {e}", err=True)
            sys.exit(1)
    finally:
        runtime.close()
    note = "" if enabled else " (this subscriber is not active: real alerts are not sent)"
    click.echo(f"{what}: sent ({message.delivery_id}){note}")


def _api_subscriber(runtime: Runtime, subscriber_id: str) -> tuple[Subscriber | None, str]:
    """A subscriber made through the API (not in the YAML) if the database has one; else
    why the database could not be read, if it could not."""
    try:
        with runtime.sessions() as session:
            row = subscribers.get(session, subscriber_id)
            if row is not None:
                session.expunge(row)
            return row, ""
    except SQLAlchemyError as e:
        return None, type(e).__name__
