"""One feed end to end: fetch, parse, normalise, dedup, match, persist, assess health.

This calls the effectful edges (fetcher, database) and the pure core (parse,
normalise, dedup, match, schedule, health). It commits its own transaction and
returns the ids of what it created, so the caller (a Celery task or the
embedded loop) enqueues deliveries and operator alerts only after the commit.

Identity within a feed: an item is the entry it was before if it has the same
identity (GUID, else canonical link, else text hash), else the same canonical
link (its GUID changed). An entry whose text changes keeps its identity and is
matched again: only a watch list it did not match before makes a new alert.

Stories across feeds: a story is named by its first entry. A new entry joins
the story of an entry seen within the story window with the same canonical
link, or (if it matches a watch list, so could alert) near-identical text; else
it opens one. The keys stories are found by are locked until commit, so feeds
polled at the same moment still see each other's copies. A subscriber who
already has an alert (or digest item) for a story and watch list gets no other
one for it, unless the new copy matches a term not yet sent to them for it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from worker import metrics
from worker.config import Config, OperatorConfig
from worker.core import dedup
from worker.core.errors import FetchError, HostBusyError, ParseError, StoreError
from worker.core.feed_health import FeedFacts, FeedState, assess, message, operator_event
from worker.core.schedule import adapted_interval, next_poll, publish_interval, spread
from worker.core.types import Entry as NormalisedEntry
from worker.core.types import FetchResult, Hit, ParsedFeed
from worker.db import repo
from worker.db.models import Entry, Feed, Match, StorySketch, Subscriber
from worker.ingest.fetch import Fetcher, FetchLimits
from worker.ingest.normalise import normalise_entry
from worker.ingest.parse import parse_feed
from worker.matching import Matcher
from worker.outbox import operator_alerts as operators

log = logging.getLogger(__name__)

SessionMaker = Callable[[], Session]
DEFER_DELAY = timedelta(seconds=30)
"""A poll whose host is busy is tried again after 30 to 60 seconds (not a failure)."""


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How one feed is polled: the config's ``defaults`` and the feed's own keys."""

    min_poll_interval: timedelta = timedelta(minutes=5)
    max_poll_interval: timedelta = timedelta(hours=6)
    max_backoff: timedelta = timedelta(hours=24)
    stale_after: timedelta | None = None
    failure_alert_after: int = 5
    limits: FetchLimits = field(default_factory=FetchLimits)
    story_window: timedelta = timedelta(days=7)
    story_hold: timedelta = timedelta(0)
    operators: tuple[OperatorConfig, ...] = ()

    @classmethod
    def from_config(cls, config: Config, feed_id: str) -> PollPolicy:
        defaults = config.defaults
        feed = next((f for f in config.feeds if f.id == feed_id), None)
        return cls(
            min_poll_interval=(feed and feed.min_poll_interval) or defaults.min_poll_interval,
            max_poll_interval=(feed and feed.max_poll_interval) or defaults.max_poll_interval,
            max_backoff=defaults.max_backoff,
            stale_after=(feed and feed.stale_after) or defaults.stale_after,
            failure_alert_after=defaults.failure_alert_after,
            limits=FetchLimits(
                max_redirects=defaults.max_redirects,
                host_concurrency=defaults.host_concurrency,
                host_delay=defaults.host_delay.total_seconds(),
                proxy=config.proxy(feed) if feed else config.fetch.proxy,
                circuit=feed_id,
                user_agent=config.user_agent(feed) if feed else config.fetch.user_agent,
            ),
            story_window=defaults.story_window,
            story_hold=defaults.story_hold,
            operators=config.operators,
        )


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_id: str
    polled: bool
    """False when the poll was skipped (another worker has it, already done, host busy)."""
    error: str | None = None
    new_entries: int = 0
    changed_entries: int = 0
    new_match_ids: tuple[int, ...] = ()
    new_match_watchlists: tuple[str, ...] = ()
    """The watch list of each new match (for the metrics, without asking the database)."""
    delivery_ids: tuple[str, ...] = ()
    operator_alert_ids: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error is not None


