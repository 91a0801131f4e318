"""SQLAlchemy 2 typed models.

YAML is the source of feeds, watch lists and config subscribers; these tables
mirror it (rows are deactivated, never deleted, so history survives) and hold
everything the service learns: fetch state, entries, matches and the outbox of
deliveries. Timestamps are stored in UTC and always come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from worker.core.clock import utcnow
from worker.security.crypto import EncryptedJSON, EncryptedText, blind_index


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ConfigId = Annotated[str, mapped_column(String(100), primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
OptTimestamp = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]
Created = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Meta(Base):
    """Small key/value facts about the database (e.g. the synced config version)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[ConfigId]
    title: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(Text)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once the feed is removed from the config (its entries stay)."""
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[OptTimestamp]
    last_success_at: Mapped[OptTimestamp]
    next_poll_at: Mapped[OptTimestamp]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[Created]
    redirected_url: Mapped[str | None] = mapped_column(Text)
    """Where the feed moved permanently (301/308 seen twice); fetched instead of ``url``."""
    redirect_candidate: Mapped[str | None] = mapped_column(Text)
    """A permanent redirect seen on the last poll, not yet confirmed by a second one."""
    body_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the last body: an identical 200 is handled like a 304."""
    failing_since: Mapped[OptTimestamp]
    healthy_since: Mapped[OptTimestamp]
    """Start of the current run of successful polls (staleness counts from here at most)."""
    gone_since: Mapped[OptTimestamp]
    """When the server first answered 410 Gone (cleared by a successful poll)."""
    last_new_entry_at: Mapped[OptTimestamp]
    publish_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    """Average gap between the feed's recent entries, for adaptive polling and staleness."""
    alerted_status: Mapped[str | None] = mapped_column(String(20))
    """The unhealthy status operators were last told about; None once they heard it recovered."""
    alerted_since: Mapped[OptTimestamp]
    """Start of the unhealthy episode operators were told about."""
    source_cursor: Mapped[str | None] = mapped_column(String(100))
    """Where a source read in pages got to: a Telegram channel's newest post id seen."""
    min_poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    max_poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    """The bounds the feed was last scheduled with: the config sync reschedules on a change."""

    __table_args__ = (Index("ix_feeds_due", "active", "next_poll_at"),)


class Watchlist(Base):
    __tablename__ = "watchlists"

    id: Mapped[ConfigId]
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Created]


class Entry(Base):
    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id"), index=True)
    identity_key: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the entry's identity (GUID, link or content hash), an HMAC under the
    content key with an encryption key; unique per feed."""
    published: Mapped[str | None] = mapped_column(EncryptedText())
    """With an encryption key, the publication time (ISO 8601) instead of ``published_at``:
    a plain time would join the entry to the public item it came from."""
    identity: Mapped[str | None] = mapped_column(EncryptedText())
    """The identity itself (``guid:…``, ``link:…``, ``hash:…``): ``rotate-key`` re-keys
    ``identity_key`` from it. None for entries stored before it was kept."""
    guid: Mapped[str | None] = mapped_column(EncryptedText())
    link: Mapped[str | None] = mapped_column(EncryptedText())
    title: Mapped[str] = mapped_column(EncryptedText())
    """Encrypted like the text below: with ``matches`` it would tell whom a report names."""
    summary: Mapped[str] = mapped_column(EncryptedText())
    content: Mapped[str] = mapped_column(EncryptedText())
    language: Mapped[str | None] = mapped_column(EncryptedText())
    """Encrypted: in a feed of several languages it would narrow down which item matched."""
    published_at: Mapped[OptTimestamp]
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[Created]
    link_key: Mapped[str | None] = mapped_column(String(64), index=True)
    """SHA-256 of the canonical link: finds the entry again when its GUID changes, and the
    same report in other feeds."""
    story_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)
    """The first entry seen of the report this one carries (another feed's copy, within
    the story window); None when this entry is the first."""
    updated_at: Mapped[OptTimestamp]
    """When the feed last changed this entry's text."""
    forgotten_at: Mapped[OptTimestamp]
    """When retention removed the text: the keys stay, so a feed still carrying the
    report does not make it new (and alert) again."""

    feed: Mapped[Feed] = relationship()

    __table_args__ = (UniqueConstraint("feed_id", "identity_key"),)

    @property
    def published_time(self) -> datetime | None:
        """When the feed says the entry was published (from whichever column holds it)."""
        if self.published_at is not None or self.published is None:
            return self.published_at
        return datetime.fromisoformat(self.published)


