"""``check-config --online`` also tries the channels of the subscribers made through the API,
which live in the database, and names them by id only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.checks.servers import http_server
from tests.support.receiver import WEBHOOK_SECRET
from worker.cli import cli
from worker.db.models import Subscriber
from worker.runtime import Runtime
from worker.security import crypto
from worker.settings import load_settings

CONFIG = """\
watchlists:
  - id: kg
    title: Kyrgyzstan
    people:
      - name: Azimjan Askarov
subscribers:
  - id: desk
    console: true
    watchlists: [kg]
"""


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str | None]:
    return {
        "RIGHTSWATCH_SMTP_URL": None,
        "RIGHTSWATCH_BROKER_URL": None,
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "RIGHTSWATCH_FETCH_TIMEOUT": "5",
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "RIGHTSWATCH_ENCRYPTION_KEY": crypto.new_key(),
    }


@pytest.fixture
def add_api_subscribers(
    environ: dict[str, str | None],
) -> Iterator[Callable[..., None]]:
    """Store subscribers as the API does (addresses encrypted); each is (id, channel,
    address, status)."""
    runtime = Runtime(load_settings({k: v for k, v in environ.items() if v is not None}))
    runtime.migrate()

    def add(*rows: tuple[str, str, str, str]) -> None:
        with runtime.sessions() as session, session.begin():
            for subscriber_id, channel, address, status in rows:
                session.add(
                    Subscriber(
                        id=subscriber_id,
                        channel=channel,
                        address=address,
                        managed_by="api",
                        status=status,
                        active=status == "active",
                        webhook_secret=WEBHOOK_SECRET if channel == "webhook" else None,
                    )
                )

    yield add
    runtime.close()


def check(path: Path, environ: dict[str, str | None], **env: str) -> Result:
    return CliRunner().invoke(cli, ["check-config", "--online", str(path)], env={**environ, **env})


def test_api_webhooks_and_e_mail_are_tried_and_named_by_id_only(
    write_config: Callable[..., Path],
    environ: dict[str, str | None],
    add_api_subscribers: Callable[..., None],
) -> None:
    path = write_config(CONFIG)
    with http_server(405) as (good, good_requests), http_server(404) as (gone, _):
        add_api_subscribers(
            ("api-good", "webhook", f"{good}/hooks/lawyer-aigul", "active"),
            ("api-gone", "webhook", f"{gone}/hooks/old", "active"),
            ("api-mail", "email", "aigul@example.org", "active"),
            ("api-paused", "webhook", "http://127.0.0.1:9/paused", "paused"),
        )
        result = check(path, environ)
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert "api subscriber api-good (webhook): ok: the receiver answers (HTTP 405 to OPTIONS)" in (
        lines
    )
    assert (
        "api subscriber api-gone (webhook): FAILED: the receiver answers HTTP 404: "
        "no receiver at this URL" in lines
    )
    assert (
        "api subscribers by e-mail (1: api-mail): FAILED: RIGHTSWATCH_SMTP_URL is not set" in lines
    )
    assert "api-paused" not in result.output
    for personal in ("aigul", "127.0.0.1", "/hooks"):
        assert personal not in result.output
    assert lines[-1] == f"{path}: 2 online checks failed"
    assert [r["method"] for r in good_requests] == ["OPTIONS"]  # nothing was sent


def test_api_e_mail_goes_through_the_checked_smtp_server(
    write_config: Callable[..., Path],
    environ: dict[str, str | None],
    add_api_subscribers: Callable[..., None],
    smtp_server: tuple[str, object],
) -> None:
    smtp_url, _ = smtp_server
    add_api_subscribers(("api-mail", "email", "aigul@example.org", "active"))
    result = check(write_config(CONFIG), environ, RIGHTSWATCH_SMTP_URL=smtp_url)
    assert result.exit_code == 0, result.output
    port = smtp_url.rsplit(":", 1)[1]
    assert f"api subscribers by e-mail (1: api-mail): ok: through smtp 127.0.0.1:{port}" in (
        result.output.splitlines()
    )
    assert "aigul" not in result.output


def test_a_database_that_cannot_be_read_fails_the_online_check(
    write_config: Callable[..., Path], environ: dict[str, str | None]
) -> None:
    closed = "postgresql+psycopg://rightswatch@127.0.0.1:9/rightswatch"
    result = check(write_config(CONFIG), environ, RIGHTSWATCH_DATABASE_URL=closed)
    assert result.exit_code == 1, result.output
    assert "api subscribers: FAILED: the database could not be read" in result.output
