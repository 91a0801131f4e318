"""YAML configuration → a validated, versioned :class:`Config`.

The file is loaded with PyYAML's safe loader and validated by pydantic models
that forbid unknown keys. Every problem is reported with the file, the line and
the key path (``config/rightswatch.yaml:14: watchlists[0].feeds[1]: unknown
feed 'hrw'``), all at once, so an operator fixes a file in one pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit

import yaml
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from worker import config_cache
from worker.config_errors import pydantic_message, yaml_message
from worker.core.digest import Frequency, parse_deliver_at, zone
from worker.core.errors import ConfigError, ConfigProblem
from worker.core.memory import collector_paused
from worker.core.selectors import Pick
from worker.core.types import FIELD_NAMES, FieldName, NearSpec, PersonSpec, WatchlistSpec
from worker.security.passwords import is_argon2id
from worker.security.pgp import check_public_key
from worker.security.proxy import check_proxy_url

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NOT_WORD = re.compile(r"[^\w]+")


def parse_duration(value: object, *, allow_zero: bool = False) -> timedelta:
    """Accept ``90`` (seconds), ``"30s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"``."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 15m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[(m.group(2) or "s").lower()]
    else:
        raise ValueError(f"expected a duration such as 15m, 2h or 1d, got {value!r}")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("a duration must be positive")
    return timedelta(seconds=seconds)


def _parse_duration_or_zero(value: object) -> timedelta:
    return parse_duration(value, allow_zero=True)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
DurationOrZero = Annotated[timedelta, BeforeValidator(_parse_duration_or_zero)]


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(
            f"invalid id {value!r}: use letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return value


def _to_id(value: object) -> object:
    """Ids are text; a bare number in the YAML (``id: 500``) is taken as its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _check_id(value) if isinstance(value, str) else value


Id = Annotated[str, BeforeValidator(_to_id)]
NonEmptyStr = Annotated[str, Field(min_length=1, max_length=500)]


def _check_http_url(value: str, *, allow_file: bool) -> str:
    parts = urlsplit(value)
    schemes = ("http", "https", "file") if allow_file else ("http", "https")
    if parts.scheme not in schemes:
        raise ValueError(f"invalid URL {value!r}: scheme must be one of {', '.join(schemes)}")
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError(f"invalid URL {value!r}: no host")
    if parts.scheme == "file" and not parts.path:
        raise ValueError(f"invalid URL {value!r}: no path")
    if any(c.isspace() for c in value):
        raise ValueError(f"invalid URL {value!r}: contains white space")
    return value


NEUTRAL_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
"""``user_agent: neutral``: the User-Agent of Tor Browser, shared by many, naming no one."""


def _user_agent(value: str) -> str:
    if value.lower() == "neutral":
        return NEUTRAL_USER_AGENT
    if not value.isprintable():
        raise ValueError("a User-Agent must be printable text on one line")
    return value


ProxyUrl = Annotated[str, AfterValidator(check_proxy_url)]
UserAgent = Annotated[str, AfterValidator(_user_agent)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Defaults(_Model):
    """Settings that apply to every feed unless the feed says otherwise."""

    poll_interval: Duration = timedelta(minutes=15)
    min_poll_interval: Duration = timedelta(minutes=5)
    """Adaptive polling of a busy feed never goes below this (nor below its poll_interval)."""
    max_poll_interval: Duration = timedelta(hours=6)
    """Server hints (TTL, Cache-Control) never push a poll later than this; shorter than
    poll_interval, it is the ceiling instead."""
    max_backoff: Duration = timedelta(hours=24)
    """Longest wait between tries of a failing feed: failing feeds are never given up on."""
    stale_after: Duration | None = None
    """No new entry for this long makes a feed stale; unset: from the feed's own rhythm."""
    failure_alert_after: int = Field(default=5, ge=1, le=1000)
    """Consecutive failures before the operators are told."""
    host_concurrency: int = Field(default=2, ge=1, le=100)
    """Requests in flight at once to one host, across all workers."""
    host_delay: DurationOrZero = timedelta(seconds=1)
    """Minimum time between two requests to the same host."""
    max_redirects: int = Field(default=5, ge=0, le=20)
    story_window: Duration = timedelta(days=7)
    """Reports seen in several feeds within this window are one story (one alert)."""
    story_hold: DurationOrZero = timedelta(0)
    """Delay before an alert is sent, so copies polled meanwhile are named in it."""
    telegram_backfill: int = Field(default=50, ge=1, le=1000)
    """Posts a Telegram channel's first poll reads back (each later poll: back to the last seen)."""

    @model_validator(mode="after")
    def _bounds(self) -> Defaults:
        both = {"min_poll_interval", "max_poll_interval"} <= self.model_fields_set
        if both and self.min_poll_interval > self.max_poll_interval:
            raise ValueError("min_poll_interval is longer than max_poll_interval")
        return self


SourceType = Literal["auto", "rss", "atom", "json", "html", "telegram"]
"""What a feed's URL serves; ``auto``: RSS, Atom or JSON Feed, told apart by the body."""
_TELEGRAM_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,31}$")


