"""Typed values that cross stage boundaries.

Every stage of the pipeline (fetch → parse → normalise → match → persist →
deliver) hands the next one a frozen value from this module, so the pure core
never sees an HTTP response, a feedparser dict or an ORM row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

FieldName = Literal["title", "summary", "content"]
FIELD_NAMES: tuple[FieldName, ...] = ("title", "summary", "content")
MatchKind = Literal["person", "keyword"]


# --- watch lists, as the matcher sees them ---------------------------------


@dataclass(frozen=True, slots=True)
class PersonSpec:
    """A named person to watch for."""

    id: str
    """Stable id (from the YAML, or derived from the canonical name)."""
    name: str
    """Canonical name as the monitor typed it."""
    aliases: tuple[str, ...] = ()
    """Other spellings the monitor listed (any script)."""
    match_surname_alone: bool = False
    """Whether a bare surname counts even without the full name in the entry."""
    exclude: tuple[str, ...] = ()
    """Phrases that contain the name but mean something else (a street, a namesake)."""


@dataclass(frozen=True, slots=True)
class NearSpec:
    """Two terms that must occur within `within` words of each other."""

    terms: tuple[str, str]
    within: int


@dataclass(frozen=True, slots=True)
class WatchlistSpec:
    """Everything the matcher needs to know about one watch list."""

    id: str
    title: str
    people: tuple[PersonSpec, ...] = ()
    keywords: tuple[str, ...] = ()
    require: tuple[str, ...] = ()
    """All of these terms must occur in the entry for any hit to count."""
    exclude: tuple[str, ...] = ()
    """None of these terms may occur in the entry."""
    near: tuple[NearSpec, ...] = ()
    """Proximity rules: each fires as a keyword hit when its two terms are close."""
    fields: tuple[FieldName, ...] = FIELD_NAMES
    """Which fields of an entry are searched."""
    languages: tuple[str, ...] = ()
    """Entry languages (ISO 639-1) this list applies to; empty means all."""
    feeds: tuple[str, ...] = ()
    """Feed ids this list applies to; empty means all."""


# --- documents and hits ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Document:
    """Plain text of one entry, by field, ready for matching."""

    fields: Mapping[str, str]
    """Field name ("title", "summary", "content") → plain text, NFC-normalised."""
    language: str | None = None
    """ISO 639-1 code from the feed, if it declared one."""
    feed_id: str | None = None
    """Config id of the feed the entry came from, for feed-scoped lists."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a watched term in a document."""

    watchlist_id: str
    kind: MatchKind
    term: str
    """Canonical person name or keyword, as configured."""
    text: str
    """The text exactly as it appeared in the field."""
    field: str
    start: int
    """Character offset of `text` in the field's plain text."""
    end: int
    snippet: str
    """Surrounding text with the hit marked as «…»."""
    variant: str
    """Which rule produced the hit (e.g. "exact", "alias", "inflected")."""
    score: float = 1.0


# --- fetching and parsing --------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Outcome of one conditional GET."""

    url: str
    """Final URL after redirects."""
    status: int
    """HTTP status (200 for file:// reads); 304 means nothing changed."""
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    fresh_for: float | None = None
    """Seconds the server says the body stays fresh (Cache-Control max-age or Expires)."""
    moved_to: str | None = None
    """Where a permanent redirect (301/308) at the start of the chain pointed."""
    hub: str | None = None
    """A WebSub hub named in the response's ``Link`` header (``rel="hub"``)."""
    self_url: str | None = None
    """The topic URL named in the response's ``Link`` header (``rel="self"``)."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """One feed item as the feed presented it (HTML still inside)."""

    guid: str | None
    link: str | None
    title: str
    summary_html: str
    content_html: str
    published: datetime | None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed document after parsing."""

    title: str | None
    entries: tuple[ParsedEntry, ...]
    language: str | None = None
    problem: str | None = None
    """Set when the feed was malformed but some entries could still be read."""
    ttl: timedelta | None = None
    """The feed's own <ttl>: how long it asks readers to wait between polls."""
    cursor: str | None = None
    """Where a source read in pages got to (a Telegram channel's newest post id): the
    next poll reads back to it."""
    hub: str | None = None
    """A WebSub hub the feed advertises (``<link rel="hub">``, Atom or RSS)."""
    self_url: str | None = None
    """The feed's own URL as it states it (``<link rel="self">``): the WebSub topic."""


