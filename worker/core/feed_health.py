"""Feed health: ok, failing, stale or gone; and when the operators are told.

Pure: a feed's recorded state and the time in, a status and an operator event
out. An *episode* starts when a feed becomes worth telling someone about
(failing for ``failure_alert_after`` polls in a row, stale, or gone) and ends
when it is healthy again: the operators hear once when it starts, once more if
the server says the feed is gone meanwhile, and once when it recovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Status = Literal["new", "ok", "failing", "stale", "gone"]
Event = Literal["failing", "stale", "gone", "recovered"]

STALE_DEFAULT = timedelta(days=14)
STALE_RHYTHMS = 10
"""Without a configured ``stale_after``, a feed is stale after this many of its usual gaps…"""
STALE_MIN = timedelta(days=3)
STALE_MAX = timedelta(days=30)
"""…but never sooner than STALE_MIN nor later than STALE_MAX."""


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the database knows about a feed's recent polls."""

    created_at: datetime
    last_polled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    gone_since: datetime | None
    healthy_since: datetime | None
    """Start of the current run of successful polls."""
    last_new_entry_at: datetime | None
    publish_interval: timedelta | None


@dataclass(frozen=True, slots=True)
class Health:
    status: Status
    since: datetime | None
    stale_after: timedelta


def stale_after(configured: timedelta | None, published_every: timedelta | None) -> timedelta:
    """How long without a new entry is longer than expected for this feed."""
    if configured is not None:
        return configured
    if published_every is None:
        return STALE_DEFAULT
    return min(max(published_every * STALE_RHYTHMS, STALE_MIN), STALE_MAX)


def assess(state: FeedState, now: datetime, configured_stale_after: timedelta | None) -> Health:
    """The feed's status now; ``since`` is when it began."""
    limit = stale_after(configured_stale_after, state.publish_interval)
    if state.gone_since is not None:
        return Health("gone", state.gone_since, limit)
    if state.consecutive_failures > 0:
        return Health("failing", state.failing_since, limit)
    if state.last_polled_at is None:
        return Health("new", None, limit)
    quiet_since = max(
        d for d in (state.created_at, state.last_new_entry_at, state.healthy_since) if d
    )
    if now - quiet_since > limit:
        return Health("stale", quiet_since + limit, limit)
    return Health("ok", state.healthy_since, limit)


def operator_event(
    health: Health, consecutive_failures: int, failure_alert_after: int, alerted: str | None
) -> Event | None:
    """What to tell the operators now, given what they were last told (``alerted``)."""
    worth_telling = health.status in ("gone", "stale") or (
        health.status == "failing" and consecutive_failures >= failure_alert_after
    )
    if health.status == "gone" and alerted != "gone":
        return "gone"
    if worth_telling and alerted is None:
        return health.status  # type: ignore[return-value]
    if health.status == "ok" and alerted is not None:
        return "recovered"
    return None


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} hours"


def describe(health: Health, state: FeedState) -> str:
    """One line for ``rightswatch feeds``."""
    if health.status == "gone":
        return f"gone since {_when(health.since)}"
    if health.status == "failing":
        n = state.consecutive_failures
        return f"failing since {_when(health.since)} ({n} failure{'s' if n != 1 else ''})"
    if health.status == "stale":
        return (
            f"stale: no new entry since {_when(state.last_new_entry_at)} "
            f"(expected within {_days(health.stale_after)})"
        )
    if health.status == "new":
        return "not polled yet"
    return "ok"


@dataclass(frozen=True, slots=True)
class FeedFacts:
    """What an operator message says about the feed."""

    feed_id: str
    title: str | None
    url: str
    last_error: str | None
    last_success_at: datetime | None
    next_poll_at: datetime | None


def message(event: Event, health: Health, state: FeedState, facts: FeedFacts) -> tuple[str, str]:
    """Subject and plain-text body of an operator alert."""
    name = facts.feed_id if not facts.title else f"{facts.feed_id} ({facts.title})"
    headline = {
        "failing": f"feed {facts.feed_id} is failing",
        "stale": f"feed {facts.feed_id} has gone quiet",
        "gone": f"feed {facts.feed_id} is gone (HTTP 410)",
        "recovered": f"feed {facts.feed_id} has recovered",
    }[event]
    lines = [
        f"Feed: {name}",
        f"URL: {facts.url}",
        f"Status: {describe(health, state)}",
    ]
    if event != "recovered" and facts.last_error:
        lines.append(f"Last error: {facts.last_error}")
    lines.append(f"Last successful poll: {_when(facts.last_success_at)}")
    lines.append(f"Next poll: {_when(facts.next_poll_at)}")
    advice = {
        "failing": "rightswatch keeps retrying with growing pauses (at most a day apart). Check "
        "the URL in a browser; if the site moved, update the feed's url in the config.",
        "stale": "The feed answers but has published nothing new for longer than usual. Check "
        "that it is still the organisation's current feed.",
        "gone": "The server says the feed was removed for good. rightswatch still tries once a "
        "day; find the organisation's new feed and update the config, or disable this one.",
        "recovered": "The feed is read normally again. You will hear again if it breaks.",
    }[event]
    lines += ["", advice, ""]
    return f"[rightswatch] {headline}", "\n".join(lines)
