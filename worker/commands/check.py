"""``rightswatch check-config [--online]``: will this configuration work here?

Without ``--online`` nothing is contacted: the file is validated, and every
channel that cannot work in this environment is an error — e-mail without
``RIGHTSWATCH_SMTP_URL``, ``apprise:`` without the extra installed, a webhook
written as a private or loopback address (or ``localhost``) without
``RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE``. Host names are not resolved offline.

``--online`` then tries each channel and feed once, sending nothing: the SMTP
server (connect, EHLO, STARTTLS and AUTH as configured, QUIT), each webhook (its
name resolved and checked like a delivery, then an unsigned ``OPTIONS`` request:
something must answer, 2xx, 405 or 501, not a redirect, a 404 or an error), each
Apprise URL (Apprise must accept it) and each feed (fetched once through its
proxy and parsed). The active subscribers made through the API, which live in the
database, are tried the same way (their webhooks, and the SMTP server for their
e-mail), named by id only: their addresses are personal data. ``rightswatch
test-alert`` sends a real, signed test message.
"""

from __future__ import annotations

import importlib
import importlib.util
import ipaddress
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import click

from worker.commands.common import config_option, settings_for
from worker.commands.subscribers import opted_out_in_database, read_database, unsubscribed_lines
from worker.config import (
    Config,
    LoadedConfig,
    Loc,
    SubscriberConfig,
    format_loc,
    key_lines,
    load_config,
    summary,
)
from worker.core.errors import ConfigError, ConfigProblem, DeliveryError, RightswatchError
from worker.core.types import WatchlistSpec
from worker.ingest.policy import PollPolicy
from worker.ingest.sources import fetch_once, parse_source
from worker.outbox.machine import resolve_env_refs
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.notify.webhook import WebhookNotifier

_WEBHOOK_ANSWERS = frozenset({405, 501})
"""Replies to OPTIONS that show a receiver is there (it takes POST only)."""


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of trying one channel or feed."""

    what: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{self.what}: {'ok' if self.ok else 'FAILED'}: {self.detail}"


def channels(config: Config) -> Iterator[tuple[str, int, SubscriberConfig]]:
    """(``subscribers`` or ``operators``, index, entry) of every enabled recipient."""
    for kind, entries in (("subscribers", config.subscribers), ("operators", config.operators)):
        for index, entry in enumerate(entries):
            if entry.enabled:
                yield kind, index, entry


def apprise_installed() -> bool:
    return importlib.util.find_spec("apprise") is not None


def channel_problems(loaded: LoadedConfig, settings: Settings) -> list[ConfigProblem]:
    """The channels of the configuration that cannot work in this environment."""
    line = key_lines(loaded.path)
    problems = []
    for kind, index, entry in channels(loaded.config):
        role = "subscriber" if kind == "subscribers" else "operator"
        key = entry.channel
        message = None
        if key == "email" and settings.smtp is None:
            message = (
                f"e-mail {role} but RIGHTSWATCH_SMTP_URL is not set, so every e-mail would "
                "fail: set it (e.g. smtp+starttls://user:password@mail.example.org:587)"
            )
        elif key == "apprise" and not apprise_installed():
            message = (
                f"apprise {role} but Apprise is not installed: pip install 'rightswatch[apprise]'"
            )
        elif key == "webhook" and entry.webhook is not None:
            message = _offline_webhook_problem(entry.webhook, settings)
        if message is not None:
            loc = (kind, index, key)
            where = f"{kind}[{index}].{key}"
            problems.append(ConfigProblem(str(loaded.path), line(loc), where, message))
    return problems


def matcher_problems(loaded: LoadedConfig) -> list[ConfigProblem]:
    """The names and terms the matcher refuses (a * inside a word, say), each at its line.

    The worker compiles the watch lists only when it first matches; compiling them
    here finds such a term before then. Only if that fails is each list, then each
    of its terms, people and near rules, compiled alone to say where.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.matching import compile_matcher

    def refusal(specs: list[WatchlistSpec]) -> str | None:
        try:
            compile_matcher(specs)
        except ConfigError as e:
            return "; ".join(problem.message for problem in e.problems)
        return None

    specs = loaded.config.watchlist_specs()
    if refusal(list(specs)) is None:
        return []
    line = key_lines(loaded.path)
    problems = []
    for index, spec in enumerate(specs):
        whole = refusal([spec])
        if whole is None:
            continue
        found = [
            (loc, message)
            for loc, part in _watchlist_parts(index, spec)
            if (message := refusal([part])) is not None
        ] or [(("watchlists", index), whole)]
        problems += [
            ConfigProblem(str(loaded.path), line(loc), format_loc(loc), message)
            for loc, message in found
        ]
    return problems


