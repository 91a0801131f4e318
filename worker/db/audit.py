"""Append-only audit log of operator actions: who changed, exported, rotated or purged what.

Entries name ids (a subscriber id, a key id), never an address or a person,
so the log itself betrays no one. The database refuses UPDATE and DELETE on
the table, and TRUNCATE on PostgreSQL (triggers in the migrations); only an
owner of the database who drops the triggers can rewrite it, and that is
outside what rightswatch can prevent.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.core.clock import utcnow
from worker.db.models import AuditEntry

API_OPERATOR = "api:operator"


def cli_actor() -> str:
    """The operating-system user running the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli:unknown"


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one entry to the caller's transaction (it is kept only if the action commits)."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor,
            action=action,
            target=target,
            details=dict(details or {}),
        )
    )


def recent(session: Session, limit: int = 100, action: str | None = None) -> Sequence[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return session.scalars(query).all()
