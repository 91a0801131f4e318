"""The scenario most tests share, as YAML builders: one feed, the ``kg`` watch list
naming Azimjan Askarov, and a desk that subscribes to it.

Placeholders such as ``{feed_url}`` may be passed through, so a module can build its
configuration once and ``.format`` it per test.
"""

from __future__ import annotations

REMEMBERED = {
    "guid": "n1",
    "title": "Azimjan Askarov remembered in Bishkek",
    "description": "<p>Friends of <b>Azimjan Askarov</b> gathered on Monday.</p>",
}


STATEMENT = {"guid": "a", "title": "Bir Duino statement", "description": "Bir Duino."}
"""An item that only the keyword Bir Duino matches."""


def subscriber(subscriber_id: str, **keys: str) -> str:
    """A subscriber of the ``kg`` list; each keyword becomes a YAML key (values as written)."""
    body = "".join(f"    {key}: {value}\n" for key, value in keys.items())
    return f"  - id: {subscriber_id}\n{body}    watchlists: [kg]\n"


def case_tracker(webhook_url: str) -> str:
    """The webhook subscriber signed with ``CASE_TRACKER_WEBHOOK_SECRET``."""
    return subscriber("case-tracker", webhook=webhook_url, secret_env="CASE_TRACKER_WEBHOOK_SECRET")


DESK = subscriber("desk", email="desk@example.org")
TRACKER = subscriber("tracker", webhook="{hook}", secret_env="CASE_TRACKER_WEBHOOK_SECRET")
"""A webhook subscriber whose URL is left as the ``{hook}`` placeholder."""
DESK_OFFICER_AND_TRACKER = subscriber("desk", email="desk.officer@example.org") + case_tracker(
    "{webhook_url}"
)
"""An e-mail and a webhook subscriber, the URL left as the ``{webhook_url}`` placeholder."""
NO_HOST_DELAY = "defaults:\n  host_delay: 0\n"


def kg_watchlist(subscribers: str, *, alias: str = "", keyword: str = "") -> str:
    """The ``kg`` watch list naming Azimjan Askarov, and its ``subscribers`` (YAML)."""
    return (
        "watchlists:\n  - id: kg\n    title: Kyrgyzstan defenders\n"
        f"    people:\n      - name: Azimjan Askarov\n{alias}{keyword}"
        f"subscribers:\n{subscribers}"
    )


def watch_config(
    feed_url: str,
    *,
    subscribers: str = DESK,
    aliases: bool = False,
    keywords: bool = False,
    feed_title: str | None = None,
    prelude: str = "",
) -> str:
    """The shared configuration: Azimjan Askarov (with his Cyrillic alias if ``aliases``),
    the keyword Bir Duino if ``keywords``, and ``prelude`` (top-level YAML) first."""
    title = f"    title: {feed_title}\n" if feed_title else ""
    alias = "        aliases: [Азимжан Аскаров]\n" if aliases else ""
    keyword = "    keywords: [Bir Duino]\n" if keywords else ""
    return f"{prelude}feeds:\n  - id: news\n{title}    url: {feed_url}\n" + kg_watchlist(
        subscribers, alias=alias, keyword=keyword
    )


def keyword_config(subscribers: str) -> str:
    """One feed (the ``{feed_url}`` placeholder) and a ``kg`` list that watches only the
    keyword Bir Duino, for ``subscribers``."""
    return (
        "feeds:\n  - id: news\n    url: {feed_url}\n"
        "watchlists:\n  - id: kg\n    title: Kyrgyzstan defenders\n    keywords: [Bir Duino]\n"
        f"subscribers:\n{subscribers}"
    )