def poll_feed(
    sessions: SessionMaker,
    feed_id: str,
    *,
    fetcher: Fetcher,
    matcher: Matcher,
    now: datetime,
    not_before: datetime | None = None,
    policy: PollPolicy | None = None,
) -> PollOutcome:
    """Fetch, parse, normalise, match and persist one feed in one transaction.

    ``not_before``: skip if the feed was already polled at or after this time
    (a duplicate task after a redelivery). Nothing a server sends makes this
    raise: every failure is recorded on the feed and returned as ``error``.
    Only a lost database connection raises (OperationalError: the task retries).
    """
    policy = policy or PollPolicy()
    try:
        return _poll_once(sessions, feed_id, fetcher, matcher, now, not_before, policy)
    except OperationalError:
        raise
    except Exception as e:  # nothing stored: say so on the feed, and back off
        log.exception("feed %s: unexpected error while storing its entries", feed_id)
        with sessions() as session, session.begin():
            feed = repo.lock_feed(session, feed_id)
            if feed is None:
                return PollOutcome(feed_id, polled=False)
            return _failed(session, feed, StoreError(f"unexpected error: {e!r}"), now, policy)


def _poll_once(
    sessions: SessionMaker,
    feed_id: str,
    fetcher: Fetcher,
    matcher: Matcher,
    now: datetime,
    not_before: datetime | None,
    policy: PollPolicy,
) -> PollOutcome:
    with sessions() as session, session.begin():
        feed = repo.lock_feed(session, feed_id)
        if feed is None or not feed.active:
            return PollOutcome(feed_id, polled=False)
        if not_before is not None and feed.last_polled_at and feed.last_polled_at >= not_before:
            return PollOutcome(feed_id, polled=False)
        try:
            result = metrics.timed_fetch(
                fetcher,
                feed.redirected_url or feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                limits=policy.limits,
            )
        except HostBusyError as e:
            feed.next_poll_at = now + DEFER_DELAY * (1 + spread(feed.id))
            log.info("feed %s deferred: %s", feed.id, e)
            return PollOutcome(feed_id, polled=False)
        except FetchError as e:
            return _failed(session, feed, e, now, policy)
        except Exception as e:  # a bug must neither stop the other feeds nor go unrecorded
            log.exception("feed %s: unexpected error while fetching", feed.id)
            return _failed(session, feed, FetchError(f"unexpected error: {e!r}"), now, policy)
        body_hash = None if result.not_modified else hashlib.sha256(result.body).hexdigest()
        parsed: ParsedFeed | None = None
        if body_hash is not None and body_hash != feed.body_hash:
            try:
                parsed = parse_feed(result.body, result.url, result.content_type)
            except ParseError as e:
                return _failed(session, feed, e, now, policy)
            except Exception as e:
                log.exception("feed %s: unexpected error while parsing", feed.id)
                return _failed(session, feed, ParseError(f"unexpected error: {e!r}"), now, policy)
        _succeeded(feed, result, body_hash, parsed, now)
        with session.no_autoflush:  # the feed row is written once, at commit
            outcome = (
                _persist(session, feed_id, parsed, matcher, now, policy)
                if parsed is not None
                else PollOutcome(feed_id, polled=True)
            )
        feed.entry_count += outcome.new_entries
        if outcome.new_entries:
            feed.last_new_entry_at = now
        interval = _healthy_interval(feed, policy, parsed, result)
        feed.next_poll_at = next_poll(now, interval, 0, feed.id, max_backoff=policy.max_backoff)
        alert_ids = _assess(session, feed, now, policy)
    log.info(
        "feed %s polled (%s): %d new entries, %d changed, %d new matches, %d deliveries",
        feed_id,
        "not modified" if parsed is None else f"HTTP {result.status}",
        outcome.new_entries,
        outcome.changed_entries,
        len(outcome.new_match_ids),
        len(outcome.delivery_ids),
    )
    return replace(outcome, operator_alert_ids=alert_ids)


# --- feed bookkeeping ----------------------------------------------------------------


def _succeeded(
    feed: Feed, result: FetchResult, body_hash: str | None, parsed: ParsedFeed | None, now: datetime
) -> None:
    if feed.consecutive_failures or feed.healthy_since is None:
        feed.healthy_since = now
    if parsed is not None:
        feed.last_error = parsed.problem
    elif feed.consecutive_failures:
        feed.last_error = None  # unchanged body: a "malformed" note from its parse stays
    feed.consecutive_failures = 0
    feed.failing_since = feed.gone_since = None
    feed.last_polled_at = feed.last_success_at = now
    feed.last_status = result.status
    if result.etag or result.last_modified or not result.not_modified:
        feed.etag, feed.last_modified = result.etag, result.last_modified
    if body_hash is not None:
        feed.body_hash = body_hash
    if parsed is not None:
        published = [e.published for e in parsed.entries]
        every = publish_interval(published, now)
        if every is not None:
            feed.publish_interval_seconds = int(every.total_seconds())
    _track_redirect(feed, result.moved_to)


