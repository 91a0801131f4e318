"""Short excerpts around a hit, for alerts and the CLI."""

from __future__ import annotations

from typing import Final

SNIPPET_WIDTH: Final = 120
_MIN_CONTEXT: Final = 20


def make_snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About `width` characters around text[start:end], the hit marked «like this».

    The excerpt is cut at a space so that no word is chopped, whitespace runs
    are collapsed to one space, and an ellipsis marks each end that was cut.
    """
    context = max(width - (end - start), 2 * _MIN_CONTEXT) // 2
    left = start - context
    if left <= 0:
        left = 0
    else:
        space = text.find(" ", left, start)
        if space >= 0:
            left = space + 1
    right = end + context
    if right >= len(text):
        right = len(text)
    else:
        space = text.rfind(" ", end, right)
        if space >= 0:
            right = space
    before = " ".join(text[left:start].split())
    after = " ".join(text[end:right].split())
    if before and text[start - 1].isspace():
        before += " "
    if after and text[end].isspace():
        after = " " + after
    return "".join(
        (
            "…" if left else "",
            before,
            "«",
            " ".join(text[start:end].split()),
            "»",
            after,
            "…" if right < len(text) else "",
        )
    )
