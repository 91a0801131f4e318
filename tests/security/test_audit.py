"""The audit log records operator actions by id, and the database refuses to rewrite it."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from tests.support.api import Stack, subscribe
from tests.support.cli import run_rightswatch
from worker.db.models import AuditEntry
from worker.db.session import make_engine, upgrade
from worker.security.crypto import new_key


def _rightswatch(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_rightswatch(*args, env={**os.environ, **env})


def test_operator_actions_are_recorded_by_id(stack: Stack) -> None:
    assert subscribe(stack, "listed@example.org") == 202
    listed = stack.api.get("/operator/subscribers?managed_by=api", headers=stack.operator()).json()
    (row,) = listed["subscribers"]
    disabled = stack.api.post(
        f"/operator/subscribers/{row['id']}/disable", headers=stack.operator()
    )
    assert disabled.status_code == 200
    env = {**stack.settings.environ, "RIGHTSWATCH_ENCRYPTION_KEY": new_key()}
    rotated = _rightswatch(env, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    listing = _rightswatch(env, "audit")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert [line.split()[3] for line in lines] == [
        "key.rotate",
        "subscriber.disable",
        "subscribers.export",
    ]
    assert row["id"] in lines[1] and "api:operator" in lines[1] and "api:operator" in lines[2]
    assert lines[0].split()[2].startswith("cli:")
    assert "listed@example.org" not in listing.stdout


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_audit_log_is_append_only(backend: str, pg_database: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}" if backend == "sqlite" else pg_database
    engine = make_engine(url)
    try:
        if backend == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(
                sa.insert(AuditEntry).values(
                    at=datetime.now(UTC), actor="cli:test", action="purge", details={}
                )
            )
        for statement in (
            sa.update(AuditEntry).values(action="nothing"),
            sa.delete(AuditEntry),
        ):
            with (
                pytest.raises(sa.exc.DatabaseError, match="append-only"),
                engine.begin() as connection,
            ):
                connection.execute(statement)
        with engine.connect() as connection:
            assert connection.execute(select(AuditEntry.action)).scalars().all() == ["purge"]
    finally:
        engine.dispose()