def _track_redirect(feed: Feed, moved_to: str | None) -> None:
    """A permanent redirect seen on two polls in a row moves the feed for good."""
    if moved_to is None or moved_to == (feed.redirected_url or feed.url):
        feed.redirect_candidate = None
    elif feed.redirect_candidate == moved_to:
        log.warning(
            "feed %s moved permanently to %s (seen twice); update its url in the config",
            feed.id,
            moved_to,
        )
        feed.redirected_url, feed.redirect_candidate = moved_to, None
        feed.etag = feed.last_modified = None
    else:
        feed.redirect_candidate = moved_to


def _healthy_interval(
    feed: Feed, policy: PollPolicy, parsed: ParsedFeed | None, result: FetchResult | None
) -> timedelta:
    hints = [
        parsed.ttl if parsed else None,
        timedelta(seconds=result.fresh_for) if result and result.fresh_for else None,
    ]
    hint = max((h for h in hints if h is not None), default=None)
    every = feed.publish_interval_seconds
    return adapted_interval(
        timedelta(seconds=feed.poll_interval_seconds),
        (policy.min_poll_interval, policy.max_poll_interval),
        timedelta(seconds=every) if every else None,
        hint,
    )


def _failed(
    session: Session,
    feed: Feed,
    error: FetchError | ParseError | StoreError,
    now: datetime,
    policy: PollPolicy,
) -> PollOutcome:
    status = getattr(error, "status", None)
    feed.last_polled_at = now
    feed.consecutive_failures += 1
    feed.failing_since = feed.failing_since or now
    feed.healthy_since = None
    feed.last_error = "".join(c if c.isprintable() else " " for c in str(error))[:1000]
    feed.last_status = status
    if status == 410:
        feed.gone_since = feed.gone_since or now
    retry_after = getattr(error, "retry_after", None)
    feed.next_poll_at = next_poll(
        now,
        _healthy_interval(feed, policy, None, None),
        64 if feed.gone_since else feed.consecutive_failures,
        feed.id,
        max_backoff=policy.max_backoff,
        retry_after=timedelta(seconds=retry_after) if retry_after is not None else None,
    )
    alert_ids = _assess(session, feed, now, policy)
    log.warning(
        "feed %s failed (%d in a row), next try %s: %s",
        feed.id,
        feed.consecutive_failures,
        feed.next_poll_at.isoformat(),
        error,
    )
    return PollOutcome(feed.id, polled=True, error=str(error), operator_alert_ids=alert_ids)


def feed_state(feed: Feed) -> FeedState:
    every = feed.publish_interval_seconds
    return FeedState(
        created_at=feed.created_at,
        last_polled_at=feed.last_polled_at,
        consecutive_failures=feed.consecutive_failures,
        failing_since=feed.failing_since,
        gone_since=feed.gone_since,
        healthy_since=feed.healthy_since,
        last_new_entry_at=feed.last_new_entry_at,
        publish_interval=timedelta(seconds=every) if every else None,
    )


def _assess(session: Session, feed: Feed, now: datetime, policy: PollPolicy) -> tuple[str, ...]:
    """Tell the operators when an episode starts, the feed is gone, or it recovers."""
    state = feed_state(feed)
    health = assess(state, now, policy.stale_after)
    event = operator_event(
        health, feed.consecutive_failures, policy.failure_alert_after, feed.alerted_status
    )
    if event is None:
        return ()
    if feed.alerted_since is None:
        feed.alerted_since = now
    episode = feed.alerted_since
    if event == "recovered":
        feed.alerted_status = feed.alerted_since = None
    else:
        feed.alerted_status = event
    facts = FeedFacts(
        feed_id=feed.id,
        title=feed.title,
        url=feed.redirected_url or feed.url,
        last_error=feed.last_error,
        last_success_at=feed.last_success_at,
        next_poll_at=feed.next_poll_at,
    )
    subject, body = message(event, health, state, facts)
    log.warning("feed %s: %s", feed.id, subject)
    details = {
        "feed": {"id": feed.id, "title": feed.title, "url": facts.url},
        "status": health.status,
        "since": health.since.isoformat() if health.since else None,
        "consecutive_failures": feed.consecutive_failures,
        "last_error": feed.last_error,
        "last_success_at": feed.last_success_at.isoformat() if feed.last_success_at else None,
    }
    return tuple(
        operators.queue(
            session,
            policy.operators,
            feed_id=feed.id,
            event=event,
            episode_since=episode,
            subject=subject,
            body=body,
            details=details,
            now=now,
        )
    )