@dataclass(frozen=True, slots=True)
class NormalisedEntry:
    """A normalised entry: plain text, stable identity, content hash."""

    identity: str
    """GUID, else link, else a hash of title and content (see dedup)."""
    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    published: datetime | None
    language: str | None
    content_hash: str

    def document(self, feed_id: str | None) -> Document:
        return Document(
            fields={"title": self.title, "summary": self.summary, "content": self.content},
            language=self.language,
            feed_id=feed_id,
        )


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll of one feed did: the ids of what it created, for fan-out after commit."""

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


# --- alerts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertTerm:
    """A matched term as shown in an alert."""

    kind: str
    term: str
    text: str
    field: str
    variant: str


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a notifier needs to tell one subscriber about one match."""

    delivery_id: str
    match_id: int
    watchlist_id: str
    watchlist_title: str
    feed_id: str
    feed_title: str
    entry_title: str
    entry_link: str | None
    entry_published: datetime | None
    terms: tuple[AlertTerm, ...]
    snippet: str
    matched_at: datetime
    also_reported_by: tuple[str, ...] = ()
    """Titles of other feeds that carried the same story (cross-feed dedup)."""
    language: str = "en"
    """The subscriber's language (en, ru, ky): the message's own words are in it, the
    entry's text stays as the feed wrote it."""


@dataclass(frozen=True, slots=True)
class Digest:
    """One subscriber's matches of one digest period, sent as one message."""

    delivery_id: str
    frequency: str
    """hourly, daily or weekly."""
    period_start: datetime
    period_end: datetime
    timezone: str
    alerts: tuple[Alert, ...]
    """Ordered by watch list; one per story (other feeds in ``also_reported_by``)."""
    language: str = "en"
    """The subscriber's language (en, ru, ky), as for :class:`Alert`."""


Notification = Alert | Digest
"""A message about matches: one match, or a digest of several."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The double opt-in e-mail: follow the link to start receiving alerts."""

    delivery_id: str
    confirm_url: str
    manage_url: str
    watchlists: tuple[str, ...]
    """Titles of the watch lists subscribed to."""
    frequency: str
    expires_at: datetime
    language: str = "en"
    """The subscriber's language (en, ru, ky): the e-mail is written in it."""


@dataclass(frozen=True, slots=True)
class VerificationPing:
    """The first POST to a new webhook: it must answer with the challenge."""

    delivery_id: str
    subscription_id: str
    challenge: str
    watchlists: tuple[str, ...]
    """Ids of the watch lists subscribed to."""


@dataclass(frozen=True, slots=True)
class OperatorNotice:
    """A message to an operator: a feed failed, went quiet or gone, recovered; the
    configuration file turned invalid, or valid again; or a YAML subscriber unsubscribed."""

    delivery_id: str
    feed_id: str | None
    """None for the configuration's events and for a subscriber's."""
    event: str
    """failing, stale, gone or recovered; config_invalid or config_valid; unsubscribed."""
    subject: str
    body: str
    details: Mapping[str, Any]
    """Machine-readable facts for webhooks: feed, status, since, failures, last error."""


@dataclass(frozen=True, slots=True)
class ChannelTest:
    """A clearly marked test alert (``rightswatch test-alert``): proves a channel delivers
    without anyone having been named."""

    delivery_id: str
    recipient_id: str
    """The subscriber's or the operator's id."""
    channel: str
    sent_at: datetime


Message = Alert | Digest | Confirmation | VerificationPing | OperatorNotice | ChannelTest
"""Everything a notifier sends (the outbox all but ChannelTest); every notifier takes every
kind."""
