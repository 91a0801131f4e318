"""`rightswatch feeds discover|import|export`, and `match URL` on a page read with selectors.

Real local HTTP servers serve the pages; the OPML file is a reader's export with
nested outlines, duplicate URLs and missing titles; hostile OPML is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from worker.cli import cli
from worker.config import load_config

CORPUS = Path(__file__).resolve().parent / "data" / "feeds"
HTML = "text/html; charset=utf-8"
CONFIG = """\
# Feeds of the Bishkek desk; keep them sorted by region.
feeds:
  - id: some-feed   # the first feed
    url: https://example.org/feed.xml

  # watch lists follow
watchlists:
  - id: kg
    title: Kyrgyzstan
    keywords: [Bir Duino]
"""
IMPORTED = [
    ("kloop", "Kloop", "https://kloop.kg/feed/"),
    ("radio-azattik", "Радио Азаттык", "https://rus.azattyk.org/api/zrqiteuuir"),
    ("fergana", "Фергана", "https://fergana.media/rss/"),
    ("vlast-kz", "Vlast.kz", "https://vlast.kz/rss.xml"),
    ("kz-example-org-feed-xml", None, "https://kz.example.org/feed.xml"),
    (
        "human-rights-watch-central-asia",
        "Human Rights Watch: Central Asia",
        "https://www.hrw.org/rss/region/central-asia",
    ),
    (
        "front-line-defenders",
        "Front Line Defenders",
        "https://www.frontlinedefenders.org/en/rss.xml",
    ),
    ("adilet-example-kz-rss", None, "https://adilet.example.kz/rss"),
]


def rightswatch(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _feeds(path: Path) -> list[tuple[str, str | None, str]]:
    return [(f.id, f.title, f.url) for f in load_config(path).config.feeds]


def test_import_prints_new_feeds_that_pass_check_config(config: Path, tmp_path: Path) -> None:
    result = rightswatch(
        "feeds", "import", str(CORPUS / "subscriptions.opml"), "--config", str(config)
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("feeds:\n  - id: kloop\n")
    assert result.stderr.splitlines() == [
        "note: listed twice: https://kloop.kg/feed/",
        "note: listed twice: https://www.frontlinedefenders.org/en/rss.xml?utm_source=reader",
        "note: left out file:///home/me/feed.xml: a local file of another machine",
        "note: already configured: https://example.org/feed.xml",
    ]
    printed = tmp_path / "imported.yaml"
    printed.write_text(result.stdout, encoding="utf-8")
    assert rightswatch("check-config", str(printed)).exit_code == 0
    assert _feeds(printed) == IMPORTED
    assert config.read_text(encoding="utf-8") == CONFIG  # printed, not written


def test_import_write_appends_keeping_comments_and_export_round_trips(
    config: Path, tmp_path: Path
) -> None:
    opml = str(CORPUS / "subscriptions.opml")
    result = rightswatch("feeds", "import", opml, "--config", str(config), "--write")
    assert result.exit_code == 0 and result.stdout == f"{config}: added 8 feeds\n"
    text = config.read_text(encoding="utf-8")
    head, tail = CONFIG.split("\n  # watch lists follow\n")
    assert text.startswith(head.rstrip("\n") + '\n  - id: kloop\n    title: "Kloop"\n')
    assert text.endswith("\n  # watch lists follow\n" + tail)
    assert _feeds(config) == [("some-feed", None, "https://example.org/feed.xml"), *IMPORTED]
    again = rightswatch("feeds", "import", opml, "--config", str(config), "--write")
    assert again.exit_code == 0 and "nothing to import" in again.stderr
    assert config.read_text(encoding="utf-8") == text

    exported = tmp_path / "export.opml"
    exported.write_text(rightswatch("feeds", "export", "--config", str(config)).stdout)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    assert (
        rightswatch("feeds", "import", str(exported), "--config", str(empty), "--write").exit_code
        == 0
    )
    titled = [(i, t or i, u) for i, t, u in _feeds(config)]  # OPML needs a text: the id
    assert _feeds(empty) == titled
    assert empty.read_text(encoding="utf-8").startswith("# nothing yet\nfeeds:\n")


def test_export_leaves_out_pages_and_channels(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "feeds:\n  - id: news\n    title: News & views\n    url: https://example.org/rss\n"
        "  - id: court\n    url: https://court.example/\n    html: {item: tr}\n"
        "  - id: tg\n    telegram: kloop\n  - id: j\n    type: json\n"
        "    url: https://example.org/feed.json\n",
        encoding="utf-8",
    )
    assert rightswatch("feeds", "export", "--config", str(path)).stdout == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n  <head>\n'
        "    <title>rightswatch feeds</title>\n  </head>\n  <body>\n"
        '    <outline type="rss" text="News &amp; views" title="News &amp; views" '
        'xmlUrl="https://example.org/rss" />\n'
        '    <outline type="rss" text="j" title="j" xmlUrl="https://example.org/feed.json" />\n'
        "  </body>\n</opml>\n"
    )


def test_write_refuses_a_result_that_would_not_be_valid(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    original = "feeds: [{id: a, url: 'https://a.example/'}]\n"
    path.write_text(original, encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["feeds", "import", str(CORPUS / "subscriptions.opml"), "--config", str(path), "--write"],
    )
    assert result.exit_code == 1
    assert "not a block list; add the feeds by hand" in result.stderr
    assert path.read_text(encoding="utf-8") == original


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://x.example/feed"/></body></opml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://x.example/feed"/></body></opml>"""
DOCTYPE = "refused: the OPML file has a DOCTYPE (its entities could expand)"
HOSTILE: dict[str, tuple[bytes, str]] = {
    "billion laughs": (BILLION_LAUGHS, DOCTYPE),
    "external entity": (EXTERNAL, DOCTYPE),
    "huge": (
        b"<opml><body>" + b" " * 11 * 1024 * 1024 + b"</body></opml>",
        "the OPML file is larger than 10,485,760 bytes",
    ),
    "too many outlines": (
        b"<opml><body>" + b'<outline xmlUrl="https://x.example/f"/>' * 60_000 + b"</body></opml>",
        "the OPML file has more than 50,000 outlines",
    ),
    "undefined entity": (
        b'<opml><body><outline text="&nope;" xmlUrl="https://x.example/f"/></body></opml>',
        "the OPML file is not well-formed XML (line 1: undefined entity)",
    ),
    "not OPML": (
        b"<rss version='2.0'><channel/></rss>",
        "not an OPML file (its root element is <rss>)",
    ),
    "binary": (
        bytes(range(256)),
        "the OPML file is not well-formed XML (line 1: not well-formed (invalid token))",
    ),
    "empty": (b"", "the OPML file is not well-formed XML (line 1: no element found)"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_opml_is_refused(config: Path, tmp_path: Path, name: str) -> None:
    body, message = HOSTILE[name]
    opml = tmp_path / "hostile.opml"
    opml.write_bytes(body)
    result = CliRunner().invoke(cli, ["feeds", "import", str(opml), "--config", str(config)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {opml}: {message}\n"


def test_deeply_nested_opml_is_read(config: Path, tmp_path: Path) -> None:
    opml = tmp_path / "deep.opml"
    opml.write_bytes(
        b"<opml><body>"
        + b'<outline text="folder">' * 40_000
        + b'<outline text="Deep" xmlUrl="https://deep.example/feed"/>'
        + b"</outline>" * 40_000
        + b"</body></opml>"
    )
    result = rightswatch("feeds", "import", str(opml), "--config", str(config))
    assert (
        result.stdout
        == 'feeds:\n  - id: deep\n    title: "Deep"\n    url: "https://deep.example/feed"\n'
    )


def test_discover_prints_the_advertised_feeds_and_a_snippet(
    config: Path, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/").respond_with_data(
        (CORPUS / "site_with_feeds.html").read_bytes(), content_type=HTML
    )
    result = rightswatch("feeds", "discover", httpserver.url_for("/"), "--config", str(config))
    assert result.exit_code == 0
    assert result.stdout == (
        "https://www.azattyk.example/api/zrqiteuuir  rss  Azattyk — бардык жаңылыктар\n"
        "https://www.azattyk.example/atom.xml  atom  Azattyk — Atom\n"
        "https://www.azattyk.example/feed.json  json\n"
        "\nfeeds:\n"
        "  - id: azattyk-bardik-zhangiliktar\n"
        '    title: "Azattyk — бардык жаңылыктар"\n'
        '    url: "https://www.azattyk.example/api/zrqiteuuir"\n'
        "  - id: azattyk-atom\n"
        '    title: "Azattyk — Atom"\n'
        '    url: "https://www.azattyk.example/atom.xml"\n'
        "  - id: www-azattyk-example-feed-json\n"
        '    url: "https://www.azattyk.example/feed.json"\n'
    )
    snippet = tmp_path / "snippet.yaml"
    snippet.write_text(result.stdout.partition("\n\n")[2], encoding="utf-8")
    assert rightswatch("check-config", str(snippet)).exit_code == 0


def test_discover_on_a_feed_and_on_a_telegram_link(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.json").respond_with_data(
        (CORPUS / "json_feed_1_1.json").read_bytes(), content_type="application/feed+json"
    )
    url = httpserver.url_for("/feed.json")
    result = rightswatch("feeds", "discover", url, "--config", str(config))
    assert result.stdout == (
        f"{url} is a feed (2 entries):\n\nfeeds:\n  - id: pravozashchitnii-tsentr-novosti\n"
        f'    title: "Правозащитный центр — новости"\n    url: "{url}"\n'
    )
    telegram = rightswatch("feeds", "discover", "https://t.me/kloop", "--config", str(config))
    assert telegram.stdout == (
        "https://t.me/kloop is the Telegram channel 'kloop':\n\n"
        "feeds:\n  - id: kloop\n    telegram: kloop\n"
    )


def test_discover_without_a_feed_says_what_to_do(config: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/cases").respond_with_data(
        (CORPUS / "court_list.html").read_bytes(), content_type=HTML
    )
    result = CliRunner().invoke(
        cli, ["feeds", "discover", httpserver.url_for("/cases"), "--config", str(config)]
    )
    assert result.exit_code == 1
    assert "no feed here and none advertised (the server returned an HTML page, not a feed)" in (
        result.stderr
    )
    assert "read it with an html: mapping" in result.stderr


def test_discover_refuses_to_go_around_require_proxy(config: Path, tmp_path: Path) -> None:
    path = tmp_path / "proxied.yaml"
    path.write_text(
        "fetch:\n  require_proxy: true\nfeeds:\n  - id: a\n    url: https://a.example/\n"
        "    proxy: socks5h://127.0.0.1:9050\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["feeds", "discover", "https://b.example/", "--config", str(path)]
    )
    assert result.exit_code == 1
    assert "fetch.require_proxy is on and no proxy is configured for this URL" in result.stderr


def test_match_shows_what_a_configured_html_feed_yields(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/cases").respond_with_data(
        (CORPUS / "court_list.html").read_bytes(), content_type=HTML
    )
    url = httpserver.url_for("/cases")
    path = tmp_path / "c.yaml"
    path.write_text(
        f"feeds:\n  - id: court\n    url: {url}\n    html:\n      item: table.cases tbody tr\n"
        "      date: td.date\nwatchlists:\n  - id: kg\n    title: KG\n    people:\n"
        "      - name: Толекан Исмаилова\n",
        encoding="utf-8",
    )
    result = rightswatch("match", "--config", str(path), "--format", "jsonl", url)
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0] == f"court: 4 items from {url}"
    assert lines[1].startswith("  2026-11-24  Дело № 1-1187/26 по обвинению Толекан Исмаиловой")
    assert lines[1].endswith(httpserver.url_for("/cases/view") + "?id=2026-1187")
    assert lines[4].endswith("(материалы не опубликованы) Токтосунов Э. 1  (no link)")
    hits: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["term"] for h in hits] == ["Толекан Исмаилова", "Толекан Исмаилова"]
