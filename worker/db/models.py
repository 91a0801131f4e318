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
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    """SHA-256 of the entry's identity (GUID, link or content hash); unique per feed."""
    guid: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(20))
    published_at: Mapped[OptTimestamp]
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[Created]

    feed: Mapped[Feed] = relationship()

    __table_args__ = (UniqueConstraint("feed_id", "identity_key"),)


class Match(Base):
    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    watchlist_id: Mapped[str] = mapped_column(ForeignKey("watchlists.id"), index=True)
    hits: Mapped[list[Any]] = mapped_column(JSON)
    """Every hit: kind, term, text as it appeared, field, offsets, variant, score."""
    terms: Mapped[list[Any]] = mapped_column(JSON)
    """Distinct canonical terms that fired, for listing and filtering."""
    snippet: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Created]

    entry: Mapped[Entry] = relationship()
    watchlist: Mapped[Watchlist] = relationship()

    __table_args__ = (UniqueConstraint("entry_id", "watchlist_id"),)


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[ConfigId]
    channel: Mapped[str] = mapped_column(String(20))
    """email, webhook, console or outbox."""
    address: Mapped[str] = mapped_column(Text)
    secret_env: Mapped[str | None] = mapped_column(String(200))
    """Name of the environment variable with the webhook secret (never the secret)."""
    managed_by: Mapped[str] = mapped_column(String(20), default="config")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[Created]


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id"), primary_key=True)
    watchlist_id: Mapped[str] = mapped_column(ForeignKey("watchlists.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Delivery(Base):
    """The outbox: one row per (subscriber, match), unique, so no path sends twice."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Also the webhook-id / Message-ID: the same on every retry."""
    subscriber_id: Mapped[str] = mapped_column(ForeignKey("subscribers.id"), index=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """pending → sending → sent; or retrying → … → dead; cancelled if unsubscribed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Timestamp]
    claimed_until: Mapped[OptTimestamp]
    """While sending: after this, the sweep may take the row back (the worker died)."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Created]
    sent_at: Mapped[OptTimestamp]

    subscriber: Mapped[Subscriber] = relationship()
    match: Mapped[Match] = relationship()

    __table_args__ = (
        UniqueConstraint("subscriber_id", "match_id"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
