"""`rightswatch deliveries`: list the outbox, put dead deliveries back."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from tests.support.cli import run_rightswatch
from tests.support.clock import Clock
from tests.support.delivery import ITEMS, deliveries
from tests.support.receiver import Receiver
from worker.embedded import EmbeddedService


def rightswatch(service: EmbeddedService, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **service.runtime.settings.environ}
    return run_rightswatch("deliveries", *args, env=env, timeout=60)


def test_list_and_retry_dead_deliveries(
    hook_service: Callable[..., EmbeddedService], receiver: Receiver, clock: Clock
) -> None:
    receiver.script = [(410, {}, b"gone")] * 3
    service = hook_service(ITEMS)
    service.run_once()
    rows = deliveries(service)
    assert {r.status for r in rows} == {"dead"}

    listed = rightswatch(service, "--status", "dead")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "STATUS", "TRY"] and lines[-1] == "3 dead"
    assert all(f"{r.id:<36}  dead " in listed.stdout for r in rows)
    assert "DeliveryError: webhook answered HTTP 410: gone" in listed.stdout
    assert rightswatch(service, "--subscriber", "nobody").stdout.splitlines()[1:] == ["3 dead"]
    assert rightswatch(service, "--status", "nonsense").returncode == 2

    one = rightswatch(service, "retry", rows[0].id, "msg_nonexistent")
    assert one.returncode == 1
    assert one.stderr == "msg_nonexistent: no such delivery\n"
    assert one.stdout == (
        f"{rows[0].id}: dead → pending\n"
        "1 delivery put back; the running service sends them on its next cycle\n"
    )
    again = rightswatch(service, "retry", rows[0].id)
    assert again.returncode == 1 and again.stderr == f"{rows[0].id}: not dead (status pending)\n"
    assert rightswatch(service, "retry").returncode == 2

    clock.catch_up()  # the command used the real time; the service runs on ours
    assert service.run_once().alerts_sent == 1
    rest = rightswatch(service, "retry", "--dead")
    assert rest.returncode == 0 and rest.stdout.splitlines()[-1].startswith("2 deliveries put back")
    clock.catch_up()
    receiver.respond(503)
    summary = service.run_once()
    assert (summary.alerts_sent, summary.alerts_failed) == (1, 1)
    assert sorted(r.status for r in deliveries(service)) == ["retrying", "sent", "sent"]
    assert rightswatch(service).stdout.splitlines()[-1] == "1 retrying, 2 sent"
