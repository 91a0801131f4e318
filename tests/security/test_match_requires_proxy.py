"""With ``fetch.require_proxy``, ``rightswatch match URL`` never connects directly
(issue 15, item 3): a feed's URL with a trailing ``?``, or another page of the
watched site, has no proxy of its own, and is refused before any request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import ROOT
from tests.support.feeds import feed_xml

CONFIG = """\
fetch:
  require_proxy: true
feeds:
  - id: news
    url: {feed_url}
    proxy: socks5h://127.0.0.1:9
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    keywords: [Bir Duino]
"""


@pytest.mark.parametrize("suffix", ["?", "/../other.xml", "#top"])
def test_match_url_without_a_proxy_is_refused(
    suffix: str, httpserver: HTTPServer, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml([{"guid": "a", "title": "Bir Duino", "description": "Bir Duino."}]),
        content_type="application/rss+xml",
    )
    httpserver.expect_request("/other.xml").respond_with_data(feed_xml([]))
    feed_url = httpserver.url_for("/feed.xml")
    config = write_config(CONFIG.format(feed_url=feed_url))
    done = subprocess.run(
        [sys.executable, "-m", "worker", "match", "--config", str(config), feed_url + suffix],
        cwd=ROOT,
        env={**os.environ, "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "require_proxy" in done.stderr
    assert httpserver.log == []
