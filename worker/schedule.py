"""When to poll a feed next. Pure arithmetic: time in, time out."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=24)
JITTER_FRACTION = 0.1


def spread(key: str) -> float:
    """A stable number in [0, 1) per feed, so feeds do not all fire at once."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2**32


def next_poll(
    now: datetime, interval: timedelta, consecutive_failures: int, feed_id: str
) -> datetime:
    """Next poll time: the interval (with a little jitter), doubled per failure up to a cap.

    A failing feed is never given up on: after the cap it is retried once a day.
    """
    if consecutive_failures > 0:
        delay = min(interval * (1 << min(consecutive_failures, 20)), MAX_BACKOFF)
        delay = max(delay, interval)
    else:
        delay = interval
    return now + delay + delay * JITTER_FRACTION * spread(feed_id)


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
