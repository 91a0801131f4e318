"""The one way CLI commands show progress on stderr: a bar on a terminal, plain lines else.

On a terminal (stderr is a TTY) each kind of work gets a rich progress bar; in a
pipe, a log or a CI job a plain line ``Polling feeds: 30/100`` at each tenth, with
no control characters. Work of at most :data:`SHOWN_FROM` steps shows nothing: it
is done before a bar helps. stdout is never touched, so the commands' summary
lines stay as scripts parse them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bars

from worker.core.progress import Progress

SHOWN_FROM: Final = 20
"""Show progress of work with more steps than this."""


@contextmanager
def shown() -> Iterator[Progress]:
    """A :data:`~worker.core.progress.Progress` drawn on stderr while the block runs."""
    if not sys.stderr.isatty():
        yield _lines()
        return
    bars = Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        # alerts of a console subscriber go to stdout: they must not be moved to stderr
        redirect_stdout=False,
        redirect_stderr=False,
    )
    tasks: dict[str, TaskID] = {}

    def draw(what: str, done: int, total: int) -> None:
        if total <= SHOWN_FROM:
            return
        if what not in tasks:
            tasks[what] = bars.add_task(what, total=total)
        bars.update(tasks[what], completed=done, total=total)

    with bars:
        yield draw


def _lines() -> Progress:
    shown_tenth: dict[str, int] = {}

    def line(what: str, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        if total > SHOWN_FROM and shown_tenth.get(what) != tenth:
            shown_tenth[what] = tenth
            click.echo(f"{what}: {done}/{total}", err=True)

    return line
