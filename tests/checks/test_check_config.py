"""``check-config`` fails for a channel that cannot work here; ``--online`` tries each one.

Only loopback servers are contacted: a closed port for what is down, local HTTP
servers for feeds and webhook receivers, the conftest's SMTP server.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner, Result

from tests.checks.servers import http_server
from tests.security.proxies import FAKE_HOST, http_proxy
from tests.support.feeds import feed_xml
from tests.support.network import free_port
from tests.support.receiver import WEBHOOK_SECRET
from worker.cli import cli

SECRET_ENV = "CHECK_HOOK_SECRET"
WATCHLIST = """\
watchlists:
  - id: kg
    title: Kyrgyzstan
    people:
      - name: Azimjan Askarov
"""
CLEAN = {
    "RIGHTSWATCH_SMTP_URL": None,
    "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": None,
    "RIGHTSWATCH_BROKER_URL": None,
    "RIGHTSWATCH_FETCH_TIMEOUT": "5",
    SECRET_ENV: WEBHOOK_SECRET,
}


def check(path: Path, *args: str, **env: str | None) -> Result:
    return CliRunner().invoke(cli, ["check-config", *args, str(path)], env={**CLEAN, **env})


def config(feeds: str = "", subscribers: str = "", operators: str = "") -> str:
    text = WATCHLIST
    if feeds:
        text += "feeds:\n" + feeds
    text += "subscribers:\n" + (
        subscribers or "  - id: desk\n    console: true\n    watchlists: [kg]\n"
    )
    if operators:
        text += "operators:\n" + operators
    return text


EMAIL = "  - id: desk\n    email: desk@example.org\n    watchlists: [kg]\n"


def webhook(url: str, sub_id: str = "hook") -> str:
    return f"  - id: {sub_id}\n    webhook: {url}\n    secret_env: {SECRET_ENV}\n    watchlists: [kg]\n"


# --- offline: what cannot work in this environment ---------------------------------------


def test_a_console_only_config_is_ok(write_config: Callable[..., Path]) -> None:
    result = check(write_config(config()))
    assert result.exit_code == 0, result.output
    assert ": OK: " in result.output


def test_an_email_subscriber_needs_the_smtp_url(write_config: Callable[..., Path]) -> None:
    path = write_config(config(subscribers=EMAIL))
    result = check(path)
    assert result.exit_code == 1
    assert (
        f"{path}:8: subscribers[0].email: e-mail subscriber but RIGHTSWATCH_SMTP_URL is not set"
        in result.output
    )
    assert check(path, RIGHTSWATCH_SMTP_URL="smtp://127.0.0.1:1").exit_code == 0


def test_an_email_operator_needs_the_smtp_url(write_config: Callable[..., Path]) -> None:
    path = write_config(config(operators="  - id: ops\n    email: ops@example.org\n"))
    result = check(path)
    assert result.exit_code == 1
    assert f"{path}:12: operators[0].email: e-mail operator but RIGHTSWATCH_SMTP_URL" in (
        result.output
    )


def test_a_disabled_email_subscriber_is_no_problem(write_config: Callable[..., Path]) -> None:
    path = write_config(config(subscribers=EMAIL + "    enabled: false\n"))
    assert check(path).exit_code == 0


@pytest.fixture
def without_apprise(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process as if the apprise extra were not installed (import fails, no spec)."""
    monkeypatch.setitem(sys.modules, "apprise", None)  # type: ignore[arg-type]
    yield


def test_an_apprise_subscriber_needs_the_extra(
    write_config: Callable[..., Path], without_apprise: None
) -> None:
    path = write_config(
        config(
            subscribers="  - id: ntfy\n    apprise: ntfy://ntfy.sh/topic\n    watchlists: [kg]\n"
        )
    )
    result = check(path)
    assert result.exit_code == 1
    assert (
        f"{path}:8: subscribers[0].apprise: apprise subscriber but Apprise is not installed: "
        "pip install 'rightswatch[apprise]'" in result.output
    )


