"""Small builders for matcher tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from worker.core.types import Document, Hit, NearSpec, PersonSpec, WatchlistSpec
from worker.matching import Matcher, compile_matcher

DATA = Path(__file__).resolve().parent.parent / "data" / "matching"


def person(name: str, *aliases: str, **options: Any) -> PersonSpec:
    return PersonSpec(id=name.lower().replace(" ", "-"), name=name, aliases=aliases, **options)


def watchlist(id: str = "wl", **options: Any) -> WatchlistSpec:
    return WatchlistSpec(id=id, title=id.upper(), **options)


def document(content: str = "", **fields: Any) -> Document:
    language = fields.pop("language", None)
    feed_id = fields.pop("feed_id", None)
    return Document(fields={"content": content, **fields}, language=language, feed_id=feed_id)


def hits_in(
    lists: Sequence[WatchlistSpec] | Matcher, content: str = "", **fields: Any
) -> list[Hit]:
    matcher = lists if isinstance(lists, Matcher) else compile_matcher(lists)
    return matcher.match(document(content, **fields))


def texts(hits: list[Hit]) -> list[str]:
    return [hit.text for hit in hits]


def corpus_watchlist() -> WatchlistSpec:
    """The labelled corpus's watch list, from tests/data/matching/watchlist.json."""
    raw = json.loads((DATA / "watchlist.json").read_text(encoding="utf-8"))
    people = tuple(
        PersonSpec(
            id=entry["id"],
            name=entry["name"],
            aliases=tuple(entry.get("aliases", ())),
            match_surname_alone=entry.get("match_surname_alone", False),
            exclude=tuple(entry.get("exclude", ())),
        )
        for entry in raw["people"]
    )
    return WatchlistSpec(
        id=raw["id"], title=raw["title"], people=people, keywords=tuple(raw["keywords"])
    )


def corpus_cases() -> list[dict[str, Any]]:
    lines = (DATA / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


__all__ = [
    "NearSpec",
    "corpus_cases",
    "corpus_watchlist",
    "document",
    "hits_in",
    "person",
    "texts",
    "watchlist",
]
