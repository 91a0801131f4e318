"""OPML in and out, and new ``feeds:`` entries written into a configuration's text.

OPML is read with expat and refused outright when it has a DOCTYPE (no entity,
internal or external, is ever expanded), when it is larger than
:data:`MAX_OPML_BYTES` or lists more than :data:`MAX_OUTLINES` outlines.
Entries are added to a configuration as text at the end of its ``feeds:``
block, so its comments and layout stay as the operator wrote them.
"""

from __future__ import annotations

import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from xml.parsers import expat

import yaml
from pydantic import ValidationError

from worker.config import Config, FeedConfig
from worker.core.dedup import canonical_link
from worker.core.errors import RightswatchError
from worker.core.progress import Progress, silent
from worker.matching.folding import _CYRILLIC  # the matcher's Cyrillic → Latin letters

MAX_OPML_BYTES = 10 * 1024 * 1024
MAX_OUTLINES = 50_000
EXPORTED_KINDS = ("auto", "rss", "atom", "json")
"""Feeds another reader can subscribe to (not pages read with selectors, not Telegram)."""
_WORD = re.compile(r"\w+")
_TO_LATIN = str.maketrans(_CYRILLIC)
_ID_LENGTH = 60
_TITLE_LENGTH = 200


class OpmlError(RightswatchError):
    """An OPML file that cannot be (or must not be) read, or a config it cannot go into."""


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed of an OPML file."""

    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed to add to the configuration."""

    id: str
    url: str
    title: str | None