def test_an_apprise_subscriber_with_the_extra_is_ok(write_config: Callable[..., Path]) -> None:
    path = write_config(
        config(
            subscribers="  - id: ntfy\n    apprise: ntfy://ntfy.sh/topic\n    watchlists: [kg]\n"
        )
    )
    assert check(path).exit_code == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/hook",
        "https://192.168.0.7/hook",
        "http://[::1]:9000/hook",
        "http://169.254.169.254/latest",
        "http://localhost:8000/hook",
    ],
)
def test_a_webhook_to_a_private_address_needs_the_allow_flag(
    write_config: Callable[..., Path], url: str
) -> None:
    path = write_config(config(subscribers=webhook(url)))
    result = check(path)
    assert result.exit_code == 1, result.output
    assert f"{path}:8: subscribers[0].webhook: webhook " in result.output
    assert "a private or internal address; set RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE=true" in (
        result.output
    )
    assert check(path, RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="true").exit_code == 0


def test_a_webhook_host_name_is_not_resolved_offline(write_config: Callable[..., Path]) -> None:
    path = write_config(config(subscribers=webhook("https://hooks.example.org/rightswatch")))
    assert check(path).exit_code == 0


def test_every_unworkable_channel_is_listed_at_once(
    write_config: Callable[..., Path], without_apprise: None
) -> None:
    subscribers = (
        EMAIL
        + webhook("http://10.0.0.5/hook")
        + "  - id: ntfy\n    apprise: ntfy://ntfy.sh/topic\n    watchlists: [kg]\n"
    )
    path = write_config(config(subscribers=subscribers))
    result = check(path)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"{path}: 3 problems"


# --- online: try each channel and feed once ------------------------------------------------


def test_online_all_ok(write_config: Callable[..., Path], smtp_server: tuple[str, object]) -> None:
    smtp_url, inbox = smtp_server
    rss = feed_xml([{"guid": "1", "title": "t", "description": "d"}]).encode()
    with (
        http_server(200, rss, "application/rss+xml") as (feed_url, _),
        http_server(405) as (hook_url, hook_requests),
    ):
        path = write_config(
            config(
                feeds=f"  - id: local\n    url: {feed_url}/feed.xml\n",
                subscribers=EMAIL + webhook(f"{hook_url}/hook"),
            )
        )
        result = check(
            path, "--online", RIGHTSWATCH_SMTP_URL=smtp_url, RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="1"
        )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"smtp 127.0.0.1:{smtp_url.rsplit(':', 1)[1]}: ok: EHLO" in lines
    assert "subscriber hook (webhook): ok: 127.0.0.1 answers (HTTP 405 to OPTIONS)" in lines
    assert "feed local: ok: HTTP 200, 1 entry" in lines
    assert [r["method"] for r in hook_requests] == ["OPTIONS"]  # nothing was sent
    assert inbox.messages == []


def test_online_reports_a_dead_smtp_server(write_config: Callable[..., Path]) -> None:
    port = free_port()  # nothing listens there
    path = write_config(config(subscribers=EMAIL))
    result = check(path, "--online", RIGHTSWATCH_SMTP_URL=f"smtp://127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"smtp 127.0.0.1:{port}: FAILED: SMTP connection failed: ConnectionRefusedError" in (
        result.output
    )
    assert result.output.splitlines()[-1] == f"{path}: 1 online check failed"


def test_online_reports_an_unreachable_feed(write_config: Callable[..., Path]) -> None:
    port = free_port()
    path = write_config(config(feeds=f"  - id: gone\n    url: http://127.0.0.1:{port}/feed\n"))
    result = check(path, "--online")
    assert result.exit_code == 1
    assert "feed gone: FAILED: " in result.output
    assert "refused" in result.output.lower()


