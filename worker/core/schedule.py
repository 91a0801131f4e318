"""When to poll a feed next. Pure arithmetic: time in, time out.

The configured interval is a latency promise: a healthy feed is polled at
least that often, however quiet it is (an NGO's weekly urgent appeal is exactly
the entry that matters). Adaptive polling only goes faster: a feed that
publishes more often than its interval is polled at the geometric mean of the
two, never below ``min_poll_interval``. Only the server may push a poll later:
its TTL or Cache-Control/Expires is honoured up to ``max_poll_interval``. A
failing feed backs off exponentially up to a cap and is never given up on; a
Retry-After is honoured up to that cap. Every feed gets a stable offset of up
to 10 % so feeds do not all fire at once: earlier than its interval (the
promise holds), later than a server's hint (the hint holds).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=24)
BATCH_SPREAD = 16
BATCH_LARGEST = 10
JITTER_FRACTION = 0.1
_RECENT_ENTRIES = 20


def spread(key: str) -> float:
    """A stable number in [0, 1) per feed, so feeds do not all fire at once."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2**32


def publish_interval(published: Iterable[datetime | None], now: datetime) -> timedelta | None:
    """Average gap between the feed's recent entries, from their dates (None if unknown).

    Dates in the future or repeated are ignored; fewer than three distinct
    dates say nothing about a rhythm.
    """
    dates = sorted({d for d in published if d is not None and d <= now + timedelta(days=1)})
    recent = dates[-_RECENT_ENTRIES:]
    if len(recent) < 3:
        return None
    return (recent[-1] - recent[0]) / (len(recent) - 1)


def adapted_interval(
    interval: timedelta,
    bounds: tuple[timedelta, timedelta],
    published_every: timedelta | None = None,
) -> timedelta:
    """A healthy feed's interval: ``interval``, or less for a feed that publishes more often.

    ``bounds`` are (min_poll_interval, max_poll_interval): a busy feed is never polled
    more often than the first (nor than ``interval`` itself asks), and the second, when
    shorter, tightens the ceiling.
    """
    ceiling = min(interval, bounds[1])
    delay = ceiling
    if published_every is not None and published_every < interval:
        seconds = math.sqrt(interval.total_seconds() * published_every.total_seconds())
        delay = max(timedelta(seconds=seconds), min(bounds[0], interval))
    return min(delay, ceiling)


def server_wait(hint: timedelta | None, max_poll_interval: timedelta) -> timedelta | None:
    """How long the server asked us to wait (TTL, Cache-Control, Expires), capped at
    ``max_poll_interval``: the only thing that may poll a healthy feed later than its
    interval."""
    return None if hint is None else min(hint, max_poll_interval)


def next_poll(
    now: datetime,
    interval: timedelta,
    consecutive_failures: int,
    feed_id: str,
    *,
    max_backoff: timedelta = MAX_BACKOFF,
    retry_after: timedelta | None = None,
    not_before: timedelta | None = None,
) -> datetime:
    """Next poll time: the interval, doubled per failure after the first, up to a cap, with a
    little jitter.

    ``interval`` is the healthy interval (see :func:`adapted_interval`): a healthy feed
    is polled up to 10 % sooner, never later, unless the server asked to wait
    ``not_before`` (:func:`server_wait`), which is then honoured (up to 10 % later). A
    failing feed is retried at its interval after one failure (a DNS blip or one 502 must
    not cost a quiet feed an hour of latency), then twice, four times … as long; it is
    never given up on: after the cap it is retried once per ``max_backoff``; a server's
    Retry-After moves the next try later, up to it.
    """
    jitter = JITTER_FRACTION * spread(feed_id)
    if consecutive_failures > 0:
        delay = min(interval * (1 << min(consecutive_failures - 1, 20)), max_backoff)
        if retry_after is not None:
            delay = max(delay, min(retry_after, max_backoff))
        return now + delay + delay * jitter
    delay = interval - interval * jitter
    if not_before is not None:
        delay = max(delay, not_before + not_before * jitter)
    return now + delay


DELIVERY_BASE_DELAY = timedelta(seconds=30)
DELIVERY_MAX_DELAY = timedelta(hours=6)
DELIVERY_MIN_DELAY = timedelta(seconds=5)


def delivery_retry_at(
    now: datetime, attempts: int, random_fraction: float, retry_after: float | None = None
) -> datetime:
    """Exponential backoff with full jitter, capped; a receiver's Retry-After is honoured.

    ``random_fraction`` in [0, 1) comes from the caller so this stays pure.
    """
    ceiling = min(DELIVERY_BASE_DELAY * (1 << max(0, min(attempts - 1, 30))), DELIVERY_MAX_DELAY)
    delay = max(ceiling * random_fraction, DELIVERY_MIN_DELAY)
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), DELIVERY_MAX_DELAY))
    return now + delay


def interleave(items: Sequence[tuple[str, str]]) -> list[str]:
    """``(id, group)`` pairs as ids in round-robin order of their groups, each group's own
    order kept: due feeds ordered so that polls in a row go to different hosts, and a
    worker seldom waits out one host's politeness delay while other hosts are free."""
    groups: dict[str, list[str]] = {}
    for item, group in items:
        groups.setdefault(group, []).append(item)
    rounds = itertools.zip_longest(*groups.values())
    return [item for round_ in rounds for item in round_ if item is not None]


def poll_batches(
    feed_ids: Sequence[str], spread_over: int = BATCH_SPREAD, largest: int = BATCH_LARGEST
) -> list[list[str]]:
    """Due feeds in groups of one poll task each.

    A task costs the broker and the worker about as much as a feed that has not
    changed (304), so many due feeds go several to a task, up to ``largest``;
    but over at least ``spread_over`` tasks when there are that many feeds, so
    every worker process gets a share. A few due feeds get a task each.
    """
    size = max(1, min(largest, math.ceil(len(feed_ids) / spread_over)))
    return [list(feed_ids[i : i + size]) for i in range(0, len(feed_ids), size)]
