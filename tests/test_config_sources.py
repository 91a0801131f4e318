"""The configuration keys of the sources beyond RSS: telegram, type, html, telegram_backfill."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from worker.cli import cli
from worker.config import parse_config
from worker.core.errors import ConfigError
from worker.ingest.policy import PollPolicy

BAD = """\
feeds:
  - id: court
    url: https://court.example/cases
    html:
      item: "table tr["
      link: "a@href"
  - id: bad-tg
    telegram: "no such!"
  - id: both
    url: https://x.example/
    type: rss
    html: {item: tr}
  - id: h
    url: https://x.example/
    type: html
  - id: bf
    url: https://x.example/
    telegram_backfill: 10
  - id: loose
    url: https://x.example/
    html: {item: tr, date: "td::text"}
"""


def test_a_telegram_channel_is_named_and_its_url_derived() -> None:
    config = parse_config(
        "defaults:\n  telegram_backfill: 30\nfeeds:\n  - id: kloop-tg\n    telegram: '@kloop'\n"
        "  - id: mirror\n    type: telegram\n    url: http://127.0.0.1:8080/s/kloop\n"
        "    telegram_backfill: 200\n"
    )
    channel, mirror = config.feeds
    assert (channel.url, channel.telegram, channel.kind) == (
        "https://t.me/s/kloop",
        "kloop",
        "telegram",
    )
    assert PollPolicy.from_config(config, "kloop-tg").source.telegram_backfill == 30
    assert PollPolicy.from_config(config, "mirror").source.telegram_backfill == 200
    assert mirror.kind == "telegram"


def test_an_html_mapping_makes_an_html_source_with_its_selectors() -> None:
    config = parse_config(
        "feeds:\n  - id: court\n    url: https://court.example/cases\n    html:\n"
        "      item: table.cases tr\n      link: 'td.case a@href'\n      date: time@datetime\n"
    )
    source = PollPolicy.from_config(config, "court").source
    assert source.kind == "html" and source.html is not None
    assert source.html.item == "table.cases tr"
    assert (source.html.link and str(source.html.link)) == "td.case a@href"
    assert source.html.date is not None and source.html.date.attribute == "datetime"
    assert source.html.title is None  # the item's first heading
    assert PollPolicy.from_config(config, "unknown").source.kind == "auto"


def test_every_source_problem_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD, "c.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "c.yaml:5: feeds[0].html.item: invalid CSS selector 'table tr[': "
        "Expected ident or '*', got <EOF at 9>",
        "c.yaml:8: feeds[1].telegram: invalid Telegram channel name 'no such!': the name in "
        "t.me/<name> (letters, digits and '_', starting with a letter)",
        "c.yaml:9: feeds[2]: html: makes this feed's type html, not rss",
        "c.yaml:13: feeds[3]: type: html needs an html: mapping (at least item: a CSS selector)",
        "c.yaml:16: feeds[4]: telegram_backfill only applies to Telegram feeds",
        "c.yaml:21: feeds[5].html.date: invalid CSS selector 'td::text': "
        "Pseudo-elements are not supported.",
    ]


def test_check_config_validates_the_selectors(tmp_path: Path) -> None:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(BAD, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-config", str(path)])
    assert result.exit_code == 1
    assert f"{path}:5: feeds[0].html.item: invalid CSS selector 'table tr['" in result.output
    assert result.output.strip().endswith("6 problems")


def test_a_telegram_channel_needs_a_proxy_when_proxies_are_required() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            "fetch:\n  require_proxy: true\nfeeds:\n  - id: tg\n    telegram: kloop\n", "c.yaml"
        )
    assert [str(p) for p in caught.value.problems] == [
        "c.yaml:4: feeds[0].url: fetch.require_proxy is on but this feed has no proxy "
        "(set fetch.proxy or the feed's proxy)"
    ]
