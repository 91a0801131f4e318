"""Writing one poll's entries, stories, matches and deliveries (the caller's transaction).

It reads what :mod:`worker.ingest.decide` and :mod:`worker.ingest.stories`
need, lets them decide, and writes the result. The keys stories are found by
are locked until commit, so feeds polled at the same moment still see each
other's copies. A subscriber who already has an alert (or digest item) for a
story and watch list gets no other one for it, unless the new copy matches a
term not yet sent to them for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from worker.core import dedup
from worker.core.types import Hit, NormalisedEntry, ParsedFeed, PollOutcome
from worker.db import entries, outbox, subscribers
from worker.ingest import decide, stories
from worker.ingest.policy import PollPolicy
from worker.matching import Matcher
from worker.security import crypto


def persist(
    session: Session,
    feed_id: str,
    parsed: ParsedFeed,
    matcher: Matcher,
    now: datetime,
    policy: PollPolicy,
) -> PollOutcome:
    """Store what is new or changed in ``parsed``; the ids of what fans out."""
    content_key = crypto.keyring().content_key
    items = decide.keyed(parsed, content_key)
    known_rows = entries.known_entries(
        session,
        feed_id,
        {k.identity_key for _, k in items},
        {k.link_key for _, k in items if k.link_key},
    )
    known = [dedup.KnownEntry(r[0], dedup.EntryKeys(r[1], r[2]), r[3]) for r in known_rows]
    story_of: dict[int, int] = {r[0]: r[4] or r[0] for r in known_rows}
    sorted_out = decide.sort_out(items, known)
    entries.update_entries(
        session,
        [_text_values(entry_id, entry, keys, now) for entry_id, (entry, keys) in sorted_out.changed]
        + [
            {"id": entry_id, "link_key": keys.link_key, "guid": entry.guid, "link": entry.link}
            for entry_id, (entry, keys) in sorted_out.relinked
        ],
    )
    fresh = [stories.Fresh(e, k, by_watchlist(matcher, e, feed_id)) for e, k in sorted_out.fresh]
    for f in fresh:
        if f.hits:
            f.compare_by_text(content_key)
    entry_ids = insert_with_stories(session, feed_id, fresh, now, policy)
    for f, entry_id in zip(fresh, entry_ids, strict=True):
        if entry_id is not None:
            story_of[entry_id] = f.story or entry_id
    targets = [
        (entry_id, hits)
        for entry_id, hits in [
            *zip(entry_ids, (f.hits for f in fresh), strict=True),
            *((i, by_watchlist(matcher, e, feed_id)) for i, (e, _) in sorted_out.changed),
        ]
        if entry_id is not None and hits
    ]
    inserted = sum(1 for i in entry_ids if i is not None)
    changed = len(sorted_out.changed)
    if not targets:
        return PollOutcome(feed_id, True, new_entries=inserted, changed_entries=changed)

    new_matches = entries.insert_matches(session, _match_rows(targets, now))
    earlier_stories = {story_of[r[0]] for r in known_rows} | {
        f.story for f in fresh if f.story is not None and f.twin is None
    }
    by_watchlist_subscribers = subscribers.subscribers_by_watchlist(
        session, {w for _, w, _ in new_matches}
    )
    delivery_ids: list[str] = []
    if by_watchlist_subscribers:  # else nobody to tell, and nothing to look up
        terms = {
            (entry_id, watchlist_id): {h.term for h in wl_hits}
            for entry_id, hits in targets
            for watchlist_id, wl_hits in hits.items()
        }
        stories_now = {story_of[entry_id] for _, _, entry_id in new_matches}
        skip = decide.already_told(
            new_matches,
            terms,
            story_of,
            entries.story_coverage(session, stories_now & earlier_stories),
            {w: [s.id for s in subs] for w, subs in by_watchlist_subscribers.items()},
        )
        delivery_ids = outbox.create_deliveries(
            session,
            [(m, w) for m, w, _ in new_matches],
            now,
            by_watchlist_subscribers,
            skip=skip,
            hold=policy.story_hold,
        )
    return PollOutcome(
        feed_id,
        polled=True,
        new_entries=inserted,
        changed_entries=changed,
        new_match_ids=tuple(m for m, _, _ in new_matches),
        new_match_watchlists=tuple(w for _, w, _ in new_matches),
        delivery_ids=tuple(delivery_ids),
    )


def by_watchlist(matcher: Matcher, entry: NormalisedEntry, feed_id: str) -> dict[str, list[Hit]]:
    """The entry's hits, grouped by watch list."""
    hits: dict[str, list[Hit]] = {}
    for hit in matcher.match(entry.document(feed_id)):
        hits.setdefault(hit.watchlist_id, []).append(hit)
    return hits