def _selector(value: str) -> str:
    Pick.parse(value)
    return value


Selector = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_selector)]
"""A CSS selector, or ``CSS@attribute`` to read an attribute of the first element matched."""


class HtmlConfig(_Model):
    """Where the items of a page without a feed are, as CSS selectors."""

    item: Selector
    """Each element it matches is one entry (a table row, an article, a list item)."""
    title: Selector | None = None
    """Inside an item; default: its first heading (else its first link's text)."""
    link: Selector | None = None
    """Inside an item; default: ``a@href`` (resolved against the page's URL)."""
    date: Selector | None = None
    """Inside an item: ``time@datetime``, or an element whose text is a date."""
    summary: Selector | None = None
    """Inside an item; default: the item's whole text is searched."""


def telegram_preview_url(channel: str) -> str:
    """The public web preview of a Telegram channel, readable without an account."""
    return "https://t.me/s/" + quote(channel.removeprefix("@"), safe="")


class FeedConfig(_Model):
    id: Id
    title: NonEmptyStr | None = None
    url: str
    poll_interval: Duration | None = None
    min_poll_interval: Duration | None = None
    max_poll_interval: Duration | None = None
    stale_after: Duration | None = None
    enabled: bool = True
    proxy: ProxyUrl | None = None
    """Instead of ``fetch.proxy``: http://, https:// or socks5h:// (DNS through the proxy)."""
    user_agent: UserAgent | None = None
    """Instead of ``fetch.user_agent``; ``neutral`` for a common browser's."""
    type: SourceType = "auto"
    telegram: str | None = None
    """A public Telegram channel's name; ``url`` defaults to its web preview."""
    html: HtmlConfig | None = None
    """A page without a feed, read with these selectors (``type: html`` is implied)."""
    telegram_backfill: int | None = Field(default=None, ge=1, le=1000)

    @model_validator(mode="before")
    @classmethod
    def _telegram_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("telegram"), str) and "url" not in data:
            return {**data, "url": telegram_preview_url(data["telegram"].strip())}
        return data

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_http_url(value, allow_file=True)

    @field_validator("telegram")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.removeprefix("@")
        if not _TELEGRAM_CHANNEL.match(value):
            raise ValueError(
                f"invalid Telegram channel name {value!r}: the name in t.me/<name> "
                "(letters, digits and '_', starting with a letter)"
            )
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> FeedConfig:
        implied = "html" if self.html is not None else "telegram" if self.telegram else None
        if self.html is not None and self.telegram:
            raise ValueError("a feed is either a Telegram channel or an html: page, not both")
        if implied and self.type not in ("auto", implied):
            key = "html:" if implied == "html" else "telegram:"
            raise ValueError(f"{key} makes this feed's type {implied}, not {self.type}")
        if self.type == "html" and self.html is None:
            raise ValueError("type: html needs an html: mapping (at least item: a CSS selector)")
        if self.telegram_backfill is not None and self.kind != "telegram":
            raise ValueError("telegram_backfill only applies to Telegram feeds")
        return self

    @property
    def kind(self) -> SourceType:
        """The feed's source type with what its keys imply filled in."""
        if self.html is not None:
            return "html"
        return "telegram" if self.telegram else self.type


