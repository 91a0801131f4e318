"""Waiting for what another process or thread does, without fixed sleeps."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Poll ``condition`` until it returns something truthy or ``timeout`` seconds pass.

    Returns that value (or the last, falsy one), so ``assert wait_for(...)`` reads naturally.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    return condition()
