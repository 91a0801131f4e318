"""What a poll's items mean, decided from values alone (reader's ``Decider`` pattern).

Given the parsed feed and what storage already knows, these functions say which
items are new, which changed their text, which only changed their GUID or link,
and which subscribers were already told about a story. They take no session and
do no I/O, so every rule is tested with plain values; :mod:`worker.ingest.persist`
reads the facts they need and writes what they decide.

Identity within a feed: an item is the entry it was before if it has the same
identity (GUID, else canonical link, else text hash), else the same canonical
link (its GUID changed). An entry whose text changes keeps its identity and is
matched again: only a watch list it did not match before makes a new alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from worker.core import dedup
from worker.core.types import NormalisedEntry, ParsedFeed
from worker.ingest.normalise import normalise_entry

Keyed = tuple[NormalisedEntry, dedup.EntryKeys]


def keyed(parsed: ParsedFeed, key: bytes | None = None) -> list[Keyed]:
    """Normalise and key every item; GUIDs and links shared by several items are not keys.

    ``key``: the keyring's content key (the keys are then HMACs).
    """
    entries = [normalise_entry(p, parsed.language) for p in parsed.entries]
    canonical = [dedup.canonical_link(e.link) if e.link else None for e in entries]
    shared_guids = dedup.repeated(e.guid.strip() if e.guid else None for e in entries)
    shared_links = dedup.repeated(canonical)
    by_identity: dict[str, Keyed] = {}
    for entry, link in zip(entries, canonical, strict=True):
        guid = entry.guid if entry.guid and entry.guid.strip() not in shared_guids else None
        usable = link if link and link not in shared_links else None
        identity = dedup.entry_identity(guid, entry.link if usable else None, entry.content_hash)
        link_key = dedup.canonical_link_key(usable, key) if usable else None
        keys = dedup.EntryKeys(dedup.identity_key(identity, key), link_key, identity)
        if key is not None:  # the stored content hash is a look-up key of the text too
            entry = replace(entry, content_hash=dedup.lookup_hash(entry.content_hash, key))
        by_identity.setdefault(keys.identity_key, (entry, keys))
    return list(by_identity.values())


@dataclass(frozen=True, slots=True)
class Sorted:
    """A poll's items against what storage knows."""

    fresh: list[Keyed] = field(default_factory=list)
    """Items never seen in this feed."""
    changed: list[tuple[int, Keyed]] = field(default_factory=list)
    """(entry id, item) of known entries whose text changed: matched again."""
    relinked: list[tuple[int, Keyed]] = field(default_factory=list)
    """(entry id, item) of known entries whose GUID or link changed, text the same."""


def sort_out(items: Sequence[Keyed], known: Sequence[dedup.KnownEntry]) -> Sorted:
    """Which items are new, changed or only re-keyed (``known``: the feed's stored entries
    found by the items' identity or link keys)."""
    result = Sorted()
    found = dedup.resolve([keys for _, keys in items], known)
    for (entry, keys), old in zip(items, found, strict=True):
        if old is None:
            result.fresh.append((entry, keys))
        elif old.content_hash == dedup.UNKNOWN_TEXT:
            continue  # emptied by retention, then re-keyed: known, and nothing to compare
        elif old.content_hash != entry.content_hash:
            result.changed.append((old.id, (entry, keys)))
        elif old.keys != keys:
            result.relinked.append((old.id, (entry, keys)))
    return result


NewMatch = tuple[int, str, int]
"""(match id, watch list id, entry id) of a match this poll created."""


def already_told(
    new_matches: Sequence[NewMatch],
    terms: Mapping[tuple[int, str], set[str]],
    story_of: Mapping[int, int],
    coverage: Iterable[tuple[int, str, str, Sequence[Any]]],
    subscriber_ids: Mapping[str, Sequence[str]],
) -> set[tuple[int, str]]:
    """(match, subscriber) pairs to skip: the subscriber already has this story's terms.

    ``coverage``: (story, subscriber, watch list, terms) of the alerts and digest
    items already made for the stories opened before this poll; copies within
    this poll are caught as their matches are walked through in order.
    ``subscriber_ids``: the active subscribers of each watch list.
    """
    covered: dict[tuple[int, str, str], set[str]] = {}
    for story, subscriber_id, watchlist, earlier in coverage:
        covered.setdefault((story, subscriber_id, watchlist), set()).update(earlier)
    skip: set[tuple[int, str]] = set()
    for match_id, watchlist_id, entry_id in sorted(new_matches, key=lambda m: m[0]):
        story_id = story_of[entry_id]
        matched = terms[(entry_id, watchlist_id)]
        for subscriber_id in subscriber_ids.get(watchlist_id, ()):
            told = covered.setdefault((story_id, subscriber_id, watchlist_id), set())
            if told and matched <= told:
                skip.add((match_id, subscriber_id))
            else:
                told |= matched
    return skip
