"""A feed on a public address cannot redirect us to an internal one (issue 15, item 5).

The feed server runs on loopback; the resolver tells the fetcher's check that its
name is public (as DNS would for a real site), so nothing leaves the machine while
the redirect to ``127.0.0.1/internal-admin`` is what a hostile public feed sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.feeds import feed_xml
from worker.core.errors import FetchError
from worker.ingest.fetch import Fetcher
from worker.security.destinations import RedirectRefused, redirect_addresses
from worker.settings import Settings

PUBLIC = "93.184.216.34"


def resolver(public_names: set[str]) -> Callable[[str, int], list[str]]:
    def resolve(host: str, port: int) -> list[str]:
        if host in public_names:
            return [PUBLIC]
        return [host.strip("[]")] if host[0].isdigit() or ":" in host else ["127.0.0.1"]

    return resolve


@pytest.fixture
def fetcher_for(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> Iterator[Callable[[set[str]], Fetcher]]:
    made: list[Fetcher] = []

    def make(public_names: set[str]) -> Fetcher:
        fetcher = Fetcher(
            make_settings(write_config("feeds: []\n")), resolve=resolver(public_names)
        )
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_public_feed_cannot_redirect_to_an_internal_address(
    status: int, httpserver: HTTPServer, fetcher_for: Callable[[set[str]], Fetcher]
) -> None:
    internal = f"http://127.0.0.1:{httpserver.port}/internal-admin?action=shutdown"
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", status=status, headers={"Location": internal}
    )
    httpserver.expect_request("/internal-admin").respond_with_data("shut down")
    fetcher = fetcher_for({"localhost"})
    for _ in range(2):  # a 301 seen twice would move the feed: it is refused each time
        with pytest.raises(FetchError, match="refused a redirect"):
            fetcher.fetch(f"http://localhost:{httpserver.port}/feed.xml")
    assert [r.path for r, _ in httpserver.log] == ["/feed.xml", "/feed.xml"]


def test_a_feed_configured_on_an_internal_address_may_redirect_inside(
    httpserver: HTTPServer, fetcher_for: Callable[[set[str]], Fetcher]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.1:{httpserver.port}/bridge.xml"}
    )
    httpserver.expect_request("/bridge.xml").respond_with_data(
        feed_xml([]), content_type="application/rss+xml"
    )
    result = fetcher_for(set()).fetch(f"http://localhost:{httpserver.port}/feed.xml")
    assert result.status == 200 and result.url.endswith("/bridge.xml")


@pytest.mark.parametrize(
    ("origin", "target", "refused"),
    [
        ("news.example", "127.0.0.1", True),
        ("news.example", "169.254.169.254", True),
        ("news.example", "10.0.0.5", True),
        ("news.example", "[::1]", True),
        ("news.example", "[2002:7f00:1::1]", True),
        ("news.example", "intranet.example", True),
        ("news.example", "mirror.example", False),
        ("news.example", "news.example", False),
        ("127.0.0.1", "10.0.0.5", False),
    ],
)
def test_redirect_filter(origin: str, target: str, refused: bool) -> None:
    def resolve(host: str, port: int) -> list[str]:
        names = {
            "news.example": PUBLIC,
            "mirror.example": "8.8.8.8",
            "intranet.example": "10.1.1.1",
        }
        return [names.get(host, host.strip("[]"))]

    if refused:
        with pytest.raises(RedirectRefused):
            redirect_addresses(origin, target, 80, resolve)
    else:
        assert redirect_addresses(origin, target, 80, resolve) == tuple(resolve(target, 80))
