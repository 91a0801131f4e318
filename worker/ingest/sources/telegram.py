"""Public Telegram channels, read from their web preview ``https://t.me/s/<channel>``.

No account and no API key: the preview is the page t.me shows anyone (the
approach of RSS-Bridge's TelegramBridge). Its markup, as the preview serves
it: a ``section.tgme_channel_history`` of ``div.tgme_widget_message_wrap``
blocks, oldest first, each holding a ``div.tgme_widget_message`` whose
``data-post`` is ``<channel>/<id>``; inside, an optional
``.tgme_widget_message_forwarded_from`` ("Forwarded from …"), an optional
``a.tgme_widget_message_reply`` quoting the post replied to (its author in
``.tgme_widget_message_author_name``, its text in ``.js-message_reply_text``
or ``.tgme_widget_message_metatext``), media (photo, video, document, poll…),
the text or caption in ``.tgme_widget_message_text.js-message_text`` (lines
as ``<br>``), a link preview, and the footer's
``a.tgme_widget_message_date`` around ``<time datetime="…">``. Above the posts
an ``a.tme_messages_more`` with ``data-before="<id>"`` links to the older ones
(``?before=<id>``). A channel that does not exist or is private has no such
page: t.me redirects to a contact page without any of it.

The walk (:func:`fetch_channel`) reads the newest page, then older pages
through the same :class:`~worker.ingest.fetch.Fetcher` (proxy, User-Agent,
limits, and the host gate: t.me is one host for every channel) until it
reaches the newest post seen at the last poll, or, on the first poll, until it
has ``telegram_backfill`` posts. The pages travel to the parser as one body.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.core.errors import ParseError
from worker.core.types import FetchResult, ParsedEntry, ParsedFeed
from worker.ingest.fetch import Fetcher, FetchLimits
from worker.ingest.normalise import html_to_text
from worker.ingest.sources.html_tree import (
    Element,
    first,
    outer_html,
    read_html,
    select,
    shorten,
    text_of,
)

PAGE_BREAK = b"\n<!-- rightswatch: the next, older page of the channel -->\n"
"""Between the pages of one poll's body (libxml2 reads one document per parse)."""
MAX_PAGES = 60
"""A poll reads at most this many pages, whatever the pages say."""
TITLE_LENGTH = 100

_MESSAGE = ".tgme_widget_message[data-post]"
_TEXT = ".tgme_widget_message_text.js-message_text"
_FORWARDED = ".tgme_widget_message_forwarded_from"
_REPLY = ".tgme_widget_message_reply"
_REPLY_AUTHOR = ".tgme_widget_message_author_name"
_REPLY_TEXT = ".js-message_reply_text, .tgme_widget_message_metatext"
_DATE = ".tgme_widget_message_date time[datetime]"
_PREVIEW = ".tgme_widget_message_link_preview"
_PREVIEW_PARTS = (".link_preview_site_name", ".link_preview_title", ".link_preview_description")
_MORE = "a.tme_messages_more[data-before]"
_CHANNEL = ".tgme_channel_info, .tgme_channel_history"
_CHANNEL_TITLE = ".tgme_channel_info_header_title"
_MEDIA = (
    ("photo", ".tgme_widget_message_photo_wrap", None),
    ("video", ".tgme_widget_message_video_player, .tgme_widget_message_roundvideo_player", None),
    ("voice message", ".tgme_widget_message_voice", None),
    ("document", ".tgme_widget_message_document", ".tgme_widget_message_document_title"),
    ("poll", ".tgme_widget_message_poll", ".tgme_widget_message_poll_question"),
    ("sticker", ".tgme_widget_message_sticker_wrap", None),
    ("location", ".tgme_widget_message_location_wrap", None),
)
"""(label, what marks it, where its name is): what a post without text shows."""
_POST = re.compile(r"^([A-Za-z0-9_]{1,64})/(\d{1,18})$")


def fetch_channel(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    limits: FetchLimits,
    last_seen: int | None,
    backfill: int,
) -> FetchResult:
    """The channel's newest page and as many older ones as this poll needs, as one body.

    A 304 on the newest page means nothing changed. Any page that fails fails
    (or defers) the whole poll: a partial walk would leave a gap behind.
    """
    result = fetcher.fetch(url, etag=etag, last_modified=last_modified, limits=limits)
    if result.not_modified or urlsplit(result.url).scheme == "file":
        return result
    bodies = [result.body]
    ids, before = _scan(result.body, result.content_type)
    count, oldest = len(ids), min(ids, default=None)
    while before is not None and len(bodies) < MAX_PAGES and count < backfill:
        if last_seen is not None and oldest is not None and oldest <= last_seen:
            break
        page = fetcher.fetch(older_page(result.url, before), limits=limits)
        ids, before = _scan(page.body, page.content_type)
        older = [i for i in ids if oldest is None or i < oldest]
        if not older:  # the page went nowhere older: the walk would not end
            break
        bodies.append(page.body)
        count, oldest = count + len(older), min(older)
    return replace(result, body=PAGE_BREAK.join(bodies))


