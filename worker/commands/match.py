"""`rightswatch match`: run the configured watch lists over files, feeds or URLs.

A monitor can check what a watch list would catch before waiting for the feeds:

    rightswatch match --config rightswatch.yaml report.txt feed.xml https://example.org/rss
    cat article.txt | rightswatch match --config rightswatch.yaml --format jsonl -

The configuration and feed-handling modules are imported inside the command, so
that importing this module (and testing the matching engine) needs neither.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from worker.core.errors import RightswatchError
from worker.core.types import Document, Hit, ParsedFeed, WatchlistSpec
from worker.matching import Matcher, compile_matcher
from worker.matching.explain import explain as explain_hit

_TEXT_SUFFIXES: Final = frozenset({".txt", ".md"})
_FEED_SUFFIXES: Final = frozenset({".xml", ".rss", ".atom", ".rdf"})
_FEED_STARTS: Final = (b"<?xml", b"<rss", b"<feed", b"<rdf:RDF")

if TYPE_CHECKING:
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.config import Config

Source = tuple[str, Document]
"""Where a document came from (path, path#item or URL#item) and the document."""


@click.command(
    "match",
    epilog="Feed restrictions of watch lists are ignored: the inputs are not configured feeds.",
)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The rightswatch configuration (YAML).",
)
@click.option(
    "--watchlist",
    "watchlist_ids",
    multiple=True,
    metavar="ID",
    help="Only this watch list (repeat for several).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
)
@click.option(
    "--explain",
    is_flag=True,
    help="For each hit, the rule chain: configured spelling → reading → folded key → text form.",
)
@click.argument("inputs", nargs=-1, metavar="[PATH|URL|-]...")
def match_command(
    config_path: Path,
    watchlist_ids: tuple[str, ...],
    output_format: str,
    explain: bool,
    inputs: tuple[str, ...],
) -> None:
    """Show what the watch lists find in text files, feed files, feed URLs or stdin.

    .txt and .md files (and stdin, -) are one document each; .xml, .rss and .atom
    files, files that look like a feed, and http(s) URLs are feeds, each item a
    document. With no input, stdin is read. Exits 0 whether or not anything is found.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.config import load_config

    try:
        config = load_config(config_path).config
        specs = _selected(config.watchlist_specs(), watchlist_ids)
        matcher = compile_matcher(specs)
        documents = [source for name in inputs or ("-",) for source in _documents(name, config)]
    except RightswatchError as error:
        raise click.ClickException(str(error)) from error
    for source, hit in _matches(matcher, documents):
        steps = explain_hit(specs, hit) if explain else []
        if output_format == "jsonl":
            record = _as_json(source, hit)
            if explain:
                record["explain"] = [step.as_dict() for step in steps]
            click.echo(json.dumps(record, ensure_ascii=False))
        else:
            click.echo(_as_text(source, hit))
            for step in steps:
                click.echo(f"    because {step}")


def _selected(specs: Sequence[WatchlistSpec], wanted: Sequence[str]) -> list[WatchlistSpec]:
    """The chosen watch lists, with their feed restrictions lifted."""
    known = {spec.id: spec for spec in specs}
    unknown = [watchlist_id for watchlist_id in wanted if watchlist_id not in known]
    if unknown:
        raise click.ClickException(
            f"unknown watch list {', '.join(map(repr, unknown))}; "
            f"the config has {', '.join(known) or 'none'}"
        )
    chosen = [known[watchlist_id] for watchlist_id in wanted] if wanted else list(specs)
    return [dataclasses.replace(spec, feeds=()) for spec in chosen]


def _documents(name: str, config: Config) -> list[Source]:
    if name == "-":
        text = sys.stdin.read()
        return [("-", _text_document(text))]
    if name.startswith(("http://", "https://")):
        return _url_documents(name, config)
    path = Path(name)
    try:
        body = path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"{name}: {error.strerror or error}") from error
    if path.suffix.lower() in _FEED_SUFFIXES or (
        path.suffix.lower() not in _TEXT_SUFFIXES and _looks_like_feed(body)
    ):
        return _feed_documents(body, name)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{name}: not UTF-8 text") from error
    return [(name, _text_document(text))]


def _url_documents(url: str, config: Config) -> list[Source]:
    """Fetch and read a URL as polling would: the feed's proxy, User-Agent and kind (a page
    read with selectors, a Telegram channel), else the global ones.

    A one-off check must not reveal the monitor any more than polling does. For a
    page read with selectors or a channel, what it yields is listed on stderr, so
    that the selectors can be tuned before the feed goes live.
    """
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.ingest.policy import PollPolicy
    from worker.ingest.sources import fetch_once, parse_source
    from worker.settings import load_settings

    feed = next((feed for feed in config.feeds if feed.url == url), None)
    policy = PollPolicy.from_config(config, feed.id if feed else "rightswatch-match")
    result = fetch_once(load_settings(), policy.source, url, policy.limits)
    parsed = parse_source(policy.source, result.body, result.url, result.content_type)
    if feed is not None and feed.kind in ("html", "telegram"):
        click.echo(f"{feed.id}: {len(parsed.entries)} items from {url}", err=True)
        for entry in parsed.entries:
            when = entry.published.date().isoformat() if entry.published else "-"
            click.echo(f"  {when}  {entry.title}  {entry.link or '(no link)'}", err=True)
    return _entry_documents(parsed, url)


def _text_document(text: str) -> Document:
    return Document(fields={"content": unicodedata.normalize("NFC", text)})


def _looks_like_feed(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(_FEED_STARTS)


def _feed_documents(body: bytes, source: str) -> list[Source]:
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.ingest.sources import SourceSpec, parse_source

    return _entry_documents(parse_source(SourceSpec(), body, source), source)


def _entry_documents(feed: ParsedFeed, source: str) -> list[Source]:
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.ingest.normalise import normalise_entry

    if feed.problem:
        click.echo(f"warning: {source}: {feed.problem}", err=True)
    return [
        (f"{source}#{entry.link or index}", normalise_entry(entry, feed.language).document(None))
        for index, entry in enumerate(feed.entries)
    ]


def _matches(matcher: Matcher, documents: list[Source]) -> Iterator[tuple[str, Hit]]:
    # start-up: imported when the command runs, so `--help` and the light commands start fast
    from worker.commands.progress import shown

    with shown() as progress:
        for done, (source, document) in enumerate(documents, 1):
            for hit in matcher.match(document):
                yield source, hit
            progress("Matching", done, len(documents))


def _as_json(source: str, hit: Hit) -> dict[str, object]:
    return {
        "source": source,
        "watchlist": hit.watchlist_id,
        "kind": hit.kind,
        "term": hit.term,
        "text": hit.text,
        "field": hit.field,
        "start": hit.start,
        "end": hit.end,
        "variant": hit.variant,
        "score": hit.score,
        "snippet": hit.snippet,
    }


def _as_text(source: str, hit: Hit) -> str:
    """Two lines per hit; click.echo drops the colours when stdout is not a terminal."""
    marked = f"«{' '.join(hit.text.split())}»"
    found = click.style(marked, fg="yellow", bold=True)
    snippet = hit.snippet.replace(marked, found, 1)
    fields = (
        source,
        hit.watchlist_id,
        hit.kind,
        hit.term,
        found,
        f"{hit.field}:{hit.start}-{hit.end}",
        hit.variant,
    )
    return "  ".join(fields) + "\n    " + snippet
