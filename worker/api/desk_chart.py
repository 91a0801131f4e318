"""The desk's picture: mentions per day over the last 90 days (all of them, or one
person's), with the feeds that carried them; and the people of the YAML it links to."""

from __future__ import annotations

from datetime import timedelta

from worker.api.deps import State
from worker.config import PersonConfig, person_id
from worker.core.errors import ConfigError
from worker.core.mentions import DAYS, Chart, chart
from worker.db import desk

SCANNED = 20_000
"""Newest matches charted (their names are decrypted to tell whose they are)."""


def people(state: State) -> dict[tuple[str, str], PersonConfig]:
    """(watch list id, canonical name) → the person, as the YAML has them now."""
    try:
        config = state.runtime.config().config
    except ConfigError:
        return {}
    return {(w.id, p.name): p for w in config.watchlists for p in w.people}


def person_ids(state: State) -> dict[tuple[str, str], str]:
    """(watch list id, canonical name) → person id, for links to the person's page."""
    return {key: person_id(p) for key, p in people(state).items()}


def mentions_chart(state: State, person: str | None = None) -> Chart:
    """Everything matched in the last :data:`DAYS` days, or what named ``person`` (an id)."""
    now = state.now()
    with state.transaction() as session:
        rows = desk.mentions(session, now - timedelta(days=DAYS), SCANNED)
    if person is not None:
        ids = person_ids(state)
        rows = [m for m in rows if any(ids.get((m.watchlist_id, t)) == person for t in m.terms)]
    return chart(((m.at, m.feed_title) for m in rows), now.date())