def older_page(url: str, before: int) -> str:
    """The preview's URL for the posts older than ``before``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("before", "after")]
    return urlunsplit(parts._replace(query=urlencode([*query, ("before", str(before))])))


def _scan(body: bytes, content_type: str | None) -> tuple[list[int], int | None]:
    """The post ids on one page, and the id its "older posts" link starts before."""
    try:
        root = read_html(body, content_type).root
    except ParseError:
        return [], None
    ids = [int(m.group(2)) for e in select(root, _MESSAGE) if (m := _POST.match(_post_of(e)))]
    more = first(root, _MORE)
    before = (more.get("data-before") or "").strip() if more is not None else ""
    return ids, int(before) if before.isdigit() and len(before) < 19 else None


def parse_channel(body: bytes, url: str, content_type: str | None, limit: int) -> ParsedFeed:
    """The posts of one poll's pages, newest first, at most ``limit`` of them.

    ``cursor`` is the newest post's id: the next poll reads back to it.
    """
    messages: dict[int, tuple[Element, str, str]] = {}
    title: str | None = None
    problem: str | None = None
    is_channel = False
    for chunk in body.split(PAGE_BREAK):
        page = read_html(chunk, content_type)
        problem = problem or page.problem
        found = select(page.root, _MESSAGE)
        is_channel = is_channel or bool(found) or first(page.root, _CHANNEL) is not None
        if title is None and (heading := first(page.root, _CHANNEL_TITLE)) is not None:
            title = text_of(heading) or None
        for message in found:
            if (post := _POST.match(_post_of(message))) is not None:
                channel, post_id = post.groups()
                messages.setdefault(int(post_id), (message, channel, post_id))
    if not is_channel:
        name = urlsplit(url).path.rstrip("/").rpartition("/")[2] or url
        raise ParseError(
            f"no public Telegram channel {name!r} at {url}: "
            "the channel does not exist or is private"
        )
    newest = sorted(messages, reverse=True)[:limit]  # only these are read further
    return ParsedFeed(
        title=title,
        entries=tuple(_entry(*messages[i]) for i in newest),
        problem=problem,
        cursor=str(newest[0]) if newest else None,
    )


def _post_of(message: Element) -> str:
    return (message.get("data-post") or "").strip()


def _entry(message: Element, channel: str, post_id: str) -> ParsedEntry:
    permalink = f"https://t.me/{channel}/{post_id}"
    text = first(message, _TEXT)
    media = _media(message)
    parts = []
    if (forwarded := first(message, _FORWARDED)) is not None:
        parts.append(f"<p>{escape(text_of(forwarded))}</p>")
    if (reply := first(message, _REPLY)) is not None:
        parts.append(_quote(reply))
    parts.extend(f"<p>[{escape(label)}]</p>" for label in media)
    if text is not None:
        parts.append(outer_html(text))
    if (preview := first(message, _PREVIEW)) is not None:
        found = [first(preview, css) for css in _PREVIEW_PARTS]
        lines = [escape(text_of(e)) for e in found if e is not None]
        parts.append(f"<blockquote>{'<br>'.join(lines)}</blockquote>" if lines else "")
    return ParsedEntry(
        guid=permalink,
        link=permalink,
        title=_title(text, media, forwarded, post_id),
        summary_html="".join(parts),
        content_html="",
        published=_published(message),
    )


def _quote(reply: Element) -> str:
    """The post replied to, as a quotation: its author, then its text."""
    author = first(reply, _REPLY_AUTHOR)
    quoted = first(reply, _REPLY_TEXT)
    lines = [escape(text_of(author)) if author is not None else ""]
    lines.append(outer_html(quoted) if quoted is not None else "")
    return f"<blockquote>{'<br>'.join(line for line in lines if line)}</blockquote>"


def _media(message: Element) -> list[str]:
    """A label ("photo", "document: report.pdf") for each kind of media the post holds."""
    labels = []
    for label, css, name_css in _MEDIA:
        found = first(message, css)
        if found is None:
            continue
        name = first(found, name_css) if name_css else None
        labels.append(f"{label}: {text_of(name)}" if name is not None else label)
    return labels


def _title(text: Element | None, media: list[str], forwarded: Element | None, post: str) -> str:
    """The text's first line; a post without text is named by its media."""
    if text is not None:
        for line in html_to_text(outer_html(text)).split("\n"):
            if line.strip():
                return shorten(line.strip(), TITLE_LENGTH)
    if media:
        return shorten(", ".join(media).capitalize(), TITLE_LENGTH)
    if forwarded is not None:
        return shorten(text_of(forwarded), TITLE_LENGTH)
    return f"Post {post}"


def _published(message: Element) -> datetime | None:
    stamp = first(message, _DATE)
    if stamp is None:
        stamp = first(message, "time[datetime]")
    value = (stamp.get("datetime") or "").strip() if stamp is not None else ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
