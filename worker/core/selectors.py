"""The selectors of a page without a feed: ``"CSS"`` or ``"CSS@attribute"`` (pure).

A selector picks elements; ``@attribute`` says to read that attribute of the
first element picked instead of its text (``a@href``, ``time@datetime``). CSS is
translated to XPath by cssselect once, when the configuration is read, so a
selector that cannot work is a configuration error with its line, not a feed
that silently finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from cssselect import HTMLTranslator, SelectorError

_ATTRIBUTE = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
_TRANSLATOR = HTMLTranslator()


@dataclass(frozen=True, slots=True)
class Pick:
    """What to read from an element: the text of ``css``'s first match, or its ``attribute``."""

    css: str
    attribute: str | None = None

    @classmethod
    def parse(cls, text: str) -> Pick:
        """``"td.date"`` or ``"a.case@href"``; ValueError naming what is wrong."""
        css, at, attribute = text.rpartition("@")
        if not at or not _ATTRIBUTE.match(attribute):
            css, attribute = text, ""  # an "@" inside the selector itself, e.g. a[href^="mailto:@"]
        css = css.strip()
        if not css:
            raise ValueError(f"{text!r}: no CSS selector before the @")
        xpath(css)
        return cls(css, attribute or None)

    def __str__(self) -> str:
        return f"{self.css}@{self.attribute}" if self.attribute else self.css


@lru_cache(maxsize=512)
def xpath(css: str) -> str:
    """The XPath of a CSS selector, relative to the element it is applied to."""
    try:
        return _TRANSLATOR.css_to_xpath(css)
    except SelectorError as e:
        raise ValueError(f"invalid CSS selector {css!r}: {e}") from e