class StorySketch(Base):
    """Index of stories by their text's bottom-k sketch, written by earlier versions (unkeyed
    CRC-32 values: ``rotate-key`` deletes them; retention too)."""

    __tablename__ = "story_sketches"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    """The entry that opened the story."""
    created_at: Mapped[Timestamp]


class StorySignature(Base):
    """A story's MinHash signature (for entries that matched a watch list): compared with a
    new entry's instead of re-reading and re-shingling the story's text."""

    __tablename__ = "story_signatures"

    story_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    """The entry that opened the story."""
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    """dedup.BINS little-endian 32-bit values (keyed with an encryption key)."""
    created_at: Mapped[Timestamp]


class StoryBand(Base):
    """Index of stories by the LSH band keys of their signature."""

    __tablename__ = "story_bands"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    created_at: Mapped[Timestamp]


class OperatorAlert(Base):
    """Outbox of feed-health messages to operators: one per (operator, feed, episode, event)."""

    __tablename__ = "operator_alerts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(EncryptedText())
    secret_env: Mapped[str | None] = mapped_column(String(200))
    feed_id: Mapped[str | None] = mapped_column(ForeignKey("feeds.id"), index=True)
    """None for the configuration's own events (config_invalid, config_valid) and for a message
    about a subscriber (unsubscribed)."""
    event: Mapped[str] = mapped_column(String(20))
    """failing, stale, gone or recovered; config_invalid or config_valid; unsubscribed (a YAML
    subscriber opted out)."""
    episode_since: Mapped[Timestamp]
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending → sending → sent; or retrying → … → dead."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Timestamp]
    claimed_until: Mapped[OptTimestamp]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    """HTTP status or SMTP reply code of the last attempt, when there was one."""
    created_at: Mapped[Created]
    sent_at: Mapped[OptTimestamp]

    __table_args__ = (
        UniqueConstraint(
            "operator_id", "feed_id", "event", "episode_since", name="uq_operator_alerts_event"
        ),
        Index("ix_operator_alerts_due", "status", "next_attempt_at"),
    )


class Match(Base):
    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    watchlist_id: Mapped[str] = mapped_column(ForeignKey("watchlists.id"), index=True)
    hits: Mapped[list[Any]] = mapped_column(EncryptedJSON())
    """Every hit: kind, term, text as it appeared, field, offsets, variant, score."""
    terms: Mapped[list[Any]] = mapped_column(EncryptedJSON())
    """Distinct canonical terms that fired, for listing and filtering."""
    snippet: Mapped[str] = mapped_column(EncryptedText())
    created_at: Mapped[Created]

    entry: Mapped[Entry] = relationship()
    watchlist: Mapped[Watchlist] = relationship()

    __table_args__ = (UniqueConstraint("entry_id", "watchlist_id"),)


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[ConfigId]
    channel: Mapped[str] = mapped_column(String(20))
    """email, webhook, console or outbox."""
    address: Mapped[str] = mapped_column(EncryptedText())
    address_index: Mapped[str | None] = mapped_column(String(64), index=True)
    """Blind index of the address (set with it): look-ups without decrypting every row."""
    secret_env: Mapped[str | None] = mapped_column(String(200))
    """Name of the environment variable with the webhook secret (never the secret)."""
    managed_by: Mapped[str] = mapped_column(String(20), default="config")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Created]
    frequency: Mapped[str] = mapped_column(String(20), default="immediate")
    """immediate, hourly, daily or weekly (digests)."""
    deliver_at: Mapped[str] = mapped_column(String(20), default="08:00")
    """Local time digests go out ("08:00", or "mon 08:00" for weekly)."""
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    unsubscribe_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the subscriber's unsubscribe token (the token itself is never stored)."""
    status: Mapped[str | None] = mapped_column(String(20))
    """API subscribers: pending, active, paused or disabled (``active`` is True only when
    active). Config subscribers: None, or unsubscribed once the recipient opted out."""
    manage_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the API subscriber's management token."""
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the pending confirmation token; cleared once confirmed."""
    confirm_expires_at: Mapped[OptTimestamp]
    """Until when a pending subscription can be confirmed (or its webhook verified)."""
    confirmed_at: Mapped[OptTimestamp]
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedText())
    """An API webhook subscriber's whsec_ secret."""
    security_phrase: Mapped[str | None] = mapped_column(EncryptedText())
    """Printed at the top of every alert and digest (the subscriber chose it)."""
    pgp_key: Mapped[str | None] = mapped_column(EncryptedText())
    """Armoured OpenPGP public key: e-mail to this subscriber is encrypted to it."""
    language: Mapped[str | None] = mapped_column(String(8))
    """Language of the subscriber's pages and e-mails (en, ru, ky); None: English."""


