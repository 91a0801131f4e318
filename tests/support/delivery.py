"""Delivery tests' shared world: three reports, the watch list they hit, a webhook subscriber."""

from __future__ import annotations

from sqlalchemy import select

from worker.db.models import Delivery
from worker.embedded import EmbeddedService

ITEMS = [
    {
        "guid": "d1",
        "title": "Tolekan Ismailova detained",
        "description": "Police detained Tolekan Ismailova.",
    },
    {
        "guid": "d2",
        "title": "Hearing postponed",
        "description": "Azimjan Askarov's case was postponed.",
    },
    {
        "guid": "d3",
        "title": "Statement",
        "description": "Bir Duino demands the release of Ismailova.",
    },
]
WATCHLISTS = """\
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    people: [{name: Tolekan Ismailova}, {name: Azimjan Askarov}]
    keywords: [Bir Duino]
"""


def webhook_config(feed_url: str, hook_url: str, extra: str = "") -> str:
    return (
        f"feeds:\n  - id: news\n    title: News\n    url: {feed_url}\n{WATCHLISTS}"
        f"subscribers:\n  - id: tracker\n    webhook: {hook_url}\n"
        f"    secret_env: CASE_TRACKER_WEBHOOK_SECRET\n    watchlists: [kg]\n{extra}"
    )


def deliveries(service: EmbeddedService) -> list[Delivery]:
    with service.runtime.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.created_at, Delivery.id)))