# --- entries, stories, matches -------------------------------------------------------


@dataclass(slots=True)
class _Fresh:
    """A new entry on its way into the database."""

    entry: NormalisedEntry
    keys: dedup.EntryKeys
    hits: dict[str, list[Hit]]
    shingles: frozenset[int] = frozenset()
    sketch: tuple[int, ...] = ()
    story: int | None = None
    """The story it joins: the id of that story's first entry (None: it opens one)."""
    twin: int | None = None
    """Index of an earlier entry of this poll that opened the story it joins."""


def _keyed(parsed: ParsedFeed) -> list[tuple[NormalisedEntry, dedup.EntryKeys]]:
    """Normalise and key every item; GUIDs and links shared by several items are not keys."""
    entries = [normalise_entry(p, parsed.language) for p in parsed.entries]
    canonical = [dedup.canonical_link(e.link) if e.link else None for e in entries]
    shared_guids = dedup.repeated(e.guid.strip() if e.guid else None for e in entries)
    shared_links = dedup.repeated(canonical)
    keyed: dict[str, tuple[NormalisedEntry, dedup.EntryKeys]] = {}
    for entry, link in zip(entries, canonical, strict=True):
        guid = entry.guid if entry.guid and entry.guid.strip() not in shared_guids else None
        usable_link = entry.link if link and link not in shared_links else None
        identity = dedup.entry_identity(guid, usable_link, entry.content_hash)
        keys = dedup.EntryKeys(dedup.identity_key(identity), dedup.link_key(usable_link))
        keyed.setdefault(keys.identity_key, (entry, keys))
    return list(keyed.values())