@event.listens_for(Subscriber.address, "set")
def _index_address(target: Subscriber, value: str | None, _old: object, _initiator: object) -> None:
    target.address_index = None if value is None else blind_index(value)


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id"), primary_key=True)
    watchlist_id: Mapped[str] = mapped_column(ForeignKey("watchlists.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Delivery(Base):
    """The outbox: one row per (subscriber, match) or (subscriber, digest period), unique."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Also the webhook-id / Message-ID: the same on every retry."""
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id"), index=True)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id"))
    """The match of an immediate alert; None for a digest (see DigestItem)."""
    kind: Mapped[str] = mapped_column(String(10), default="alert")
    """alert (one match) or digest (every match of one period)."""
    period_start: Mapped[OptTimestamp]
    """Digest period [start, end); the digest is due at its end."""
    period_end: Mapped[OptTimestamp]
    destination: Mapped[str] = mapped_column(String(300), default="")
    """Receiver key (e.g. webhook host:port) for the per-destination concurrency limit."""
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending → sending → sent; or retrying → … → dead; cancelled if unsubscribed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Timestamp]
    claimed_until: Mapped[OptTimestamp]
    """While sending: after this, the sweep may take the row back (the worker died)."""
    last_error: Mapped[str | None] = mapped_column(EncryptedText())
    """Exception class and message, HTTP status and reply, or the SMTP reply (which may
    name the address, hence encrypted)."""
    last_status: Mapped[int | None] = mapped_column(Integer)
    """HTTP status or SMTP reply code of the last attempt, when there was one."""
    expires_at: Mapped[OptTimestamp]
    """Still failing after this → dead; None: the lifetime counts from when it fell due."""
    created_at: Mapped[Created]
    sent_at: Mapped[OptTimestamp]

    subscriber: Mapped[Subscriber] = relationship()
    match: Mapped[Match | None] = relationship()

    __table_args__ = (
        UniqueConstraint("subscriber_id", "match_id"),
        UniqueConstraint("subscriber_id", "period_start", name="uq_deliveries_digest_period"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_destination", "destination", "status"),
    )


class RateLimit(Base):
    """Fixed-window request counters of the API, shared by its processes (no broker)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """HMAC of scope and subject (client address or e-mail): no address is stored."""
    window_start: Mapped[Timestamp]
    count: Mapped[int] = mapped_column(Integer)


class DigestItem(Base):
    """A match included in a digest delivery; a match joins one digest per subscriber."""

    __tablename__ = "digest_items"

    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), primary_key=True)
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id"))

    __table_args__ = (UniqueConstraint("subscriber_id", "match_id"),)


class AuditEntry(Base):
    """Append-only log of operator actions (the database refuses UPDATE and DELETE on it)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[Timestamp]
    actor: Mapped[str] = mapped_column(String(100))
    """Who: ``cli:<OS user>`` or ``api:operator``."""
    action: Mapped[str] = mapped_column(String(50))
    """e.g. subscriber.disable, subscribers.export, key.rotate, purge."""
    target: Mapped[str | None] = mapped_column(String(200))
    """Ids only (a subscriber id, a key id), never an address or a name."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class WebSubSubscription(Base):
    """A feed's WebSub subscription at its hub: one per feed, renewed before its lease ends."""

    __tablename__ = "websub_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Random: the last part of the callback URL, so callbacks cannot be guessed."""
    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id"), unique=True)
    hub: Mapped[str] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(EncryptedText())
    """The hub.secret distributions are signed with (encrypted like webhook secrets)."""
    state: Mapped[str] = mapped_column(String(20), default="new")
    """new → requested → active; denied (the hub said no) or failed (it answered an error);
    unsubscribing (the feed left the config or names no hub: the hub is asked to stop)."""
    requested_at: Mapped[OptTimestamp]
    """When the request the hub has yet to verify was sent; None when none is outstanding
    (a verification then is refused: rightswatch did not ask)."""
    lease_expires_at: Mapped[OptTimestamp]
    next_attempt_at: Mapped[Timestamp]
    """When to (re)send the subscription request: now for a new one, before the lease ends."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Requests in a row that were not verified."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]

    __table_args__ = (Index("ix_websub_subscriptions_due", "next_attempt_at"),)
