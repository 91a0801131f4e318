"""Placeholder matcher (replaced by the full engine): folded, whole-word phrase search."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from worker.types import Document, Hit, WatchlistSpec


def _fold(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c)
    )


class Matcher:
    def __init__(self, watchlists: Sequence[WatchlistSpec]) -> None:
        self._rules: list[tuple[WatchlistSpec, str, str, re.Pattern[str]]] = []
        for w in watchlists:
            for p in w.people:
                for name in (p.name, *p.aliases):
                    pattern = r"\s+".join(re.escape(_fold(t)) for t in name.split())
                    self._rules.append((w, "person", p.name, re.compile(rf"(?<!\w){pattern}(?!\w)")))
            for k in w.keywords:
                pattern = r"\s+".join(re.escape(_fold(t)) for t in k.split())
                self._rules.append((w, "keyword", k, re.compile(rf"(?<!\w){pattern}(?!\w)")))

    def match(self, doc: Document) -> list[Hit]:
        hits = []
        for w, kind, term, regex in self._rules:
            if w.feeds and doc.feed_id not in w.feeds:
                continue
            for field in w.fields:
                text = doc.fields.get(field, "")
                folded = _fold(text)
                if len(folded) != len(text):
                    continue
                for m in regex.finditer(folded):
                    s, e = m.span()
                    snippet = text[max(0, s - 50) : s] + "«" + text[s:e] + "»" + text[e : e + 50]
                    hits.append(Hit(w.id, kind, term, text[s:e], field, s, e, snippet, "exact"))  # type: ignore[arg-type]
        return hits


def compile_matcher(watchlists: Sequence[WatchlistSpec]) -> Matcher:
    return Matcher(watchlists)