def _watchlist_parts(index: int, spec: WatchlistSpec) -> Iterator[tuple[Loc, WatchlistSpec]]:
    """(key path, a copy of the list with only that term, person or near rule) of each."""
    bare = replace(spec, people=(), keywords=(), require=(), exclude=(), near=())
    at: Loc = ("watchlists", index)
    for number, term in enumerate(spec.keywords):
        yield (*at, "keywords", number), replace(bare, keywords=(term,))
    for number, term in enumerate(spec.require):
        yield (*at, "require", number), replace(bare, require=(term,))
    for number, term in enumerate(spec.exclude):
        yield (*at, "exclude", number), replace(bare, exclude=(term,))
    for number, rule in enumerate(spec.near):
        yield (*at, "near", number), replace(bare, near=(rule,))
    for number, person in enumerate(spec.people):
        yield (*at, "people", number), replace(bare, people=(person,))


def _offline_webhook_problem(url: str, settings: Settings) -> str | None:
    """Refused like a delivery would be, for an address or localhost (no DNS offline)."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.security.destinations import pick_address, system_resolver

    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost" and not host.endswith(".localhost"):
            return None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        pick_address(
            host, port, allow_private=settings.webhook_allow_private, resolve=system_resolver
        )
    except DeliveryError as e:
        return str(e)
    return None


def online_checks(loaded: LoadedConfig, settings: Settings) -> Iterator[Check]:
    """Try the SMTP server, each webhook, Apprise URL and feed once; send nothing."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.notify.email import EmailNotifier
    from worker.notify.webhook import WebhookNotifier

    config = loaded.config
    smtp: Check | None = None
    if settings.smtp is not None:
        what = f"smtp {settings.smtp.host}:{settings.smtp.port}"
        try:
            smtp = Check(what, True, EmailNotifier(settings).check_server())
        except DeliveryError as e:
            smtp = Check(what, False, str(e))
        yield smtp
    webhooks = WebhookNotifier(settings)
    try:
        for kind, _, entry in channels(config):
            what = f"{kind.removesuffix('s')} {entry.id}"
            if entry.webhook is not None:
                yield _webhook_check(webhooks, f"{what} (webhook)", entry.webhook)
            elif entry.apprise is not None:
                yield _apprise_check(f"{what} (apprise)", resolve_env_refs(entry.apprise, settings))
        yield from _api_subscriber_checks(settings, webhooks, smtp)
    finally:
        webhooks.close()
    for feed in config.feeds:
        if feed.enabled:
            yield _feed_check(config, feed.id, feed.url, settings)


