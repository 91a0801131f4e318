"""Digest periods and story grouping. Pure: time and values in, time and values out.

A digest subscriber's matches are collected per period; the period ends (and
the digest goes out) at the subscriber's local ``deliver_at``. Periods are
half-open, ``[start, end)``, and each one starts where the previous one ended,
so every instant belongs to exactly one period.

Local times that do not exist (the hour skipped when clocks go forward) are
taken with the offset in force before the change, so ``02:30`` on that day
means 03:30 summer time; local times that happen twice (clocks go back) mean
the first of the two. Either way there is exactly one digest per day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.core.dedup import canonical_link
from worker.core.types import Alert

Frequency = Literal["immediate", "hourly", "daily", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = ("immediate", "hourly", "daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DELIVER_AT = re.compile(r"^\s*(?:([a-z]{3})[a-z]*\s+)?(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeliverAt:
    """Local wall-clock time a digest goes out (weekday only matters for weekly)."""

    hour: int
    minute: int
    weekday: int = 0
    """0 = Monday … 6 = Sunday."""


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    """UTC, inclusive."""
    end: datetime
    """UTC, exclusive: when the digest is sent."""


def parse_deliver_at(text: str) -> DeliverAt:
    """``"08:00"``, or ``"mon 08:00"`` / ``"Monday 08:00"`` for weekly digests."""
    m = _DELIVER_AT.match(text)
    if not m:
        raise ValueError(f"invalid deliver_at {text!r}: expected HH:MM or 'mon HH:MM'")
    day, hour, minute = m.group(1), int(m.group(2)), int(m.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"invalid deliver_at {text!r}: no such time of day")
    weekday = 0
    if day is not None:
        if day.lower() not in WEEKDAYS:
            raise ValueError(f"invalid deliver_at {text!r}: unknown weekday {day!r}")
        weekday = WEEKDAYS.index(day.lower())
    return DeliverAt(hour, minute, weekday)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone, or ValueError with a readable message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from e


def _at(day: date, at: DeliverAt, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(at.hour, at.minute), tzinfo=tz).astimezone(UTC)


def digest_period(now: datetime, frequency: Frequency, at: DeliverAt, tz: ZoneInfo) -> Period:
    """The period that ``now`` falls in; its end is the first send time after ``now``."""
    if frequency == "hourly":
        return _hourly(now, at, tz)
    today = now.astimezone(tz).date()
    if frequency == "daily":
        day = today if _at(today, at, tz) > now else today + timedelta(days=1)
        return Period(_at(day - timedelta(days=1), at, tz), _at(day, at, tz))
    if frequency == "weekly":
        day = today + timedelta(days=(at.weekday - today.weekday()) % 7)
        if _at(day, at, tz) <= now:
            day += timedelta(days=7)
        return Period(_at(day - timedelta(days=7), at, tz), _at(day, at, tz))
    raise ValueError(f"{frequency!r} is not a digest frequency")


def _hourly(now: datetime, at: DeliverAt, tz: ZoneInfo) -> Period:
    """Every hour at ``at.minute`` of the zone's standard time.

    Standard time, not the offset in force: a 30-minute summer-time shift
    (Lord Howe Island) would otherwise make two periods overlap.
    """
    local = now.astimezone(tz)
    offset = (local.utcoffset() or timedelta(0)) - (local.dst() or timedelta(0))
    utc_minute = (at.minute - int(offset.total_seconds() // 60)) % 60
    base = now.astimezone(UTC).replace(minute=utc_minute, second=0, microsecond=0)
    end = base if base > now else base + timedelta(hours=1)
    return Period(end - timedelta(hours=1), end)


def story_keys(alert: Alert) -> tuple[str, ...]:
    """Keys under which two feeds' entries count as the same story."""
    keys = []
    if alert.entry_link:
        keys.append("link:" + canonical_link(alert.entry_link))
    title = " ".join(alert.entry_title.casefold().split())
    if len(title) >= 20:
        keys.append("title:" + title)
    return tuple(keys)


def group_stories(alerts: Iterable[Alert]) -> tuple[Alert, ...]:
    """One alert per story and watch list, in first-seen order.

    An entry whose canonical link or (long enough) title was already seen in
    the same watch list is folded into the first one: its feed is added to
    ``also_reported_by`` and its terms are merged.
    """
    kept: list[Alert] = []
    index: dict[tuple[str, str], int] = {}
    for alert in alerts:
        keys = [(alert.watchlist_id, k) for k in story_keys(alert)]
        position = next((index[k] for k in keys if k in index), None)
        if position is None:
            position = len(kept)
            kept.append(alert)
        else:
            first = kept[position]
            others = [*first.also_reported_by, *alert.also_reported_by]
            if alert.feed_title != first.feed_title:
                others.append(alert.feed_title)
            terms = {(t.term, t.text): t for t in (*first.terms, *alert.terms)}
            kept[position] = replace(
                first,
                also_reported_by=tuple(dict.fromkeys(o for o in others if o != first.feed_title)),
                terms=tuple(terms.values()),
            )
        for key in keys:
            index.setdefault(key, position)
    return tuple(sorted(kept, key=lambda a: (a.watchlist_title.casefold(), a.matched_at)))


def period_name(period: Period) -> str:
    """hourly, daily or weekly, from the period's length (a DST day is 23 or 25 hours)."""
    hours = (period.end - period.start).total_seconds() / 3600
    if hours <= 2:
        return "hourly"
    return "daily" if hours <= 26 else "weekly"
