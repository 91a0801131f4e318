"""How far long work got, for whoever shows it (the CLI's bar: ``worker.commands.progress``).

Work that can take minutes (polling every feed, re-encrypting a database) takes a
:data:`Progress` and calls it after each step; the workers, the API and the tests
pass nothing and :func:`silent` is called instead.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int], None]
"""``progress(what, done, total)``: ``done`` of ``total`` steps of the work named ``what``
("Polling feeds") are finished."""


def silent(what: str, done: int, total: int) -> None:
    """Report nowhere."""
