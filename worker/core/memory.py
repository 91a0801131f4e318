"""Pausing the cyclic garbage collector while a large, acyclic structure is built."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Keep the cyclic collector off for the block, and restore it after.

    Parsing a 100,000-name YAML or compiling its matcher creates millions of small
    objects and no cycles; the collector would rescan the growing heap again and
    again (half the parse's CPU, twice the compile's, measured). With ``freeze``,
    what the block built is moved out of the collector's reach on the way out, in
    constant time, instead of being rescanned by later collections (and, in a
    prefork parent, so the collector never writes to pages shared with children).
    Nested blocks leave it to the outermost, which finds the collector on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze:
                gc.freeze()
            gc.enable()
