"""HTTP header values that say when to come back: pure parsing, shared by fetch and notify.

A feed server and a webhook receiver both say "later" the same ways
(``Retry-After`` as seconds or as an HTTP date, ``Cache-Control: max-age``,
``Expires``); reading them in one place keeps the two from drifting.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

_MAX_AGE = re.compile(r"(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


def http_date(value: str | None) -> datetime | None:
    """An HTTP date as an aware datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date measured from ``now``."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = http_date(value)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def fresh_for_seconds(
    cache_control: str | None, expires: str | None, now: datetime
) -> float | None:
    """How long a body stays fresh: max-age, else Expires minus ``now``; None if not said."""
    cache_control = cache_control or ""
    if _NO_CACHE.search(cache_control):
        return None
    if m := _MAX_AGE.search(cache_control):
        return float(m.group(1))
    until = http_date(expires)
    if until is None:
        return None
    return max(0.0, (until - now).total_seconds())