class PersonConfig(_Model):
    id: Id | None = None
    name: NonEmptyStr
    aliases: tuple[NonEmptyStr, ...] = ()
    match_surname_alone: bool = False
    exclude: tuple[NonEmptyStr, ...] = ()


class NearConfig(_Model):
    terms: tuple[NonEmptyStr, NonEmptyStr]
    within: int = Field(default=10, ge=1, le=200)


class WatchlistConfig(_Model):
    id: Id
    title: NonEmptyStr
    description: str | None = None
    public: bool = False
    """Listed by the API's GET /watchlists, so anyone may subscribe to it."""
    show_people: bool = False
    """Also list the people's names publicly (off: names of defenders under threat are
    sensitive)."""
    people: tuple[PersonConfig, ...] = ()
    keywords: tuple[NonEmptyStr, ...] = ()
    require: tuple[NonEmptyStr, ...] = ()
    exclude: tuple[NonEmptyStr, ...] = ()
    near: tuple[NearConfig, ...] = ()
    fields: tuple[FieldName, ...] = FIELD_NAMES
    languages: tuple[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")], ...] = ()
    feeds: tuple[Id, ...] | None = None

    @model_validator(mode="after")
    def _has_terms(self) -> WatchlistConfig:
        if not (self.people or self.keywords or self.near):
            raise ValueError("a watch list needs at least one of people, keywords or near")
        return self


Channel = Literal["email", "webhook", "console", "outbox", "apprise"]
Language = Literal["en", "ru", "ky"]
"""The languages alerts and digests are written in: those of ``worker.i18n.LANGUAGES``
(the config may not import the catalogues; a test keeps the two the same)."""


class SubscriberConfig(_Model):
    id: Id
    email: str | None = None
    webhook: str | None = None
    secret_env: str | None = None
    console: bool = False
    outbox: str | None = None
    apprise: str | None = None
    """An Apprise URL (signal://, matrix://, tgram://, ntfy://…); ${VAR} is read from the env."""
    watchlists: tuple[Id, ...] = Field(min_length=1)
    enabled: bool = True
    frequency: Frequency = "immediate"
    deliver_at: str = "08:00"
    """Local time digests go out ("08:00"; "mon 08:00" for weekly; hourly uses the minute)."""
    timezone: str = "UTC"
    language: Language = "en"
    """The language of the subscriber's alerts and digests (en, ru, ky)."""
    security_phrase: NonEmptyStr | None = None
    """Chosen by the subscriber, printed at the top of every alert and digest, so the
    recipient can tell a real alert from a lure dressed up as one."""
    pgp_key: str | None = None
    """OpenPGP public key (armoured, or a file path relative to this file): e-mails to
    this subscriber are encrypted to it."""

    @field_validator("deliver_at")
    @classmethod
    def _deliver_at(cls, value: str) -> str:
        parse_deliver_at(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("apprise")
    @classmethod
    def _apprise(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z][a-z0-9+.-]*://\S+$", value, re.IGNORECASE):
            raise ValueError("invalid Apprise URL: expected scheme://…, e.g. ntfy://ntfy.sh/topic")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as e:
            raise ValueError(f"invalid e-mail address {value!r}: {e}") from e

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else _check_http_url(value, allow_file=False)

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(f"invalid environment variable name {value!r}")
        return value

    @model_validator(mode="after")
    def _one_channel(self) -> SubscriberConfig:
        channels = self.channels()
        if len(channels) != 1:
            found = ", ".join(channels) or "none"
            raise ValueError(
                "a subscriber needs exactly one of email, webhook, console, outbox, apprise "
                f"(found: {found})"
            )
        if self.webhook is not None and self.secret_env is None:
            raise ValueError(
                "a webhook subscriber needs secret_env: the environment variable holding its "
                "signing secret"
            )
        if self.secret_env is not None and self.webhook is None:
            raise ValueError("secret_env only applies to webhook subscribers")
        if self.pgp_key is not None and self.email is None:
            raise ValueError("pgp_key only applies to e-mail subscribers")
        return self

    def channels(self) -> list[Channel]:
        found: list[Channel] = []
        if self.email is not None:
            found.append("email")
        if self.webhook is not None:
            found.append("webhook")
        if self.console:
            found.append("console")
        if self.outbox is not None:
            found.append("outbox")
        if self.apprise is not None:
            found.append("apprise")
        return found

    @property
    def channel(self) -> Channel:
        return self.channels()[0]

    @property
    def address(self) -> str:
        """Where alerts go: e-mail address, webhook URL, outbox folder or "console"."""
        return self.email or self.webhook or self.outbox or self.apprise or "console"


class OperatorConfig(SubscriberConfig):
    """Told when a feed fails, goes stale or gone, and when it recovers.

    The channel keys of a subscriber; watch lists, digest settings and language do not
    apply (operator notices are written in English).
    """

    watchlists: tuple[Id, ...] = ()
    password_hash: str | None = Field(default=None, repr=False)
    """Signs this operator in to the desk by id and password: an Argon2id hash from
    ``rightswatch hash-password`` (never the password itself)."""

    @field_validator("password_hash")
    @classmethod
    def _password_hash(cls, value: str | None) -> str | None:
        if value is not None and not is_argon2id(value):
            raise ValueError(
                "password_hash must be an Argon2id hash ($argon2id$…): make one with "
                "rightswatch hash-password"
            )
        return value

    @model_validator(mode="after")
    def _no_subscription_keys(self) -> OperatorConfig:
        given = self.model_fields_set & {
            "watchlists",
            "frequency",
            "deliver_at",
            "timezone",
            "language",
        }
        if given:
            raise ValueError(f"an operator has no {', '.join(sorted(given))}")
        return self


class RetentionConfig(_Model):
    """How long rows are kept (unset: forever); the nightly purge deletes older ones."""

    entries: Duration | None = None
    matches: Duration | None = None
    deliveries: Duration | None = None
    fetch_history: Duration | None = None
    """Feed-health messages to operators and the API's rate-limit windows."""


class FetchConfig(_Model):
    """How feeds are fetched, so that polling does not reveal the monitor."""

    proxy: ProxyUrl | None = None
    """Every feed's requests go through this proxy (e.g. Tor: socks5h://127.0.0.1:9050)."""
    require_proxy: bool = False
    """A feed without a proxy (its own or this one) is a configuration error."""
    user_agent: UserAgent | None = None
    """Default User-Agent of the feeds (``neutral`` for a common browser's); unset: the
    process-wide RIGHTSWATCH_USER_AGENT."""


class Config(_Model):
    fetch: FetchConfig = FetchConfig()
    retention: RetentionConfig = RetentionConfig()
    defaults: Defaults = Defaults()
    feeds: tuple[FeedConfig, ...] = ()
    watchlists: tuple[WatchlistConfig, ...] = ()
    subscribers: tuple[SubscriberConfig, ...] = ()
    operators: tuple[OperatorConfig, ...] = ()

    def feed(self, feed_id: str) -> FeedConfig:
        return next(f for f in self.feeds if f.id == feed_id)

    def proxy(self, feed: FeedConfig) -> str | None:
        return feed.proxy or self.fetch.proxy

    def user_agent(self, feed: FeedConfig) -> str | None:
        return feed.user_agent or self.fetch.user_agent

    def telegram_backfill(self, feed: FeedConfig) -> int:
        return feed.telegram_backfill or self.defaults.telegram_backfill

    def poll_interval(self, feed: FeedConfig) -> timedelta:
        return feed.poll_interval or self.defaults.poll_interval

    def stale_after(self, feed_id: str) -> timedelta | None:
        """How long without a new entry makes the feed stale (None: from its rhythm)."""
        feed = next((f for f in self.feeds if f.id == feed_id), None)
        return (feed and feed.stale_after) or self.defaults.stale_after

    def watchlist_specs(self) -> tuple[WatchlistSpec, ...]:
        """The watch lists as the pure matcher wants them."""
        return tuple(_watchlist_spec(w) for w in self.watchlists)


def person_id(person: PersonConfig) -> str:
    """Stable id: the configured one, else a slug of the canonical name."""
    return person.id or _slug(person.name)


def _slug(name: str) -> str:
    """Runs twice per person on every load (validation, then the matcher's specs): words
    of letters and digits only, the common case, are joined without a regex."""
    folded = name.casefold()
    words = folded.split()
    plain = "".join(words).isalnum()
    slug = "-".join(words) if plain else _NOT_WORD.sub("-", folded).strip("-")
    return slug or hashlib.sha256(name.encode()).hexdigest()[:12]


def _watchlist_spec(w: WatchlistConfig) -> WatchlistSpec:
    return WatchlistSpec(
        id=w.id,
        title=w.title,
        people=tuple(
            PersonSpec(
                id=person_id(p),
                name=p.name,
                aliases=p.aliases,
                match_surname_alone=p.match_surname_alone,
                exclude=p.exclude,
            )
            for p in w.people
        ),
        keywords=w.keywords,
        require=w.require,
        exclude=w.exclude,
        near=tuple(NearSpec(terms=n.terms, within=n.within) for n in w.near),
        fields=w.fields,
        languages=w.languages,
        feeds=w.feeds or (),
    )


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid configuration with where it came from and its version."""

    config: Config
    path: Path
    version: str
    """SHA-256 of the file's bytes: caches (the compiled matcher) key on it."""


# --- locating problems in the file ------------------------------------------

Loc = tuple[str | int, ...]


class _LineIndex:
    """Maps key paths to the 1-based line where they are written."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.lines: dict[Loc, int] = {}
        self.duplicates: list[tuple[Loc, int]] = []
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    self.duplicates.append(((*loc, key), key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
                self._walk(value_node, (*loc, key))
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*loc, i))

    def line(self, loc: Loc) -> int | None:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def key_lines(path: Path) -> Callable[[Loc], int | None]:
    """Key path → its line in the (already validated) file, for checks made after loading."""
    return _LineIndex(_load_yaml(path.read_text(encoding="utf-8-sig"))[0]).line


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _pydantic_problems(error: ValidationError, path: str, index: _LineIndex) -> list[ConfigProblem]:
    problems = []
    for err in error.errors():
        # pydantic adds validator and union branch names to loc; keep only the
        # parts that are real keys or indexes in the file (or the missing key).
        loc: Loc = ()
        raw_loc = err["loc"]
        for i, part in enumerate(raw_loc):
            is_last = i == len(raw_loc) - 1
            if (*loc, part) in index.lines or (is_last and err["type"] == "missing"):
                loc = (*loc, part)
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif err["type"] == "missing":
            message = f"missing required key {loc[-1]!r}" if loc else "missing required key"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        message = pydantic_message(err, loc, message, Config)
        problems.append(ConfigProblem(path, index.line(loc), format_loc(loc), message))
    return problems


def _items(data: Mapping[str, object], key: str) -> list[tuple[int, Mapping[str, object]]]:
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _strings(item: Mapping[str, object], key: str) -> list[tuple[int, str]]:
    value = item.get(key)
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


def _cross_reference_problems(
    data: Mapping[str, object], environ: Mapping[str, str]
) -> list[tuple[Loc, str]]:
    """Checks between sections, run on the raw data so they report alongside schema errors."""
    problems: list[tuple[Loc, str]] = []
    ids: dict[str, set[str]] = {}
    for kind in ("feeds", "watchlists", "subscribers", "operators"):
        seen = ids.setdefault(kind, set())
        for i, item in _items(data, kind):
            item_id = item.get("id")
            if isinstance(item_id, str):
                if item_id in seen:
                    problems.append(((kind, i, "id"), f"duplicate id {item_id!r}"))
                seen.add(item_id)
    fetch = data.get("fetch")
    if isinstance(fetch, Mapping) and fetch.get("require_proxy") is True and not fetch.get("proxy"):
        for fi, feed in _items(data, "feeds"):
            url = feed.get("url")
            if not feed.get("proxy") and not (isinstance(url, str) and url.startswith("file:")):
                problems.append(
                    (
                        ("feeds", fi, "url"),
                        "fetch.require_proxy is on but this feed has no proxy "
                        "(set fetch.proxy or the feed's proxy)",
                    )
                )
    for wi, w in _items(data, "watchlists"):
        for fi, feed_id in _strings(w, "feeds"):
            if feed_id not in ids["feeds"]:
                problems.append((("watchlists", wi, "feeds", fi), f"unknown feed {feed_id!r}"))
        person_ids: set[str] = set()
        for pi, p in _items(w, "people"):
            name, pid = p.get("name"), p.get("id")
            if isinstance(pid, str) or isinstance(name, str):
                key = pid if isinstance(pid, str) else _slug(str(name))
                if key in person_ids:
                    problems.append((("watchlists", wi, "people", pi), f"duplicate person {key!r}"))
                person_ids.add(key)
    for si, s in _items(data, "subscribers"):
        for wi, watchlist_id in _strings(s, "watchlists"):
            if watchlist_id not in ids["watchlists"]:
                problems.append(
                    (("subscribers", si, "watchlists", wi), f"unknown watch list {watchlist_id!r}")
                )
        secret_env = s.get("secret_env")
        if isinstance(secret_env, str) and not environ.get(secret_env):
            problems.append(
                (
                    ("subscribers", si, "secret_env"),
                    f"environment variable {secret_env} is not set (it holds the webhook secret)",
                )
            )
        elif isinstance(secret_env, str) and (bad := _bad_webhook_secret(environ[secret_env])):
            problems.append((("subscribers", si, "secret_env"), f"{secret_env}: {bad}"))
        apprise = s.get("apprise")
        for name in _ENV_REF.findall(apprise) if isinstance(apprise, str) else ():
            if not environ.get(name):
                problems.append(
                    (
                        ("subscribers", si, "apprise"),
                        f"environment variable {name} is not set (used in the Apprise URL)",
                    )
                )
    for oi, operator in _items(data, "operators"):
        secret_env = operator.get("secret_env")
        if isinstance(secret_env, str) and not environ.get(secret_env):
            problems.append(
                (
                    ("operators", oi, "secret_env"),
                    f"environment variable {secret_env} is not set (it holds the webhook secret)",
                )
            )
    return problems


def _bad_webhook_secret(value: str) -> str | None:
    """Why a webhook secret variable is unusable, or None.

    It holds one ``whsec_`` secret, or two separated by a space while secrets
    are being rotated (every message is then signed with both).
    """
    secrets = value.split()
    if not 1 <= len(secrets) <= 2:
        return "expected one whsec_ secret, or two separated by a space during a rotation"
    for secret in secrets:
        if not secret.startswith("whsec_"):
            return "a webhook secret must start with whsec_ (Standard Webhooks format)"
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            return "the part after whsec_ is not valid base64"
        if not 24 <= len(key) <= 64:
            return "a webhook secret must decode to between 24 and 64 bytes"
    return None


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's nodes (for line numbers) and its data, from one parse, with libyaml's
    C parser where PyYAML has it: a watch list of 10,000 names loads in a fraction of a
    second instead of several seconds, in every worker process. Safe loading either way."""
    loader = _SAFE_LOADER(text)
    try:
        root = loader.get_single_node()
        return root, None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


def parse_config(
    text: str, path: str = "<config>", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate YAML text; raise ConfigError listing every problem with its line."""
    return _parse_config(text, path, environ)[0]


def _validate_data(data: Any, environ: Mapping[str, str] | None) -> Config | None:
    """The configuration of data parsed earlier from the same bytes (so without
    duplicate keys); None if it is no longer valid, which only the environment can
    change (the full parse then says where)."""
    if not isinstance(data, dict) or _cross_reference_problems(data, environ or {}):
        return None
    try:
        return Config.model_validate(data)
    except ValidationError:
        return None


def _parse_config(text: str, path: str, environ: Mapping[str, str] | None) -> tuple[Config, Any]:
    """The configuration and the plain data it was validated from."""
    try:
        root, data = _load_yaml(text)
    except yaml.MarkedYAMLError as e:
        line, message = yaml_message(e, text)
        raise ConfigError([ConfigProblem(path, line, "", message)]) from e
    except yaml.YAMLError as e:
        raise ConfigError([ConfigProblem(path, None, "", f"invalid YAML: {e}")]) from e
    index = _LineIndex(root)
    problems = [
        ConfigProblem(path, line, format_loc(loc), f"key {loc[-1]!r} is given twice")
        for loc, line in index.duplicates
    ]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(
            ConfigProblem(
                path, 1, "", "the file must be a mapping with feeds, watchlists and subscribers"
            )
        )
        raise ConfigError(problems)
    for loc, message in _cross_reference_problems(data, environ or {}):
        problems.append(ConfigProblem(path, index.line(loc), format_loc(loc), message))
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, path, index))
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0)) from e
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return config, data


def load_config(
    path: str | Path, environ: Mapping[str, str] | None = None, cache: Path | None = None
) -> LoadedConfig:
    """Read and validate a configuration file; ``cache``: a folder where the parsed YAML
    of a valid file is kept sealed (:mod:`worker.config_cache`)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise ConfigError([ConfigProblem(str(path), None, "", "file not found")]) from e
    except OSError as e:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {e.strerror}")]) from e
    version = hashlib.sha256(raw).hexdigest()
    key = (version, path, frozenset(environ.items()) if environ is not None else None)
    if _last_loaded is not None and _last_loaded[0] == key:
        return _last_loaded[1]  # start-up reads the same file three times: parse it once
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError([ConfigProblem(str(path), None, "", "not UTF-8 text")]) from e
    with collector_paused():
        cached = config_cache.read(cache, version) if cache is not None else None
        config = _validate_data(cached, environ) if cached is not None else None
        if config is None:
            config, data = _parse_config(text, str(path), environ)
            if cache is not None:
                config_cache.write(cache, version, data)
    config = _resolve_local_feeds(config, path.parent)
    config = _resolve_pgp_keys(config, path)
    loaded = LoadedConfig(config=config, path=path, version=version)
    if b"pgp_key" not in raw:  # a key read from its own file may change on its own
        _remember(key, loaded)
    return loaded


_last_loaded: tuple[Any, LoadedConfig] | None = None


def _remember(key: Any, loaded: LoadedConfig) -> None:
    global _last_loaded
    _last_loaded = (key, loaded)


def _resolve_local_feeds(config: Config, base: Path) -> Config:
    """``file:feeds/x.xml`` is relative to the config file's folder; make it absolute."""
    feeds = []
    for feed in config.feeds:
        parts = urlsplit(feed.url)
        if parts.scheme == "file" and not parts.netloc and not parts.path.startswith("/"):
            feed = feed.model_copy(update={"url": (base / parts.path).resolve().as_uri()})
        feeds.append(feed)
    return config.model_copy(update={"feeds": tuple(feeds)})


def _resolve_pgp_keys(config: Config, path: Path) -> Config:
    """A ``pgp_key`` that is not an armoured key is a file (relative to the config's folder)."""
    subscribers = []
    problems = []
    for index, subscriber in enumerate(config.subscribers):
        key = subscriber.pgp_key
        if key is not None and not key.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----"):
            try:
                armoured = (path.parent / key).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                loc = f"subscribers[{index}].pgp_key"
                problems.append(ConfigProblem(str(path), None, loc, f"cannot read {key}: {e}"))
                continue
            subscriber = subscriber.model_copy(update={"pgp_key": armoured})
        if subscriber.pgp_key is not None:
            try:
                check_public_key(subscriber.pgp_key)
            except ValueError as e:
                loc = f"subscribers[{index}].pgp_key"
                problems.append(ConfigProblem(str(path), None, loc, str(e)))
                continue
        subscribers.append(subscriber)
    if problems:
        raise ConfigError(problems)
    return config.model_copy(update={"subscribers": tuple(subscribers)})


def summary(config: Config) -> str:
    people = sum(len(w.people) for w in config.watchlists)
    keywords = sum(len(w.keywords) for w in config.watchlists)
    return (
        f"{_count(len(config.feeds), 'feed')}, {_count(len(config.watchlists), 'watch list')} "
        f"({_count(people, 'person', 'people')}, {_count(keywords, 'keyword')}), "
        f"{_count(len(config.subscribers), 'subscriber')}"
    )


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"
