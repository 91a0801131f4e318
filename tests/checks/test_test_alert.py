"""``rightswatch test-alert ID`` sends a clearly marked test through the real channel."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from standardwebhooks.webhooks import Webhook

from tests.checks.servers import http_server
from tests.support.network import free_port
from tests.support.receiver import WEBHOOK_SECRET
from worker.cli import cli
from worker.db.models import Subscriber
from worker.runtime import Runtime
from worker.settings import load_settings

SECRET_ENV = "TEST_ALERT_SECRET"
HEAD = """\
watchlists:
  - id: kg
    title: Kyrgyzstan
    people:
      - name: Azimjan Askarov
subscribers:
"""
ENV: dict[str, str | None] = {
    "RIGHTSWATCH_SMTP_URL": None,
    "RIGHTSWATCH_BROKER_URL": None,
    "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
    SECRET_ENV: WEBHOOK_SECRET,
}


def send_test(path: Path, recipient: str, tmp_path: Path, **env: str | None) -> Result:
    environ = {**ENV, "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"), **env}
    return CliRunner().invoke(cli, ["test-alert", "--config", str(path), recipient], env=environ)


def mailed(path: Path, recipient: str, tmp_path: Path, smtp_url: str) -> str:
    """The output of a test e-mail that was sent."""
    result = send_test(path, recipient, tmp_path, RIGHTSWATCH_SMTP_URL=smtp_url)
    assert result.exit_code == 0, result.output
    return result.output


def webhook(url: str) -> str:
    return f"  - id: hook\n    webhook: {url}\n    secret_env: {SECRET_ENV}\n    watchlists: [kg]\n"


def test_a_signed_test_webhook_verifies(write_config: Callable[..., Path], tmp_path: Path) -> None:
    with http_server(204) as (url, requests):
        path = write_config(HEAD + webhook(f"{url}/hook"))
        result = send_test(path, "hook", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("test alert to subscriber hook by webhook: sent (test-")
    (request,) = requests
    payload: dict[str, Any] = Webhook(WEBHOOK_SECRET).verify(request["body"], request["headers"])
    assert payload["type"] == "test.alert"
    assert payload["data"]["test"] is True
    assert payload["data"]["recipient"] == "hook"
    assert "THIS IS A TEST ALERT" in payload["data"]["text"]
    assert request["headers"]["webhook-id"] == payload["data"]["id"]


def test_a_refusing_webhook_fails_the_command(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    with http_server(500, b"broken") as (url, _):
        path = write_config(HEAD + webhook(f"{url}/hook"))
        result = send_test(path, "hook", tmp_path)
    assert result.exit_code == 1
    assert "test alert to subscriber hook by webhook: FAILED: webhook answered HTTP 500" in (
        result.output
    )


def test_a_webhook_on_a_closed_port_fails(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config(HEAD + webhook(f"http://127.0.0.1:{free_port()}/hook"))
    result = send_test(path, "hook", tmp_path)
    assert result.exit_code == 1
    assert "FAILED: webhook request failed" in result.output


def test_a_test_email_is_marked_and_carries_the_security_phrase(
    write_config: Callable[..., Path], tmp_path: Path, smtp_server: tuple[str, Any]
) -> None:
    recipients = (
        "  - id: desk\n    email: desk@example.org\n    watchlists: [kg]\n"
        "    security_phrase: blue heron\n"
    )
    mailed(write_config(HEAD + recipients), "desk", tmp_path, smtp_server[0])
    (mail,) = smtp_server[1].messages
    assert mail["To"] == "desk@example.org"
    assert mail["Subject"].startswith("[rightswatch] TEST alert")
    assert mail["X-Rightswatch-Test"] == "yes"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert body.startswith("Your security phrase: blue heron\n")
    assert "THIS IS A TEST ALERT. Nobody was named" in body


def test_an_operator_gets_a_test_email(
    write_config: Callable[..., Path], tmp_path: Path, smtp_server: tuple[str, Any]
) -> None:
    smtp_url, inbox = smtp_server
    path = write_config(
        HEAD + "  - id: desk\n    console: true\n    watchlists: [kg]\n"
        "operators:\n  - id: ops\n    email: ops@example.org\n"
    )
    assert "test alert to operator ops by email: sent" in mailed(path, "ops", tmp_path, smtp_url)
    assert [m["To"] for m in inbox.messages] == ["ops@example.org"]


def test_a_dead_smtp_server_fails(write_config: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config(HEAD + "  - id: desk\n    email: desk@example.org\n    watchlists: [kg]\n")
    result = send_test(
        path, "desk", tmp_path, RIGHTSWATCH_SMTP_URL=f"smtp://127.0.0.1:{free_port()}"
    )
    assert result.exit_code == 1
    assert "test alert to subscriber desk by email: FAILED: SMTP connection failed" in result.output


def test_an_apprise_test_reaches_the_service(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    with http_server(200, b"{}", "application/json") as (url, requests):
        apprise_url = url.replace("http://", "json://") + "/notify"
        path = write_config(
            HEAD + f"  - id: chat\n    apprise: {apprise_url}\n    watchlists: [kg]\n"
        )
        result = send_test(path, "chat", tmp_path)
    assert result.exit_code == 0, result.output
    (request,) = requests
    sent = json.loads(request["body"])
    assert sent["title"].startswith("[rightswatch] TEST alert")
    assert "THIS IS A TEST ALERT" in sent["message"]


def test_an_unknown_id_names_the_known_ones(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config(HEAD + "  - id: desk\n    console: true\n    watchlists: [kg]\n")
    result = send_test(path, "dsek", tmp_path)
    assert result.exit_code == 1
    assert "no subscriber or operator 'dsek' in " in result.output
    assert "(known: desk)" in result.output


def test_an_api_subscriber_from_the_database_gets_a_signed_test(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_config(HEAD + "  - id: desk\n    console: true\n    watchlists: [kg]\n")
    database = f"sqlite:///{tmp_path / 'api.db'}"
    settings = load_settings({**ENV, "RIGHTSWATCH_DATABASE_URL": database})  # type: ignore[dict-item]
    with http_server(200) as (url, requests):
        runtime = Runtime(settings)
        try:
            runtime.migrate()
            with runtime.sessions() as session, session.begin():
                session.add(
                    Subscriber(
                        id="api-7f3a",
                        channel="webhook",
                        address=f"{url}/api-hook",
                        managed_by="api",
                        status="active",
                        webhook_secret=WEBHOOK_SECRET,
                    )
                )
        finally:
            runtime.close()
        result = send_test(path, "api-7f3a", tmp_path, RIGHTSWATCH_DATABASE_URL=database)
    assert result.exit_code == 0, result.output
    (request,) = requests
    assert request["path"] == "/api-hook"
    payload = Webhook(WEBHOOK_SECRET).verify(request["body"], request["headers"])
    assert payload["type"] == "test.alert" and payload["data"]["recipient"] == "api-7f3a"


def test_a_console_test_is_printed(write_config: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config(HEAD + "  - id: desk\n    console: true\n    watchlists: [kg]\n")
    result = send_test(path, "desk", tmp_path)
    assert result.exit_code == 0, result.output
    assert "Subject: [rightswatch] TEST alert: nobody was named" in result.output
    assert "test alert to subscriber desk by console: sent" in result.output


def test_an_outbox_folder_gets_the_test_mail(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    folder = tmp_path / "outbox"
    path = write_config(HEAD + f"  - id: files\n    outbox: {folder}\n    watchlists: [kg]\n")
    result = send_test(path, "files", tmp_path)
    assert result.exit_code == 0, result.output
    (eml,) = folder.glob("test-*.eml")
    assert b"X-Rightswatch-Test: yes" in eml.read_bytes()
