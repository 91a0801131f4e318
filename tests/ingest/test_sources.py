# ruff: noqa: RUF001 -- the posts and court lists are in Russian
"""Sources beyond RSS polled like RSS: a Telegram channel, a court list without a feed,
a JSON Feed, and a web page where a feed was expected.

Each is served by a real local HTTP server (the t.me pages in the markup the real
preview has, tests/data/feeds/telegram_*.html), polled through the real poll job
against PostgreSQL, and its alerts are delivered to an outbox folder.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.feedlab import FeedLab

CORPUS = Path(__file__).resolve().parent.parent / "data" / "feeds"
HTML = "text/html; charset=utf-8"


def watch(outbox: Path) -> str:
    return (
        "watchlists:\n  - id: kg\n    title: Kyrgyzstan defenders\n    people:\n"
        "      - name: Толекан Исмаилова\n        aliases: [Tolekan Ismailova]\n"
        f"subscribers:\n  - id: desk\n    outbox: {outbox}\n    watchlists: [kg]\n"
    )


def alerts(outbox: Path) -> list[str]:
    """The text of each alert written to the outbox folder."""
    texts = []
    for path in sorted(outbox.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        part = mail.get_body(("plain",))
        assert part is not None
        texts.append(part.get_content())
    return texts


CHANNEL_PAGES: dict[str | None, str] = {
    None: "telegram_channel.html",
    "120": "telegram_channel_before_120.html",
    "115": "telegram_channel_before_115.html",
}


class Channel:
    """A t.me/s/<channel> preview: the newest page, and older pages by ?before=<id>."""

    def __init__(self, server: HTTPServer, pages: dict[str | None, str]) -> None:
        self.pages = dict(pages)  # a test may change pages; the shared default stays
        self.asked: list[str | None] = []
        self.times: list[float] = []
        server.expect_request("/s/defenders_kg").respond_with_handler(self._page)

    def _page(self, request: Request) -> Response:
        before = request.args.get("before")
        self.asked.append(before)
        self.times.append(time.monotonic())
        etag = f'"{self.pages[before]}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        body = (CORPUS / self.pages[before]).read_bytes()
        return Response(body, content_type=HTML, headers={"ETag": etag})


def test_telegram_channel_backfill_then_only_new_posts(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    channel = Channel(httpserver, CHANNEL_PAGES)
    lab.configure(
        "defaults:\n  host_delay: 0\nfeeds:\n  - id: kg-tg\n    type: telegram\n"
        f"    url: {httpserver.url_for('/s/defenders_kg')}\n    telegram_backfill: 8\n"
        + watch(tmp_path / "out")
    )
    lab.run_once()
    assert channel.asked == [None, "120"]  # 5 + 5 posts reach the backfill of 8
    entries = lab.entries("kg-tg")
    permalinks = sorted(e.link or "" for e in entries)
    assert permalinks == [f"https://t.me/defenders_kg/{i}" for i in range(117, 125)]
    assert {e.guid for e in entries} == set(permalinks)
    by_link = {e.link: e for e in entries}
    forwarded = by_link["https://t.me/defenders_kg/121"]
    assert "Forwarded from Kloop" in forwarded.summary
    assert "Подробнее: kloop.kg" in forwarded.summary  # a link's text
    reply = by_link["https://t.me/defenders_kg/120"]
    assert "Суд назначил дату рассмотрения жалобы" in reply.summary  # the quoted post
    assert "Заседание перенесено на 2 декабря.\nСледите за обновлениями." in reply.summary
    assert by_link["https://t.me/defenders_kg/123"].title == "Photo"  # media only
    captioned = by_link["https://t.me/defenders_kg/122"]
    assert captioned.title == "Пикет у здания суда, фото нашего корреспондента."
    detained = by_link["https://t.me/defenders_kg/124"]
    assert detained.title == "Сегодня утром в Бишкеке задержали правозащитницу Толекан Исмаилову."
    assert detained.published_at is not None and detained.published_at.isoformat().startswith(
        "2026-11-27T08:15"
    )
    (alert,) = alerts(tmp_path / "out")
    assert "https://t.me/defenders_kg/124" in alert

    channel.pages[None] = "telegram_channel_later.html"
    lab.advance(timedelta(hours=1))
    lab.run_once()
    assert channel.asked == [None, "120", None]  # back to post 124 is on the newest page
    assert len(lab.entries("kg-tg")) == 10  # 125 and 126
    assert lab.feed("kg-tg").source_cursor == "126"
    document = next(e for e in lab.entries("kg-tg") if e.link == "https://t.me/defenders_kg/126")
    assert document.title == "Document: zayavlenie-koalitsii.pdf"
    assert len(alerts(tmp_path / "out")) == 1  # post 124 alerted once

    lab.advance(timedelta(hours=1))
    lab.run_once()
    assert channel.asked == [None, "120", None, None]  # a 304 for the newest page: nothing more
    assert len(lab.entries("kg-tg")) == 10 and lab.feed("kg-tg").last_status == 304


def test_telegram_first_poll_reads_back_to_the_channel_start(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    channel = Channel(httpserver, CHANNEL_PAGES)
    lab.configure(
        "defaults:\n  host_delay: 0\nfeeds:\n  - id: kg-tg\n    type: telegram\n"
        f"    url: {httpserver.url_for('/s/defenders_kg')}\n" + watch(tmp_path / "out")
    )
    outcome = lab.poll("kg-tg")
    assert channel.asked == [None, "120", "115"]  # the oldest page has no "before" link
    assert outcome.new_entries == 15 and not outcome.failed


def test_the_pages_of_a_channel_keep_the_host_delay(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    channel = Channel(
        httpserver,
        {None: "telegram_channel.html", "120": "telegram_channel_before_120.html"},
    )
    lab.configure(
        "defaults:\n  host_delay: 0.5s\nfeeds:\n  - id: kg-tg\n    type: telegram\n"
        f"    url: {httpserver.url_for('/s/defenders_kg')}\n    telegram_backfill: 10\n"
        + watch(tmp_path / "out")
    )
    lab.poll("kg-tg")
    assert channel.asked == [None, "120"]  # one host for every channel: its delay applies
    assert channel.times[1] - channel.times[0] >= 0.45


def test_an_unknown_telegram_channel_is_a_clear_feed_error(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/s/no_such_channel").respond_with_data(
        "", status=302, headers={"Location": "/no_such_channel"}
    )
    httpserver.expect_request("/no_such_channel").respond_with_data(
        (CORPUS / "telegram_unknown.html").read_bytes(), content_type=HTML
    )
    lab.configure(
        "defaults:\n  host_delay: 0\nfeeds:\n  - id: gone-tg\n    type: telegram\n"
        f"    url: {httpserver.url_for('/s/no_such_channel')}\n" + watch(tmp_path / "out")
    )
    outcome = lab.poll("gone-tg")
    assert outcome.failed
    assert lab.feed("gone-tg").last_error == (
        f"no public Telegram channel 'no_such_channel' at {httpserver.url_for('/no_such_channel')}"
        ": the channel does not exist or is private"
    )


COURT = """\
defaults:
  host_delay: 0