def insert_with_stories(
    session: Session, feed_id: str, fresh: list[stories.Fresh], now: datetime, policy: PollPolicy
) -> list[int | None]:
    """Insert the new entries with their stories; their ids in order (None: not inserted)."""
    if not fresh:
        return []
    find_stories(session, fresh, now - policy.story_window)
    # Inserted in keyed order, not the feed's: ids do not give away an item's place in it.
    order = sorted(fresh, key=lambda f: f.keys.identity_key) if crypto.keyring().enabled else fresh
    ids_by_key = dict(
        entries.insert_entries(
            session, [_entry_row(feed_id, f, now) for f in order if f.twin is None]
        )
    )
    twins = [f for f in order if f.twin is not None]
    for f in twins:
        f.story = ids_by_key.get(fresh[f.twin].keys.identity_key) if f.twin is not None else None
    if twins:
        ids_by_key.update(
            entries.insert_entries(session, [_entry_row(feed_id, f, now) for f in twins])
        )
    opened = [
        (ids_by_key[f.keys.identity_key], f)
        for f in fresh
        if f.story is None and f.signature and f.keys.identity_key in ids_by_key
    ]
    entries.insert_signatures(
        session,
        [
            {"story_id": i, "signature": dedup.pack_signature(f.signature), "created_at": now}
            for i, f in opened
        ],
        [
            {"key": band, "story_id": i, "created_at": now}
            for i, f in opened
            for band in dict.fromkeys(f.bands)
        ],
    )
    return [ids_by_key.get(f.keys.identity_key) for f in fresh]


def find_stories(session: Session, fresh: list[stories.Fresh], since: datetime) -> None:
    """Lock the keys the new entries' stories are found by, read the candidates stored
    since ``since`` (a bounded number per entry) and set each entry's story or twin."""
    link_keys = {f.keys.link_key for f in fresh if f.keys.link_key}
    band_keys = {band for f in fresh for band in f.bands}
    entries.lock_stories(session, link_keys, band_keys)
    candidates = stories.band_candidates(
        fresh, entries.stories_by_band(session, band_keys, since, dedup.BUCKET_LIMIT)
    )
    signatures = {
        story_id: dedup.positions(dedup.unpack_signature(blob))
        for story_id, blob in entries.story_signatures(session, set().union(*candidates)).items()
    }
    shortlists = stories.shortlist(fresh, candidates, signatures)
    texts = entries.entry_texts(session, {s for chosen in shortlists for s in chosen})
    stories.assign(fresh, entries.stories_by_link(session, link_keys, since), shortlists, texts)


def _entry_row(feed_id: str, f: stories.Fresh, now: datetime) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "identity_key": f.keys.identity_key,
        "identity": f.keys.identity,
        "link_key": f.keys.link_key,
        "guid": f.entry.guid,
        "link": f.entry.link,
        "title": f.entry.title,
        "summary": f.entry.summary,
        "content": f.entry.content,
        "language": f.entry.language,
        **_published(f.entry.published),
        "content_hash": f.entry.content_hash,
        "first_seen_at": now,
        "story_id": f.story,
    }


def _published(when: datetime | None) -> dict[str, Any]:
    """The publication time: plain without an encryption key, else only encrypted."""
    if when is None or not crypto.keyring().enabled:
        return {"published_at": when, "published": None}
    return {"published_at": None, "published": when.isoformat()}


def _text_values(
    entry_id: int, entry: NormalisedEntry, keys: dedup.EntryKeys, now: datetime
) -> dict[str, Any]:
    return {
        "id": entry_id,
        "guid": entry.guid,
        "link": entry.link,
        "link_key": keys.link_key,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "language": entry.language,
        **_published(entry.published),
        "content_hash": entry.content_hash,
        "updated_at": now,
    }


def _match_rows(
    targets: list[tuple[int, dict[str, list[Hit]]]], now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "entry_id": entry_id,
            "watchlist_id": watchlist_id,
            "hits": [_hit_json(h) for h in wl_hits],
            "terms": list(dict.fromkeys(h.term for h in wl_hits)),
            "snippet": wl_hits[0].snippet,
            "created_at": now,
        }
        for entry_id, hits in targets
        for watchlist_id, wl_hits in hits.items()
    ]


def _hit_json(h: Hit) -> dict[str, Any]:
    return {
        "kind": h.kind,
        "term": h.term,
        "text": h.text,
        "field": h.field,
        "start": h.start,
        "end": h.end,
        "variant": h.variant,
        "score": h.score,
        "snippet": h.snippet,
    }