def _persist(
    session: Session,
    feed_id: str,
    parsed: ParsedFeed,
    matcher: Matcher,
    now: datetime,
    policy: PollPolicy,
) -> PollOutcome:
    keyed = _keyed(parsed)
    known_rows = repo.known_entries(
        session,
        feed_id,
        {k.identity_key for _, k in keyed},
        {k.link_key for _, k in keyed if k.link_key},
    )
    known = [dedup.KnownEntry(r[0], dedup.EntryKeys(r[1], r[2]), r[3]) for r in known_rows]
    story_of: dict[int, int] = {r[0]: r[4] or r[0] for r in known_rows}
    found = dedup.resolve([k for _, k in keyed], known)

    fresh: list[_Fresh] = []
    changed: list[tuple[int, NormalisedEntry]] = []
    updates: list[dict[str, Any]] = []
    for (entry, keys), old in zip(keyed, found, strict=True):
        if old is None:
            fresh.append(_Fresh(entry, keys, _by_watchlist(matcher, entry, feed_id)))
        elif old.content_hash != entry.content_hash:
            changed.append((old.id, entry))
            updates.append(_text_values(old.id, entry, keys, now))
        elif old.keys != keys:
            updates.append({"id": old.id, "link_key": keys.link_key, "guid": entry.guid})
    if updates:
        session.execute(update(Entry), updates)
    changed_hits = [(entry_id, _by_watchlist(matcher, e, feed_id)) for entry_id, e in changed]
    for f in fresh:
        if f.hits:  # only entries that can alert are compared by their text
            f.shingles = dedup.shingles(
                dedup.story_text(f.entry.title, f.entry.summary, f.entry.content)
            )
            f.sketch = dedup.sketch(f.shingles)

    entry_ids = _insert_with_stories(session, feed_id, fresh, now, policy.story_window)
    for f, entry_id in zip(fresh, entry_ids, strict=True):
        if entry_id is not None:
            story_of[entry_id] = f.story or entry_id
    targets = [
        (entry_id, by_watchlist)
        for entry_id, by_watchlist in [
            *zip(entry_ids, (f.hits for f in fresh), strict=True),
            *changed_hits,
        ]
        if entry_id is not None and by_watchlist
    ]
    inserted = sum(1 for i in entry_ids if i is not None)
    if not targets:
        return PollOutcome(feed_id, True, new_entries=inserted, changed_entries=len(changed))

    match_rows = [
        {
            "entry_id": entry_id,
            "watchlist_id": watchlist_id,
            "hits": _hits_json(wl_hits),
            "terms": list(dict.fromkeys(h.term for h in wl_hits)),
            "snippet": wl_hits[0].snippet,
            "created_at": now,
        }
        for entry_id, by_watchlist in targets
        for watchlist_id, wl_hits in by_watchlist.items()
    ]
    terms = {
        (entry_id, watchlist_id): {h.term for h in wl_hits}
        for entry_id, by_watchlist in targets
        for watchlist_id, wl_hits in by_watchlist.items()
    }
    new_matches: list[tuple[int, str, int]] = repo.insert_new(
        session, Match, match_rows, Match.id, Match.watchlist_id, Match.entry_id
    )
    earlier_stories = {story_of[r[0]] for r in known_rows} | {
        f.story for f in fresh if f.story is not None and f.twin is None
    }
    subscribers = repo.subscribers_by_watchlist(session, {w for _, w, _ in new_matches})
    delivery_ids: list[str] = []
    if subscribers:  # else nobody to tell, and nothing to look up about what they were told
        skip = _already_told(session, new_matches, terms, story_of, earlier_stories, subscribers)
        delivery_ids = repo.create_deliveries(
            session,
            [(m, w) for m, w, _ in new_matches],
            now,
            subscribers,
            skip=skip,
            hold=policy.story_hold,
        )
    return PollOutcome(
        feed_id,
        polled=True,
        new_entries=inserted,
        changed_entries=len(changed),
        new_match_ids=tuple(m for m, _, _ in new_matches),
        new_match_watchlists=tuple(w for _, w, _ in new_matches),
        delivery_ids=tuple(delivery_ids),
    )


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
        "published_at": entry.published,
        "content_hash": entry.content_hash,
        "updated_at": now,
    }


def _by_watchlist(matcher: Matcher, entry: NormalisedEntry, feed_id: str) -> dict[str, list[Hit]]:
    by_watchlist: dict[str, list[Hit]] = {}
    for hit in matcher.match(entry.document(feed_id)):
        by_watchlist.setdefault(hit.watchlist_id, []).append(hit)
    return by_watchlist


def _assign_stories(
    session: Session, fresh: list[_Fresh], now: datetime, window: timedelta
) -> None:
    """Each new entry joins the story of a copy seen within the window, or opens one.

    A copy has the same canonical link, or (for entries that match a watch list)
    near-identical text: candidates share sketch values, then the texts are
    compared. Copies within this poll are found too.
    """
    since = now - window
    by_link = repo.stories_by_link(
        session, {f.keys.link_key for f in fresh if f.keys.link_key}, since
    )
    shared: dict[int, Counter[int]] = {}
    for key, story_id in repo.stories_by_sketch(
        session, {v for f in fresh for v in f.sketch}, since
    ):
        shared.setdefault(key, Counter())[story_id] += 1
    counts = [sum((shared.get(v, Counter()) for v in f.sketch), Counter()) for f in fresh]
    candidates = {s for c in counts for s, n in c.items() if n >= dedup.MIN_SHARED_SKETCH}
    texts = {
        story_id: (dedup.shingles(dedup.story_text(*text)), dedup.title_words(text[0]))
        for story_id, text in repo.entry_texts(session, candidates).items()
    }
    opened: dict[int, list[int]] = {}
    """Sketch value → indexes of entries of this poll that opened a story."""
    for index, (f, count) in enumerate(zip(fresh, counts, strict=True)):
        if f.keys.link_key and f.keys.link_key in by_link:
            f.story = by_link[f.keys.link_key]
            continue
        title = dedup.title_words(f.entry.title)
        similar = [
            (dedup.jaccard(f.shingles, texts[s][0]), -s)
            for s, n in count.items()
            if n >= dedup.MIN_SHARED_SKETCH
            and s in texts
            and dedup.near_identical(f.shingles, texts[s][0], title, texts[s][1])
        ]
        if similar:
            f.story = -max(similar)[1]
            continue
        f.twin = _twin(fresh, index, opened, title)
        if f.twin is None:
            for value in f.sketch:
                opened.setdefault(value, []).append(index)


