"""A feed redirect connects to the very addresses its check resolved (issue 15, item 5,
DNS rebinding): the check and the connection make one DNS query, not two.

Only loopback is ever connected to. The fetcher's resolver hook is the test's DNS:
for the redirect's host ``localhost`` it answers ``127.0.0.2``, where a second feed
server listens, while the system's DNS (``/etc/hosts``) says ``127.0.0.1``, where
the "rebound" server listens on the same port. A connection that resolves again
reaches the wrong one. Public-then-internal answers are given to the filter
directly (connecting to the public address is what it must do, and a test may not).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.support.feeds import feed_xml
from tests.support.tls import self_signed
from worker.ingest.fetch import Fetcher
from worker.security.destinations import RedirectRefused, redirect_addresses
from worker.settings import Settings

PUBLIC = "93.184.216.34"


@pytest.fixture
def checked_and_rebound() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    """The server at the checked address (127.0.0.2) and the one the system's DNS names
    (127.0.0.1), on one port."""
    checked = HTTPServer(host="127.0.0.2", port=0)
    checked.start()
    rebound = HTTPServer(host="127.0.0.1", port=checked.port)
    rebound.start()
    yield checked, rebound
    for server in (checked, rebound):
        server.clear()
        server.stop()


def test_a_redirect_connects_to_the_address_it_checked(
    checked_and_rebound: tuple[HTTPServer, HTTPServer],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
) -> None:
    checked, rebound = checked_and_rebound
    port = checked.port
    checked.expect_request("/feed.xml").respond_with_data(
        "", status=302, headers={"Location": f"http://localhost:{port}/moved.xml"}
    )
    checked.expect_request("/moved.xml", headers={"Host": f"localhost:{port}"}).respond_with_data(
        feed_xml([]), content_type="application/rss+xml"
    )
    rebound.expect_request("/moved.xml").respond_with_data("internal admin page")
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.2"] if host == "localhost" else [host]

    fetcher = Fetcher(make_settings(write_config("feeds: []\n")), resolve=resolve)
    try:
        result = fetcher.fetch(f"http://127.0.0.2:{port}/feed.xml")
    finally:
        fetcher.close()
    assert result.status == 200 and result.url.endswith("/moved.xml")
    assert [r.path for r, _ in checked.log] == ["/feed.xml", "/moved.xml"]
    assert rebound.log == []
    assert asked.count("localhost") == 1, "one DNS answer, checked and connected to"


def test_an_https_redirect_keeps_its_name_for_tls_at_the_pinned_address(
    checked_and_rebound: tuple[HTTPServer, HTTPServer],
    write_config: Callable[..., Path],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SNI and the certificate check use ``localhost`` while the socket goes to the
    checked 127.0.0.2 (a certificate for ``localhost`` only, trusted by this process)."""
    origin, _ = checked_and_rebound
    cert, key = self_signed(tmp_path, "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    secure = HTTPServer(host="127.0.0.2", port=0, ssl_context=context)
    secure.start()
    try:
        origin.expect_request("/feed.xml").respond_with_data(
            "", status=302, headers={"Location": f"https://localhost:{secure.port}/moved.xml"}
        )
        secure.expect_request(
            "/moved.xml", headers={"Host": f"localhost:{secure.port}"}
        ).respond_with_data(feed_xml([]), content_type="application/rss+xml")
        fetcher = Fetcher(
            make_settings(write_config("feeds: []\n")),
            resolve=lambda host, port: ["127.0.0.2"] if host == "localhost" else [host],
        )
        try:
            result = fetcher.fetch(f"http://127.0.0.2:{origin.port}/feed.xml")
        finally:
            fetcher.close()
        assert result.status == 200 and result.url.startswith("https://localhost:")
        assert [r.path for r, _ in secure.log] == ["/moved.xml"]
    finally:
        secure.clear()
        secure.stop()


def test_the_filter_pins_the_answer_it_checked() -> None:
    answers = {"rebind.example": [[PUBLIC], ["127.0.0.1"]]}
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        if host == "news.example":
            return ["8.8.8.8"]
        return answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]

    assert redirect_addresses("news.example", "rebind.example", 443, resolve) == (PUBLIC,)
    assert asked.count("rebind.example") == 1


def test_an_origin_that_rebinds_to_internal_does_not_pass_for_a_local_bridge() -> None:
    """The feed answered from a public address; its name now says loopback (so a
    redirect "within the network" would be allowed): where it answered from counts."""

    def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(RedirectRefused):
        redirect_addresses("news.example", "127.0.0.1", 80, resolve, connected=PUBLIC)
    assert redirect_addresses("bridge.lan", "127.0.0.1", 80, resolve, connected="127.0.0.1")
