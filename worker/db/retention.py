"""Retention: rows older than the configured ages are deleted, nothing newer.

Old entries are not deleted but emptied: their text goes, their keys (hashes of
GUID, link and text) stay, so that a feed still carrying an old report does not
make it new and alert again.

A seized database should hold as little history as the work needs. The ages
come from the YAML's ``retention:`` section; :func:`cutoffs` is the pure
arithmetic, :func:`purge` the effectful job run nightly (Celery beat, or the
embedded loop, through :func:`worker.jobs.purge`) and by ``rightswatch purge``. Rows
still in flight (a delivery not yet sent, or a match or entry one depends on) are kept
until they are done.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from worker.config import RetentionConfig
from worker.core.progress import Progress, silent
from worker.db import audit
from worker.db.models import (
    Delivery,
    DigestItem,
    Entry,
    Match,
    OperatorAlert,
    RateLimit,
    StoryBand,
    StorySignature,
    StorySketch,
)
from worker.db.session import SessionFactory

log = logging.getLogger(__name__)

FINISHED = ("sent", "dead", "cancelled")
"""Delivery and operator-alert states nothing will touch again."""


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows created before these instants go; None: that kind is kept forever."""

    entries: datetime | None
    matches: datetime | None
    deliveries: datetime | None
    fetch_history: datetime | None


def cutoffs(retention: RetentionConfig, now: datetime) -> Cutoffs:
    """Pure: the configured ages measured back from ``now``."""
    return Cutoffs(
        entries=now - retention.entries if retention.entries else None,
        matches=now - retention.matches if retention.matches else None,
        deliveries=now - retention.deliveries if retention.deliveries else None,
        fetch_history=now - retention.fetch_history if retention.fetch_history else None,
    )


@dataclass(slots=True)
class PurgeReport:
    """Rows deleted (or, in a dry run, that would be) per table."""

    entries: int = 0
    matches: int = 0
    deliveries: int = 0
    digest_items: int = 0
    story_sketches: int = 0
    story_signatures: int = 0
    story_bands: int = 0
    operator_alerts: int = 0
    rate_limits: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}

    def line(self) -> str:
        return ", ".join(f"{name}: {count}" for name, count in self.counts().items())


def _open_delivery(match_ids: Select[Any]) -> ColumnElement[bool]:
    """Matches with a delivery still to be sent (alone or in a digest) are kept."""
    open_alerts = select(Delivery.match_id).where(
        Delivery.match_id.is_not(None), Delivery.status.not_in(FINISHED)
    )
    open_digests = (
        select(DigestItem.match_id)
        .join(Delivery, Delivery.id == DigestItem.delivery_id)
        .where(Delivery.status.not_in(FINISHED))
    )
    return Match.id.in_(match_ids) & Match.id.not_in(open_alerts) & Match.id.not_in(open_digests)


def _deleted(session: Session, statement: Executable) -> int:
    """Run a bulk DELETE (or UPDATE); how many rows it removed (or changed)."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _delete_matches(session: Session, where: ColumnElement[bool], report: PurgeReport) -> None:
    """Delete matches and everything that points at them (their deliveries, digest lines)."""
    doomed = select(Match.id).where(where).scalar_subquery()
    alerts = select(Delivery.id).where(Delivery.match_id.in_(doomed)).scalar_subquery()
    report.digest_items += _deleted(
        session, delete(DigestItem).where(DigestItem.match_id.in_(doomed))
    )
    report.digest_items += _deleted(
        session, delete(DigestItem).where(DigestItem.delivery_id.in_(alerts))
    )
    report.deliveries += _deleted(session, delete(Delivery).where(Delivery.match_id.in_(doomed)))
    report.matches += _deleted(session, delete(Match).where(where))


_FORGOTTEN: dict[str, Any] = {
    "guid": None,
    "link": None,
    "title": "",
    "summary": "",
    "content": "",
    "language": None,
    "published_at": None,
    "published": None,
    "updated_at": None,
    "story_id": None,
}
"""What an old entry loses. Its keys and content hash stay: feeds carry reports for
years, and a report whose row was deleted would be new, and alert, on the next poll."""


def purge_session(
    session: Session, cut: Cutoffs, now: datetime, progress: Progress = silent
) -> PurgeReport:
    """Delete (entries: empty) what the cutoffs allow, inside the caller's transaction."""
    report = PurgeReport()
    if cut.deliveries is not None:
        old = (
            select(Delivery.id)
            .where(Delivery.created_at < cut.deliveries, Delivery.status.in_(FINISHED))
            .scalar_subquery()
        )
        report.digest_items += _deleted(
            session, delete(DigestItem).where(DigestItem.delivery_id.in_(old))
        )
        report.deliveries += _deleted(session, delete(Delivery).where(Delivery.id.in_(old)))
    if cut.matches is not None:
        old_matches = select(Match.id).where(Match.created_at < cut.matches)
        _delete_matches(session, _open_delivery(old_matches), report)
    if cut.entries is not None:
        old_entries = select(Entry.id).where(Entry.first_seen_at < cut.entries)
        of_old_entries = select(Match.id).where(Match.entry_id.in_(old_entries))
        _delete_matches(session, _open_delivery(of_old_entries), report)
        # An entry whose match is still being delivered stays until the delivery is done.
        doomed = select(Entry.id).where(
            Entry.first_seen_at < cut.entries,
            # Emptied before, unless the feed has since changed the report's text.
            Entry.forgotten_at.is_(None) | (Entry.updated_at > Entry.forgotten_at),
            Entry.id.not_in(select(Match.entry_id)),
        )
        ids = list(session.scalars(doomed))
        for start in range(0, len(ids), 500):
            batch = ids[start : start + 500]
            report.story_sketches += _deleted(
                session, delete(StorySketch).where(StorySketch.story_id.in_(batch))
            )
            report.story_signatures += _deleted(
                session, delete(StorySignature).where(StorySignature.story_id.in_(batch))
            )
            report.story_bands += _deleted(
                session, delete(StoryBand).where(StoryBand.story_id.in_(batch))
            )
            _deleted(session, update(Entry).where(Entry.story_id.in_(batch)).values(story_id=None))
            report.entries += _deleted(
                session,
                update(Entry).where(Entry.id.in_(batch)).values(**_FORGOTTEN, forgotten_at=now),
            )
            progress("Emptying old entries", start + len(batch), len(ids))
    if cut.fetch_history is not None:
        report.operator_alerts += _deleted(
            session,
            delete(OperatorAlert).where(
                OperatorAlert.created_at < cut.fetch_history, OperatorAlert.status.in_(FINISHED)
            ),
        )
        report.rate_limits += _deleted(
            session, delete(RateLimit).where(RateLimit.window_start < cut.fetch_history)
        )
    return report


def purge(
    sessions: SessionFactory,
    retention: RetentionConfig,
    now: datetime,
    *,
    dry_run: bool = False,
    actor: str = "task:nightly",
    progress: Progress = silent,
) -> PurgeReport:
    """Apply the retention now (recorded in the audit log); a dry run counts the same rows
    and keeps them."""
    cut = cutoffs(retention, now)
    with sessions() as session:
        transaction = session.begin()
        try:
            report = purge_session(session, cut, now, progress)
            if report.total:
                audit.record(session, "purge", actor=actor, details=report.counts(), at=now)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    if report.total and not dry_run:
        log.info("purge deleted %s", report.line())
    return report