def _twin(
    fresh: list[_Fresh], index: int, opened: dict[int, list[int]], title: frozenset[str]
) -> int | None:
    """An earlier entry of this poll with near-identical text (one feed never lists a link
    twice: a repeated link is no key)."""
    f = fresh[index]
    shared = Counter(i for value in f.sketch for i in opened.get(value, ()))
    for i, n in shared.most_common():
        other = fresh[i]
        if n >= dedup.MIN_SHARED_SKETCH and dedup.near_identical(
            f.shingles, other.shingles, title, dedup.title_words(other.entry.title)
        ):
            return i
    return None


def _insert_with_stories(
    session: Session, feed_id: str, fresh: list[_Fresh], now: datetime, window: timedelta
) -> list[int | None]:
    """Insert the new entries with their stories; their ids in order (None: not inserted)."""
    if not fresh:
        return []
    repo.lock_stories(
        session,
        {f.keys.link_key for f in fresh if f.keys.link_key},
        {value for f in fresh for value in f.sketch},
    )
    _assign_stories(session, fresh, now, window)
    rows = [_entry_row(feed_id, f, now) for f in fresh if f.twin is None]
    ids_by_key: dict[str, int] = dict(
        repo.insert_new(session, Entry, rows, Entry.identity_key, Entry.id)
    )
    twins = [f for f in fresh if f.twin is not None]
    for f in twins:
        f.story = ids_by_key.get(fresh[f.twin].keys.identity_key) if f.twin is not None else None
    if twins:
        twin_rows = [_entry_row(feed_id, f, now) for f in twins]
        ids_by_key.update(repo.insert_new(session, Entry, twin_rows, Entry.identity_key, Entry.id))
    sketches = [
        {"key": v, "story_id": ids_by_key[f.keys.identity_key], "created_at": now}
        for f in fresh
        if f.story is None and f.keys.identity_key in ids_by_key
        for v in f.sketch
    ]
    repo.insert_new(session, StorySketch, sketches, StorySketch.key)
    return [ids_by_key.get(f.keys.identity_key) for f in fresh]


def _entry_row(feed_id: str, f: _Fresh, now: datetime) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "identity_key": f.keys.identity_key,
        "link_key": f.keys.link_key,
        "guid": f.entry.guid,
        "link": f.entry.link,
        "title": f.entry.title,
        "summary": f.entry.summary,
        "content": f.entry.content,
        "language": f.entry.language,
        "published_at": f.entry.published,
        "content_hash": f.entry.content_hash,
        "first_seen_at": now,
        "story_id": f.story,
    }


def _already_told(
    session: Session,
    new_matches: Sequence[tuple[int, str, int]],
    terms: dict[tuple[int, str], set[str]],
    story_of: Mapping[int, int],
    earlier_stories: set[int],
    subscribers: Mapping[str, Sequence[Subscriber]],
) -> set[tuple[int, str]]:
    """(match, subscriber) pairs to skip: the subscriber already has this story's terms.

    Only stories opened before this poll can have alerts in the database; copies
    within this poll are caught as their matches are walked through in order.
    """
    stories = {story_of[entry_id] for _, _, entry_id in new_matches}
    covered: dict[tuple[int, str, str], set[str]] = {}
    for story, subscriber_id, watchlist, earlier in repo.story_coverage(
        session, stories & earlier_stories
    ):
        covered.setdefault((story, subscriber_id, watchlist), set()).update(earlier)
    skip: set[tuple[int, str]] = set()
    for match_id, watchlist_id, entry_id in sorted(new_matches, key=lambda m: m[0]):
        story_id = story_of[entry_id]
        matched = terms[(entry_id, watchlist_id)]
        for subscriber in subscribers.get(watchlist_id, []):
            told = covered.setdefault((story_id, subscriber.id, watchlist_id), set())
            if told and matched <= told:
                skip.add((match_id, subscriber.id))
            else:
                told |= matched
    return skip


def _hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    return [
        {
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
        for h in hits
    ]
