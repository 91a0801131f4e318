"""Fetching without revealing the monitor: every request through the proxy, DNS at the proxy."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.security.proxies import FAKE_HOST, http_proxy, socks5_proxy
from tests.support.cli import run_rightswatch
from tests.support.feeds import feed_xml
from tests.support.tls import self_signed
from worker.cli import cli
from worker.config import NEUTRAL_USER_AGENT
from worker.embedded import EmbeddedService
from worker.runtime import Runtime
from worker.settings import Settings

ITEMS = [{"guid": "a", "title": "Report", "description": "Text."}]


def _feed_server(httpserver: HTTPServer) -> None:
    """/feed.xml redirects (setting a cookie) to /moved.xml, which serves the feed."""
    httpserver.expect_request("/feed.xml").respond_with_response(
        Response(status=302, headers={"Location": "/moved.xml", "Set-Cookie": "track=me; Path=/"})
    )
    httpserver.expect_request("/moved.xml").respond_with_data(
        feed_xml(ITEMS), content_type="application/rss+xml"
    )


def _poll(settings: Settings) -> str:
    runtime = Runtime(settings)
    try:
        service = EmbeddedService(runtime)
        service.prepare()
        return service.run_once().line()
    finally:
        runtime.close()


def _feed_requests(httpserver: HTTPServer) -> list[Request]:
    return [request for request, _ in httpserver.log]


def test_the_fake_host_does_not_resolve_here() -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(FAKE_HOST, 80)


def test_socks5h_carries_every_request_and_resolves_the_name_remotely(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    _feed_server(httpserver)
    port = httpserver.port
    with socks5_proxy() as (address, seen):
        config = write_config(
            f"""\
            fetch:
              proxy: socks5h://{address}
              require_proxy: true
              user_agent: neutral
            feeds:
              - id: watched
                url: http://{FAKE_HOST}:{port}/feed.xml
              - id: other
                url: http://{FAKE_HOST}:{port}/feed.xml
                user_agent: Feed reader 1.0
            """
        )
        assert _poll(make_settings(config)).startswith("feeds: 2 polled, 0 failed | entries: 2 new")
    # Two feeds, each a request and its redirect: all four through the proxy, by name.
    assert seen.requests == [f"{FAKE_HOST}:{port}"] * 4
    assert seen.address_types == [3, 3, 3, 3]
    # Each feed its own SOCKS username (its own Tor circuit), the same across its redirect.
    assert len(set(seen.usernames)) == 2 and None not in seen.usernames
    assert seen.usernames[0] == seen.usernames[1] and seen.usernames[2] == seen.usernames[3]
    requests = _feed_requests(httpserver)
    assert [r.path for r in requests] == ["/feed.xml", "/moved.xml"] * 2
    agents = sorted(r.headers["User-Agent"] for r in requests)
    assert agents == sorted([NEUTRAL_USER_AGENT] * 2 + ["Feed reader 1.0"] * 2)
    for request in requests:
        assert "Cookie" not in request.headers and "Referer" not in request.headers


def test_a_username_in_the_proxy_url_is_used_as_given(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    _feed_server(httpserver)
    with socks5_proxy() as (address, seen):
        config = write_config(
            f"""\
            feeds:
              - id: watched
                url: http://{FAKE_HOST}:{httpserver.port}/feed.xml
                proxy: socks5h://alice:pw@{address}
            """
        )
        assert _poll(make_settings(config)).startswith("feeds: 1 polled, 0 failed")
    assert seen.usernames == ["alice", "alice"]


def test_an_http_proxy_sees_every_request_redirects_included(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    _feed_server(httpserver)
    port = httpserver.port
    with http_proxy() as (proxy_url, seen):
        config = write_config(
            f"""\
            fetch:
              require_proxy: true
            feeds:
              - id: watched
                url: http://{FAKE_HOST}:{port}/feed.xml
                proxy: {proxy_url.replace("http://", "http://op:s3cret@")}
            """
        )
        assert _poll(make_settings(config)).startswith("feeds: 1 polled, 0 failed | entries: 1 new")
    assert seen.requests == [
        f"http://{FAKE_HOST}:{port}/feed.xml",
        f"http://{FAKE_HOST}:{port}/moved.xml",
    ]
    assert all(h["Proxy-Authorization"] == "Basic b3A6czNjcmV0" for h in seen.headers)
    for headers in seen.headers:
        assert "Cookie" not in headers and "Referer" not in headers


def test_require_proxy_makes_a_feed_without_one_a_config_error(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config(
        """\
        fetch:
          require_proxy: true
        feeds:
          - id: tunnelled
            url: https://example.org/a.xml
            proxy: socks5h://127.0.0.1:9050
          - id: leaky
            url: https://example.org/b.xml
        """
    )
    done = run_rightswatch(
        "check-config",
        str(config),
        env={**os.environ, "RIGHTSWATCH_DATA_DIR": str(tmp_path)},
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        f"{config}:8: feeds[1].url: fetch.require_proxy is on but this feed has no proxy"
        in done.stderr
    )


def test_socks5_with_local_dns_is_refused(write_config: Callable[..., Path]) -> None:
    from worker.config import load_config
    from worker.core.errors import ConfigError

    config = write_config(
        "fetch:\n  proxy: socks5://127.0.0.1:9050\nfeeds:\n  - id: a\n    url: https://example.org/a.xml\n"
    )
    with pytest.raises(ConfigError, match="use socks5h://"):
        load_config(config)


@pytest.fixture
def tls_feed_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPServer]:
    """The watched site over HTTPS, with a certificate this process trusts."""
    import ssl

    cert, key = self_signed(tmp_path, FAKE_HOST)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    _feed_server(server)
    yield server
    server.clear()
    server.stop()


def test_https_feeds_run_tls_inside_the_socks_tunnel(
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tls_feed_server: HTTPServer,
) -> None:
    server = tls_feed_server
    with socks5_proxy() as (address, seen):
        config = write_config(
            f"""\
            fetch:
              proxy: socks5h://{address}
              require_proxy: true
            feeds:
              - id: watched
                url: https://{FAKE_HOST}:{server.port}/feed.xml
            """
        )
        assert _poll(make_settings(config)).startswith("feeds: 1 polled, 0 failed | entries: 1 new")
    assert seen.requests == [f"{FAKE_HOST}:{server.port}"] * 2
    assert seen.address_types == [3, 3]
    assert [r.path for r in _feed_requests(server)] == ["/feed.xml", "/moved.xml"]


def test_https_feeds_are_tunnelled_through_an_http_proxy_with_connect(
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tls_feed_server: HTTPServer,
) -> None:
    server = tls_feed_server
    with http_proxy() as (proxy_url, seen):
        config = write_config(
            f"""\
            feeds:
              - id: watched
                url: https://{FAKE_HOST}:{server.port}/feed.xml
                proxy: {proxy_url.replace("http://", "http://op:s3cret@")}
            """
        )
        assert _poll(make_settings(config)).startswith("feeds: 1 polled, 0 failed | entries: 1 new")
    assert seen.requests == [f"CONNECT {FAKE_HOST}:{server.port}"] * 2
    assert all(h["Proxy-Authorization"] == "Basic b3A6czNjcmV0" for h in seen.headers)


def test_the_match_command_fetches_a_url_through_the_configured_proxy(
    httpserver: HTTPServer, write_config: Callable[..., Path]
) -> None:
    items = [{"guid": "m", "title": "Report", "description": "Tolekan Ismailova was searched."}]
    httpserver.expect_request("/feed.xml").respond_with_data(
        feed_xml(items), content_type="application/rss+xml"
    )
    url = f"http://{FAKE_HOST}:{httpserver.port}/feed.xml"
    with socks5_proxy() as (address, seen):
        config = write_config(
            f"""\
            fetch:
              proxy: socks5h://{address}
              user_agent: neutral
            watchlists:
              - id: kg
                title: KG
                people: [{{name: Tolekan Ismailova}}]
            """
        )
        result = CliRunner().invoke(
            cli, ["match", "--config", str(config), "--format", "jsonl", url]
        )
    assert result.exit_code == 0, result.output
    assert '"term": "Tolekan Ismailova"' in result.output
    # The name was resolved by the proxy: this machine cannot resolve it.
    assert seen.requests == [f"{FAKE_HOST}:{httpserver.port}"] and seen.address_types == [3]
    assert _feed_requests(httpserver)[0].headers["User-Agent"] == NEUTRAL_USER_AGENT
