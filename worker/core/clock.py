"""The one clock: every "now" in rightswatch comes from here or from a clock passed in.

Stages take the time as a value (``now``) or a ``Clock`` to call, so tests give
every part of a process the same fixed time instead of patching ``datetime``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware in UTC."""


def utcnow() -> datetime:
    return datetime.now(UTC)
