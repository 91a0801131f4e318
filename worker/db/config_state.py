"""Whether the configuration file is valid, as a ``meta`` row every process can read.

The row exists while a running process has found the file invalid (and keeps the
last valid configuration); it is written by whichever process notices first and
removed by whichever first reads a valid file again. Each transition queues the
operators' alert in the same transaction, and only the process whose insert or
delete took effect queues it: one alert per transition, however many workers
noticed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from worker.config import OperatorConfig
from worker.core.config_health import ConfigInvalid, Event, message
from worker.db import outbox
from worker.db.models import Meta
from worker.db.sql import insert_new

INVALID_KEY = "config_invalid"


def current(session: Session) -> ConfigInvalid | None:
    """The recorded invalid state, or None if no process found the file invalid."""
    value = session.scalar(select(Meta.value).where(Meta.key == INVALID_KEY))
    return ConfigInvalid.from_json(value) if value else None


def record(
    session: Session,
    invalid: ConfigInvalid | None,
    operators: Sequence[OperatorConfig],
    now: datetime,
) -> list[str]:
    """Record this process's view of the file; ids of the operator alerts it queued."""
    if invalid is not None:
        created = insert_new(
            session, Meta, [{"key": INVALID_KEY, "value": invalid.to_json()}], Meta.key
        )
        if not created:
            stored = current(session)
            if stored is not None and stored.problem != invalid.problem:
                row = session.get(Meta, INVALID_KEY)
                if row is not None:  # keep the first "since": the file is still invalid
                    row.value = ConfigInvalid(
                        stored.since, invalid.problem, stored.running
                    ).to_json()
            return []
        return _queue(session, "config_invalid", invalid, operators, now)
    removed = session.scalar(delete(Meta).where(Meta.key == INVALID_KEY).returning(Meta.value))
    if removed is None:
        return []
    return _queue(session, "config_valid", ConfigInvalid.from_json(removed), operators, now)


def _queue(
    session: Session,
    event: Event,
    state: ConfigInvalid,
    operators: Sequence[OperatorConfig],
    now: datetime,
) -> list[str]:
    subject, body, details = message(event, state)
    return outbox.queue_operator_alerts(
        session,
        operators,
        feed_id=None,
        event=event,
        episode_since=state.since,
        subject=subject,
        body=body,
        details=details,
        now=now,
    )
