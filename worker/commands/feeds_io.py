"""``rightswatch feeds discover|import|export``: find feeds, bring them in, take them out.

``discover`` fetches a page as polling would (the configured proxy and
User-Agent) and prints the feeds it advertises with a YAML snippet; ``import``
turns an OPML export of another reader into ``feeds:`` entries (or, with
``--write``, appends them to the configuration, keeping its comments); ``export``
prints the configured feeds as OPML 2.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from worker.commands.common import config_option, settings_for
from worker.commands.opml import (
    NewFeed,
    OpmlError,
    append_feeds,
    plan_import,
    read_opml,
    replace_atomically,
    unique_id,
    write_opml,
    yaml_entries,
)
from worker.config import Config, load_config
from worker.core.errors import ConfigError, RightswatchError
from worker.settings import Settings

if TYPE_CHECKING:
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.core.types import FetchResult

_TELEGRAM_HOSTS = ("t.me", "telegram.me")


@click.command("discover")
@click.argument("url")
@config_option
def discover_command(url: str, config_path: Path | None) -> None:
    """Print the feeds a web page advertises, and a YAML snippet to configure them."""
    settings = settings_for(config_path)
    config = load_config(settings.config_path, settings.environ).config
    taken = {f.id for f in config.feeds}
    parts = urlsplit(url)
    if (parts.hostname or "").lower() in _TELEGRAM_HOSTS:
        channel = parts.path.strip("/").removeprefix("s/").partition("/")[0]
        click.echo(f"{url} is the Telegram channel {channel!r}:\n")
        click.echo(f"feeds:\n  - id: {unique_id(channel, url, taken)}\n    telegram: {channel}")
        return
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.ingest.sources import SourceSpec, parse_source
    from worker.ingest.sources.discovery import advertised_feeds

    result = _fetch(url, config, settings)
    try:
        feed = parse_source(SourceSpec(), result.body, result.url, result.content_type)
    except RightswatchError as error:
        found = advertised_feeds(result.body, result.url, result.content_type)
        if not found:
            raise click.ClickException(
                f"{url}: no feed here and none advertised ({error}); if the page lists "
                "items, read it with an html: mapping (see the README)"
            ) from error
        for advertised in found:
            click.echo(f"{advertised.url}  {advertised.type}  {advertised.title or ''}".rstrip())
        new = []
        for advertised in found:
            feed_id = unique_id(advertised.title, advertised.url, taken)
            new.append(NewFeed(feed_id, advertised.url, advertised.title))
            taken.add(feed_id)
        click.echo("\nfeeds:\n" + yaml_entries(new), nl=False)
        return
    click.echo(f"{url} is a feed ({len(feed.entries)} entries):\n")
    new = [NewFeed(unique_id(feed.title, url, taken), url, feed.title)]
    click.echo("feeds:\n" + yaml_entries(new), nl=False)


def _fetch(url: str, config: Config, settings: Settings) -> FetchResult:
    """GET ``url`` as polling would: through the proxy, with the User-Agent, of the config."""
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.ingest.policy import PollPolicy
    from worker.ingest.sources import SourceSpec, fetch_once

    feed_id = next((f.id for f in config.feeds if f.url == url), "rightswatch-discover")
    limits = PollPolicy.from_config(config, feed_id).limits
    if config.fetch.require_proxy and limits.proxy is None:
        raise click.ClickException(
            "fetch.require_proxy is on and no proxy is configured for this URL (set fetch.proxy)"
        )
    return fetch_once(settings, SourceSpec(), url, limits)


@click.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--write", is_flag=True, help="Append them to the config file, keeping its comments.")
@config_option
def import_command(opml_file: Path, write: bool, config_path: Path | None) -> None:
    """Print YAML feeds: entries for the OPML file's feeds not yet configured.

    Ids are derived from the titles (unique and valid); feeds already configured,
    listed twice or not fetchable are left out, each with a note on stderr.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.commands.progress import shown

    settings = settings_for(config_path)
    path = settings.config_path
    try:
        outlines = read_opml(opml_file.read_bytes())
    except OpmlError as error:
        raise click.ClickException(f"{opml_file}: {error}") from error
    config = load_config(path, settings.environ).config if write or path.exists() else Config()
    with shown() as progress:
        new, notes = plan_import(outlines, config, progress)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not new:
        click.echo(f"nothing to import: every feed of {opml_file} is configured", err=True)
        return
    if not write:
        click.echo("feeds:\n" + yaml_entries(new), nl=False)
        return
    try:
        text = append_feeds(path.read_text(encoding="utf-8"), new)
    except (OpmlError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{path}: {error}") from error
    _check_and_replace(path, text, settings)
    click.echo(f"{path}: added {len(new)} feed{'s' if len(new) != 1 else ''}")


def _check_and_replace(path: Path, text: str, settings: Settings) -> None:
    """Write the new configuration only if it is valid (checked beside the file, so relative
    paths in it mean the same)."""
    trial = path.with_name(f".{path.name}.import-check")
    trial.write_text(text, encoding="utf-8")
    try:
        load_config(trial, settings.environ)
    except ConfigError as error:
        for problem in error.problems:
            click.echo(str(problem).replace(str(trial), str(path)), err=True)
        raise click.ClickException(f"{path}: not changed: the result would not be valid") from error
    finally:
        trial.unlink(missing_ok=True)
    replace_atomically(path, text)


@click.command("export")
@config_option
def export_command(config_path: Path | None) -> None:
    """Print the configured RSS, Atom and JSON feeds as OPML 2.0."""
    settings = settings_for(config_path)
    click.echo(write_opml(load_config(settings.config_path, settings.environ).config), nl=False)