def test_online_reports_a_feed_that_is_no_feed(write_config: Callable[..., Path]) -> None:
    with http_server(404, b"not here") as (url, _):
        path = write_config(config(feeds=f"  - id: moved\n    url: {url}/feed\n"))
        result = check(path, "--online")
    assert result.exit_code == 1
    assert "feed moved: FAILED: " in result.output and "404" in result.output


def test_online_reports_a_webhook_on_a_closed_port(write_config: Callable[..., Path]) -> None:
    path = write_config(config(subscribers=webhook(f"http://127.0.0.1:{free_port()}/hook")))
    result = check(path, "--online", RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="true")
    assert result.exit_code == 1
    assert "subscriber hook (webhook): FAILED: webhook request failed: ConnectError" in (
        result.output
    )


@pytest.mark.parametrize("status", [404, 403, 500, 302])
def test_online_reports_a_webhook_that_refuses(
    write_config: Callable[..., Path], status: int
) -> None:
    with http_server(status) as (url, _):
        path = write_config(config(subscribers=webhook(f"{url}/hook")))
        result = check(path, "--online", RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="true")
    assert result.exit_code == 1
    assert f"subscriber hook (webhook): FAILED: 127.0.0.1 answers HTTP {status}" in result.output


def test_online_refuses_a_private_webhook_as_a_delivery_would(
    write_config: Callable[..., Path],
) -> None:
    with http_server(200) as (url, requests):
        path = write_config(config(subscribers=webhook(f"{url}/hook")))
        result = check(path, "--online")
    assert result.exit_code == 1
    assert "subscriber hook (webhook): FAILED: webhook address 127.0.0.1 is a private" in (
        result.output
    )
    assert requests == []


def test_online_reports_an_apprise_url_apprise_refuses(write_config: Callable[..., Path]) -> None:
    path = write_config(
        config(subscribers="  - id: chat\n    apprise: nosuchscheme://x\n    watchlists: [kg]\n")
    )
    result = check(path, "--online")
    assert result.exit_code == 1
    assert "subscriber chat (apprise): FAILED: Apprise does not accept this URL" in result.output


@pytest.fixture
def smtp_with_auth() -> Iterator[int]:
    """A real SMTP server that requires AUTH (user desk, password s3cret-pw), plain text."""

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = auth.login == b"desk" and auth.password == b"s3cret-pw"
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Sink(),
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize(("password", "ok"), [("s3cret-pw", True), ("bad-pw", False)])
def test_online_logs_in_to_the_smtp_server(
    write_config: Callable[..., Path], smtp_with_auth: int, password: str, ok: bool
) -> None:
    path = write_config(config(subscribers=EMAIL))
    url = f"smtp://desk:{password}@127.0.0.1:{smtp_with_auth}"
    result = check(path, "--online", RIGHTSWATCH_SMTP_URL=url)
    line = f"smtp 127.0.0.1:{smtp_with_auth}: "
    if ok:
        assert result.exit_code == 0, result.output
        assert line + "ok: EHLO, AUTH" in result.output
    else:
        assert result.exit_code == 1
        assert line + "FAILED: SMTP 535 " in result.output
    assert password not in result.output


def test_online_fetches_a_feed_through_its_proxy(write_config: Callable[..., Path]) -> None:
    rss = feed_xml([{"guid": "1", "title": "t", "description": "d"}]).encode()
    with (
        http_server(200, rss, "application/rss+xml") as (feed_url, _),
        http_proxy() as (proxy_url, seen),
    ):
        port = feed_url.rsplit(":", 1)[1]
        url = f"http://{FAKE_HOST}:{port}/feed.xml"  # resolves only at the proxy
        path = write_config(
            config(feeds=f"  - id: watched\n    url: {url}\n    proxy: {proxy_url}\n")
        )
        result = check(path, "--online")
    assert result.exit_code == 0, result.output
    assert "feed watched: ok: HTTP 200 through its proxy, 1 entry" in result.output.splitlines()
    assert seen.requests == [url]
