"""One click on Unsubscribe in a forwarded alert of a YAML subscriber (a shared desk inbox):
recorded in the audit log, told to the operators through their channel, shown by
`rightswatch feeds` and `rightswatch subscribers`, and undone by
`rightswatch subscribers enable ID`."""

from __future__ import annotations

import os
import re
import subprocess

from sqlalchemy import select

from tests.support.api import Stack
from tests.support.cli import run_rightswatch
from tests.support.waits import wait_for
from worker.db import audit
from worker.db.models import Subscriber


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """A rightswatch command on the stack's database, configuration and SMTP server."""
    return run_rightswatch(*args, env={**os.environ, **stack.settings.environ})


def desk(stack: Stack) -> Subscriber:
    with stack.worker.runtime.sessions() as session:
        return session.scalars(select(Subscriber).where(Subscriber.id == "desk")).one()


def test_a_yaml_subscribers_unsubscribe_is_logged_reported_shown_and_reversible(
    stack: Stack,
) -> None:
    config = stack.settings.config_path
    config.write_text(
        config.read_text(encoding="utf-8")
        + "operators:\n  - id: ops\n    email: ops@example.org\n",
        encoding="utf-8",
    )
    os.utime(config, (config.stat().st_atime, config.stat().st_mtime + 5))
    stack.feed.publish("y1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    (alert,) = stack.mails_to("desk@example.org")
    link = re.match(r"<(http://[^>]+)>", str(alert["List-Unsubscribe"]))
    assert link is not None

    left = stack.api.post(link.group(1).removeprefix(stack.url))
    assert left.status_code == 200 and "No more alerts will be sent" in left.text
    assert desk(stack).status == "unsubscribed" and not desk(stack).active
    with stack.worker.runtime.sessions() as session:
        (entry,) = audit.recent(session, action="subscriber.unsubscribed")
        assert (entry.actor, entry.target) == ("recipient", "desk")

    stack.run_once()  # the worker sends the operators' message
    notices = wait_for(lambda: stack.mails_to("ops@example.org"))
    assert notices, "the operators were not told"
    assert notices[0]["Subject"] == "[rightswatch] subscriber desk unsubscribed"
    assert "rightswatch subscribers enable desk" in notices[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]

    feeds = cli(stack, "feeds")
    assert feeds.returncode == 0, feeds.stderr
    assert "subscriber desk: unsubscribed by recipient" in feeds.stdout
    checked = cli(stack, "check-config")
    assert checked.returncode == 0, checked.stderr
    assert "subscriber desk: unsubscribed by recipient" in checked.stdout
    listed = cli(stack, "subscribers")
    assert re.search(r"^desk\s+email\s+unsubscribed by recipient$", listed.stdout, re.M), listed

    enabled = cli(stack, "subscribers", "enable", "desk")
    assert enabled.returncode == 0, enabled.stderr
    assert enabled.stdout.strip() == "subscriber desk receives alerts again"
    assert desk(stack).active and desk(stack).status is None
    with stack.worker.runtime.sessions() as session:
        (entry,) = audit.recent(session, action="subscriber.enable")
        assert entry.target == "desk" and entry.actor.startswith("cli:")
    again = cli(stack, "subscribers", "enable", "desk")
    assert again.returncode == 1 and "managed in the YAML" in again.stderr

    stack.feed.publish("y2", "Tolekan Ismailova detained")
    stack.run_once()
    assert len(stack.mails_to("desk@example.org")) == 2
