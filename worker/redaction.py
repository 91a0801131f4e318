"""Keep the names of the people watched, and the subscribers' addresses, out of the logs.

:mod:`worker.logs` already masks the shapes of secrets (e-mail addresses,
passwords in URLs, whsec_ secrets, bearer tokens). This filter adds what no
pattern can know: the configured defenders' names and aliases, the webhook
URLs and any other subscriber address, replaced by ``[redacted]`` wherever a
careless log line (ours or a library's) would print them. Logs leave the
machine (journald, a hosting provider's log service); the list of names must not.

The configured strings are not enough: a name in another script or case form
(``Толекан Исмаилову``) is found by the matcher, not by a list of spellings. So
the filter also runs the watch lists' matcher over every line and masks each
hit's span: whatever the matcher would alert on, the log does not show.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Protocol

from worker.config import Config, LoadedConfig, load_config
from worker.core.errors import ConfigError
from worker.core.types import Document
from worker.matching import Matcher, compile_matcher
from worker.settings import Settings


class Compiled(Protocol):
    """What a process's runtime offers redaction: the loaded YAML and its compiled matcher."""

    def config(self) -> LoadedConfig: ...

    def matcher(self) -> Matcher: ...


MASK = "[redacted]"
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s")


def sensitive_strings(config: Config) -> set[str]:
    """Every name, alias and subscriber or operator address of the configuration."""
    people = [person for watchlist in config.watchlists for person in watchlist.people]
    names = [person.name for person in people]
    found = {name for name in names if len(name) >= 3}
    found.update([alias for person in people for alias in person.aliases if len(alias) >= 3])
    found.update([part for name in names for part in name.split() if len(part) >= 4])
    for subscriber in (*config.subscribers, *config.operators):
        if subscriber.channel in ("email", "webhook", "apprise") and len(subscriber.address) >= 3:
            found.add(subscriber.address)
    return found


def redaction_matcher(config: Config) -> Matcher:
    """The watch lists' matcher, with every list applying to any line: no feed or
    language scope, no required or excluded terms, every field."""
    return compile_matcher(config.watchlist_specs()).unscoped()


class RedactionFilter(logging.Filter):
    """Replaces every configured sensitive string (case-insensitively), and every span the
    matcher finds, in a record."""

    def __init__(self, strings: Iterable[str], matcher: Matcher | None = None) -> None:
        """Single words are looked up in a set, token by token; with a matcher, names of
        several words are left to it (it finds them in any form). Only what remains
        (addresses, URLs) becomes a regular expression: an alternation of thousands
        of names costs seconds to compile and a tenth of a second per line.

        The strings are sorted in one pass, ``str.isalnum`` (``\\w`` but for ``_``) and a
        plain space before any regular expression: this runs before the prefork fork, on
        every name (with :func:`sensitive_strings`, 100,000 names: 0.2 s instead of 0.7)."""
        super().__init__()
        self._matcher = matcher
        self._words: set[str] = set()
        rest: set[str] = set()
        for s in strings:
            if s.isalnum() or ("_" in s and _WORD.fullmatch(s)):
                self._words.add(s.casefold())
            elif s and (matcher is None or (" " not in s and not _SPACE.search(s))):
                rest.add(s)
        ordered = sorted(rest, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in ordered), re.IGNORECASE) if ordered else None
        )

    def scrub(self, text: str) -> str:
        text = self._mask_hits(text)
        if self._words:
            text = _WORD.sub(
                lambda m: MASK if m.group().casefold() in self._words else m.group(), text
            )
        return self._pattern.sub(MASK, text) if self._pattern is not None else text

    def _mask_hits(self, text: str) -> str:
        if self._matcher is None or not text:
            return text
        text = unicodedata.normalize("NFC", text)  # the matcher's offsets are into NFC text
        merged: list[list[int]] = []
        for start, end in sorted(
            (h.start, h.end) for h in self._matcher.match(Document({"title": text}))
        ):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in reversed(merged):
            text = text[:start] + MASK + text[end:]
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None and self._matcher is None and not self._words:
            return True
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


def install(settings: Settings, runtime: Compiled | None = None) -> None:
    """Add the filter for the configuration's names to every root handler.

    With the process's ``runtime``, its configuration and compiled matcher are
    shared (for 100,000 names a second compile costs as long again as the first).
    A configuration that does not load is reported by the command itself; its
    names cannot be known here, and the pattern-based redaction still applies.
    """
    try:
        if runtime is None:
            config = load_config(settings.config_path, settings.environ).config
            matcher = redaction_matcher(config)
        else:
            config, matcher = runtime.config().config, runtime.matcher().unscoped()
    except (ConfigError, OSError):
        return
    redactor = RedactionFilter(sensitive_strings(config), matcher)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactionFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