def _api_subscriber_checks(
    settings: Settings, webhooks: WebhookNotifier, smtp: Check | None
) -> Iterator[Check]:
    """The API's active subscribers: each webhook tried, the e-mail ones counted against
    the SMTP check; ids only, the host of a webhook masked in what is printed."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from sqlalchemy.exc import SQLAlchemyError

    # start-up: as above
    from worker.db import subscribers
    from worker.security import crypto

    crypto.configure(settings.encryption_key, settings.encryption_old_keys)
    try:
        rows = read_database(settings, subscribers.api_channels)
    except (SQLAlchemyError, RightswatchError) as e:
        reason = (str(e).splitlines() or [type(e).__name__])[0][:200]
        yield Check("api subscribers", False, f"the database could not be read ({reason})")
        return
    emails = [subscriber_id for subscriber_id, channel, _ in rows if channel == "email"]
    if emails:
        what = f"api subscribers by e-mail ({len(emails)}: {', '.join(emails)})"
        if smtp is None:
            yield Check(what, False, "RIGHTSWATCH_SMTP_URL is not set")
        else:
            yield Check(what, smtp.ok, f"through {smtp.what}")
    for subscriber_id, channel, address in rows:
        if channel == "webhook":
            check = _webhook_check(webhooks, f"api subscriber {subscriber_id} (webhook)", address)
            host = urlsplit(address).hostname or address
            detail = check.detail.replace(address, "its URL").replace(host, "the receiver")
            yield Check(check.what, check.ok, detail)


def _webhook_check(webhooks: WebhookNotifier, what: str, url: str) -> Check:
    host = urlsplit(url).hostname
    try:
        status = webhooks.probe(url)
    except DeliveryError as e:
        return Check(what, False, str(e))
    if status < 300 or status in _WEBHOOK_ANSWERS:
        return Check(what, True, f"{host} answers (HTTP {status} to OPTIONS)")
    if status < 400:
        return Check(what, False, f"{host} answers HTTP {status}: deliveries follow no redirect")
    if status in (404, 410):
        return Check(what, False, f"{host} answers HTTP {status}: no receiver at this URL")
    return Check(what, False, f"{host} answers HTTP {status}")


def _apprise_check(what: str, url: str) -> Check:
    if not apprise_installed():
        return Check(what, False, "Apprise is not installed: pip install 'rightswatch[apprise]'")
    apprise = importlib.import_module("apprise")
    if not apprise.Apprise().add(url):
        return Check(what, False, "Apprise does not accept this URL (unknown scheme or malformed)")
    return Check(what, True, f"Apprise accepts the {urlsplit(url).scheme}:// URL")


def _feed_check(config: Config, feed_id: str, url: str, settings: Settings) -> Check:
    policy = PollPolicy.from_config(config, feed_id)
    via = " through its proxy" if policy.limits.proxy else ""
    try:
        result = fetch_once(settings, policy.source, url, policy.limits)
        parsed = parse_source(policy.source, result.body, result.url, result.content_type)
    except RightswatchError as e:
        return Check(f"feed {feed_id}", False, f"{e}{via}")
    count = len(parsed.entries)
    return Check(
        f"feed {feed_id}",
        True,
        f"HTTP {result.status}{via}, {count} entr{'y' if count == 1 else 'ies'}",
    )


@click.command("check-config")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option(
    "--online",
    is_flag=True,
    help="Also try the SMTP server, each webhook, Apprise URL and feed once (sends nothing).",
)
def check_config_command(path: Path | None, config_path: Path | None, online: bool) -> None:
    """Validate a configuration file; print every problem with file:line."""
    settings = settings_for(path or config_path)
    try:
        loaded = load_config(settings.config_path, settings.environ)
    except ConfigError as e:
        _fail(settings.config_path, [str(p) for p in e.problems])
    problems = [str(p) for p in matcher_problems(loaded) + channel_problems(loaded, settings)]
    for problem in problems:
        click.echo(problem, err=True)
    failed = 0
    if online:
        for check in online_checks(loaded, settings):
            click.echo(str(check))
            failed += not check.ok
    if problems or failed:
        _fail(settings.config_path, [], len(problems), failed)
    click.echo(f"{settings.config_path}: OK: {summary(loaded.config)}")
    for line in unsubscribed_lines(opted_out_in_database(settings)):
        click.echo(line)


def _fail(path: Path, problems: list[str], count: int = 0, failed: int = 0) -> NoReturn:
    for problem in problems:
        click.echo(problem, err=True)
    count += len(problems)
    parts = [f"{count} problem{'s' if count != 1 else ''}"] if count or not failed else []
    if failed:
        parts.append(f"{failed} online check{'s' if failed != 1 else ''} failed")
    click.echo(f"{path}: {', '.join(parts)}", err=True)
    sys.exit(1)
