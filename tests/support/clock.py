"""A clock the test moves by hand, handed to a Runtime or the API in the test's process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The service's idea of now; tests move it instead of sleeping.

    It starts at the real time (rounded to the second) unless told otherwise, so rows it
    stamps age relative to the wall clock that subprocesses of the same test see.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def catch_up(self) -> None:
        """Move to just past the wall clock's now, after a subprocess of the test (which runs
        on the real clock) has stamped rows with it; never backwards."""
        self.now = max(self.now, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
