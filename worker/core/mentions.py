"""Mentions per day for the desk's chart: dates bucketed into daily counts, counts scaled
to bars. Pure, so the chart's arithmetic is tested without a browser or a database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

DAYS = 90
BAR_WIDTH = 5
"""Pixels per day (4 of bar, 1 of gap): 90 days fit in 450 pixels."""
HEIGHT = 80
"""Pixels of the tallest bar."""


@dataclass(frozen=True, slots=True)
class Bar:
    day: date
    count: int
    x: int
    y: int
    height: int


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    total: int
    peak: Bar | None
    """The day with the most mentions (the latest of equals), or None without any."""
    sources: list[tuple[str, int]]
    """Each source that carried mentions, with how many, most first."""

    @property
    def first(self) -> date:
        return self.bars[0].day

    @property
    def last(self) -> date:
        return self.bars[-1].day


def daily_counts(times: Iterable[datetime], today: date, days: int = DAYS) -> list[int]:
    """Mentions on each of the ``days`` UTC days ending with ``today`` (oldest first);
    times outside the window are left out."""
    first = today - timedelta(days=days - 1)
    counts = [0] * days
    for at in times:
        offset = (at.astimezone(UTC).date() - first).days
        if 0 <= offset < days:
            counts[offset] += 1
    return counts


def bars(counts: list[int], today: date, height: int = HEIGHT) -> list[Bar]:
    """One bar per day, scaled so the busiest day is ``height`` pixels tall; a day with
    any mention is at least one pixel, so a single mention still shows."""
    tallest = max(counts, default=0)
    first = today - timedelta(days=len(counts) - 1)
    out = []
    for i, count in enumerate(counts):
        size = 0 if not count else max(1, round(count * height / tallest))
        out.append(Bar(first + timedelta(days=i), count, i * BAR_WIDTH, height - size, size))
    return out


def chart(mentions: Iterable[tuple[datetime, str]], today: date, days: int = DAYS) -> Chart:
    """The chart of (time, source) mentions over the ``days`` ending with ``today``."""
    first = today - timedelta(days=days - 1)
    inside = [
        (at, source) for at, source in mentions if first <= at.astimezone(UTC).date() <= today
    ]
    drawn = bars(daily_counts((at for at, _ in inside), today, days), today)
    busiest = max(drawn, key=lambda b: (b.count, b.day))
    sources = Counter(source for _, source in inside)
    return Chart(
        bars=drawn,
        total=len(inside),
        peak=busiest if busiest.count else None,
        sources=sorted(sources.items(), key=lambda s: (-s[1], s[0])),
    )
