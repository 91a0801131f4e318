"""Keep the names of the people watched, and the subscribers' addresses, out of the logs.

:mod:`worker.logs` already masks the shapes of secrets (e-mail addresses,
passwords in URLs, whsec_ secrets, bearer tokens). This filter adds what no
pattern can know: the configured defenders' names and aliases, the webhook
URLs and any other subscriber address, replaced by ``[redacted]`` wherever a
careless log line (ours or a library's) would print them. Logs leave the
machine (journald, a hosting provider's log service); the list of names must not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cached_property

from worker.config import Config, load_config
from worker.core.errors import ConfigError
from worker.settings import Settings

MASK = "[redacted]"


def sensitive_strings(config: Config) -> set[str]:
    """Every name, alias and subscriber or operator address of the configuration."""
    found: set[str] = set()
    for watchlist in config.watchlists:
        for person in watchlist.people:
            found.add(person.name)
            found.update(person.aliases)
            found.update(part for part in person.name.split() if len(part) >= 4)
    for subscriber in (*config.subscribers, *config.operators):
        if subscriber.channel in ("email", "webhook", "apprise"):
            found.add(subscriber.address)
    return {s for s in found if len(s) >= 3}


class RedactionFilter(logging.Filter):
    """Replaces every configured sensitive string (case-insensitively) in a record."""

    def __init__(self, strings: Iterable[str]) -> None:
        super().__init__()
        self._strings = sorted({s for s in strings if s}, key=len, reverse=True)

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """Compiled at the first record, not at start-up: for 10,000 names it takes seconds,
        and a quiet ``run --once`` never logs a line."""
        if not self._strings:
            return None
        return re.compile("|".join(re.escape(s) for s in self._strings), re.IGNORECASE)

    def scrub(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def install(settings: Settings) -> None:
    """Add the filter for the configuration's names to every root handler.

    A configuration that does not load is reported by the command itself; its
    names cannot be known here, and the pattern-based redaction still applies.
    """
    try:
        config = load_config(settings.config_path, settings.environ).config
    except (ConfigError, OSError):
        return
    redactor = RedactionFilter(sensitive_strings(config))
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactionFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