def read_opml(data: bytes) -> list[Outline]:
    """The outlines with an ``xmlUrl``, at any depth, in document order."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"the OPML file is larger than {MAX_OPML_BYTES:,} bytes")
    outlines: list[Outline] = []
    seen_root: list[str] = []
    count = 0

    def refuse(*_: object) -> None:
        raise OpmlError("refused: the OPML file has a DOCTYPE (its entities could expand)")

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        if not seen_root:
            seen_root.append(name)
            if name != "opml":
                raise OpmlError(f"not an OPML file (its root element is <{name}>)")
        if name != "outline":
            return
        count += 1
        if count > MAX_OUTLINES:
            raise OpmlError(f"the OPML file has more than {MAX_OUTLINES:,} outlines")
        lowered = {key.lower(): value for key, value in attributes.items()}
        url = (lowered.get("xmlurl") or "").strip()
        if url:
            title = _clean(lowered.get("title") or "") or _clean(lowered.get("text") or "")
            outlines.append(Outline(url, title or None))

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise OpmlError(
            f"the OPML file is not well-formed XML (line {e.lineno}: {expat.ErrorString(e.code)})"
        ) from e
    if not seen_root:
        raise OpmlError("the OPML file is empty")
    return outlines


def _clean(text: str) -> str:
    printable = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(printable.split())[:_TITLE_LENGTH].strip()


def plan_import(
    outlines: Sequence[Outline], config: Config, progress: Progress = silent
) -> tuple[list[NewFeed], list[str]]:
    """The outlines not yet configured as new feeds, and a note for each one left out."""
    configured = {canonical_link(f.url) for f in config.feeds}
    listed: set[str] = set()
    taken = {f.id for f in config.feeds}
    new: list[NewFeed] = []
    notes: list[str] = []
    for done, outline in enumerate(outlines, 1):
        progress("Reading feeds", done, len(outlines))
        key = canonical_link(outline.url)
        if key in configured or key in listed:
            where = "already configured" if key in configured else "listed twice"
            notes.append(f"{where}: {outline.url[:200]}")
            continue
        feed_id = unique_id(outline.title, outline.url, taken)
        try:
            FeedConfig.model_validate({"id": feed_id, "title": outline.title, "url": outline.url})
        except ValidationError as e:
            notes.append(f"left out {outline.url[:200]}: {e.errors()[0]['msg']}")
            continue
        if urlsplit(outline.url).scheme == "file":
            notes.append(f"left out {outline.url[:200]}: a local file of another machine")
            continue
        listed.add(key)
        taken.add(feed_id)
        new.append(NewFeed(feed_id, outline.url, outline.title))
    return new, notes


def unique_id(title: str | None, url: str, taken: Collection[str]) -> str:
    """A valid feed id from the title (else the URL's host and path), not among ``taken``."""
    parts = urlsplit(url)
    base = _slug(title or "") or _slug(f"{parts.hostname or ''} {parts.path}") or "feed"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _slug(text: str) -> str:
    words = []
    for word in _WORD.findall(text.lower()):
        latin = unicodedata.normalize("NFKD", word.translate(_TO_LATIN))
        latin = re.sub(r"[^a-z0-9]+", "", latin.encode("ascii", "ignore").decode())
        if latin:
            words.append(latin)
    slug = "-".join(words)[:_ID_LENGTH].strip("-")
    return slug if slug[:1].isalnum() else ""


def yaml_entries(feeds: Iterable[NewFeed], dash: str = "  ", key: str = "    ") -> str:
    """The feeds as YAML list items (quoted as JSON strings, which YAML reads as written)."""
    lines = []
    for feed in feeds:
        lines.append(f"{dash}- id: {feed.id}")
        if feed.title:
            lines.append(f"{key}title: {json.dumps(feed.title, ensure_ascii=False)}")
        lines.append(f"{key}url: {json.dumps(feed.url, ensure_ascii=False)}")
    return "".join(line + "\n" for line in lines)


def append_feeds(text: str, feeds: list[NewFeed]) -> str:
    """The configuration's text with ``feeds`` added at the end of its ``feeds:`` block."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        raise OpmlError(f"the configuration is not valid YAML: {e}") from e
    if not text.endswith("\n") and text:
        text += "\n"
    if root is None:
        return text + "feeds:\n" + yaml_entries(feeds)
    if not isinstance(root, yaml.MappingNode):
        raise OpmlError("the configuration is not a mapping")
    found = next(((k, v) for k, v in root.value if k.value == "feeds"), None)
    if found is None:
        return text + "feeds:\n" + yaml_entries(feeds)
    key_node, value = found
    empty_list = isinstance(value, yaml.SequenceNode) and value.flow_style and not value.value
    if empty_list or (isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")):
        # `feeds:`, `feeds: ~` or `feeds: []`: the entries go on the lines after the key
        if value.end_mark.index > value.start_mark.index:
            text = text[: value.start_mark.index].rstrip(" ") + text[value.end_mark.index :]
        at = _line_end(text, key_node.end_mark.index) + 1
        return text[:at] + yaml_entries(feeds) + text[at:]
    if not isinstance(value, yaml.SequenceNode) or value.flow_style:
        raise OpmlError("the configuration's feeds: is not a block list; add the feeds by hand")
    first_item = value.value[0]
    dash = text[: first_item.start_mark.index].rpartition("\n")[2].partition("-")[0]
    key = " " * first_item.start_mark.column
    end = _last_value(value).end_mark
    at = end.index if end.column == 0 else _line_end(text, end.index) + 1
    return text[:at] + yaml_entries(feeds, dash, key) + text[at:]


def _last_value(node: yaml.Node) -> yaml.Node:
    """The node written last inside ``node`` (its end is where the block's text ends)."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    return node


def _line_end(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end == -1 else end


def write_opml(config: Config) -> str:
    """OPML 2.0 of the feeds another reader can subscribe to."""
    root = ET.Element("opml", version="2.0")
    ET.SubElement(ET.SubElement(root, "head"), "title").text = "rightswatch feeds"
    body = ET.SubElement(root, "body")
    for feed in config.feeds:
        if feed.kind in EXPORTED_KINDS and urlsplit(feed.url).scheme in ("http", "https"):
            title = feed.title or feed.id
            attributes = {"type": "rss", "text": title, "title": title, "xmlUrl": feed.url}
            ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it (same permissions)."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.chmod(path.stat().st_mode & 0o7777)
    partial.replace(path)