feeds:
  - id: court
    title: Первомайский суд
    url: {url}
    html:
      item: "table.cases tbody tr"
      date: "td.date"
"""


def test_a_court_list_without_a_feed_alerts_like_rss(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    page = {"file": "court_list.html"}
    httpserver.expect_request("/cases").respond_with_handler(
        lambda _: Response((CORPUS / page["file"]).read_bytes(), content_type=HTML)
    )
    url = httpserver.url_for("/cases")
    lab.configure(COURT.format(url=url) + watch(tmp_path / "out"))
    lab.run_once()
    entries = lab.entries("court")
    assert len(entries) == 4
    case = next(e for e in entries if "1-1187/26" in e.title)
    assert case.link == httpserver.url_for("/cases/view") + "?id=2026-1187"  # resolved
    assert case.title.startswith("Дело № 1-1187/26 по обвинению Толекан Исмаиловой")
    assert case.published_at is not None and case.published_at.date().isoformat() == "2026-11-24"
    unlinked = next(e for e in entries if "5-0077/26" in e.title)
    assert unlinked.link is None and (unlinked.guid or "").startswith("text:")
    (alert,) = alerts(tmp_path / "out")
    assert "?id=2026-1187" in alert

    page["file"] = "court_list_reordered.html"
    lab.advance(timedelta(hours=1))
    lab.run_once()
    assert len(lab.entries("court")) == 4  # the same rows in another order: nothing new
    assert len(alerts(tmp_path / "out")) == 1
    assert lab.feed("court").last_error is None


def test_a_selector_that_matches_nothing_is_a_feed_error(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/cases").respond_with_data(
        (CORPUS / "court_list.html").read_bytes(), content_type=HTML
    )
    config = COURT.format(url=httpserver.url_for("/cases")).replace("table.cases", "table.verdicts")
    lab.configure(config + watch(tmp_path / "out"))
    outcome = lab.poll("court")
    assert outcome.failed
    assert lab.feed("court").last_error == "selector 'table.verdicts tbody tr' matched no items"


def test_a_json_feed_alerts_like_rss(lab: FeedLab, httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        (CORPUS / "json_feed_1_1.json").read_bytes(), content_type="application/feed+json"
    )
    lab.configure(
        "defaults:\n  host_delay: 0\nfeeds:\n  - id: hrc\n"
        f"    url: {httpserver.url_for('/feed.json')}\n" + watch(tmp_path / "out")
    )
    lab.run_once()
    entries = lab.entries("hrc")
    assert sorted(e.title for e in entries) == [
        "Доклад о пытках в местах лишения свободы",
        "Задержана Толекан Исмаилова",
    ]
    report = next(e for e in entries if e.title.startswith("Доклад"))
    assert report.guid == "20261126" and report.summary == "Ежегодный доклад."
    assert "41 обращение <о пытках>" in report.content  # content_text stays text
    (alert,) = alerts(tmp_path / "out")
    assert "https://hrc.example.kg/news/2026/11/27/ismailova" in alert
    assert lab.feed("hrc").last_error is None


def test_a_web_page_given_as_a_feed_names_the_feeds_it_advertises(
    lab: FeedLab, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/").respond_with_data(
        (CORPUS / "site_with_feeds.html").read_bytes(), content_type=HTML
    )
    lab.configure(
        "defaults:\n  host_delay: 0\nfeeds:\n  - id: azattyk\n"
        f"    url: {httpserver.url_for('/')}\n" + watch(tmp_path / "out")
    )
    assert lab.poll("azattyk").failed
    assert lab.feed("azattyk").last_error == (
        "the server returned an HTML page, not a feed; it advertises "
        "https://www.azattyk.example/api/zrqiteuuir (rss), "
        "https://www.azattyk.example/atom.xml (atom), "
        "https://www.azattyk.example/feed.json (json)"
    )
