"""`*_FILE` variants of every secret variable: Docker/Podman secrets mounted as files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.receiver import WEBHOOK_SECRET
from worker.core.errors import ConfigError
from worker.security.crypto import new_key
from worker.settings import load_settings


def secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")  # as `echo value > file` leaves it
    path.chmod(0o600)
    return str(path)


def test_every_rightswatch_secret_can_come_from_a_file(tmp_path: Path) -> None:
    key, old = new_key(), new_key()
    settings = load_settings(
        {
            "RIGHTSWATCH_DATA_DIR": str(tmp_path),
            "RIGHTSWATCH_SMTP_URL_FILE": secret_file(
                tmp_path, "smtp", "smtp://alerts:p%40ss@mail.example:2525"
            ),
            "RIGHTSWATCH_SECRET_KEY_FILE": secret_file(tmp_path, "secret", "s3cret-links"),
            "RIGHTSWATCH_API_TOKEN_FILE": secret_file(tmp_path, "token", "operator-token"),
            "RIGHTSWATCH_ENCRYPTION_KEY_FILE": secret_file(tmp_path, "key", key),
            "RIGHTSWATCH_ENCRYPTION_OLD_KEYS_FILE": secret_file(tmp_path, "old", old),
            "RIGHTSWATCH_DATABASE_URL_FILE": secret_file(
                tmp_path, "db", "postgresql://rw:pw@db:5432/rw"
            ),
            "RIGHTSWATCH_BROKER_URL_FILE": secret_file(tmp_path, "broker", "redis://:pw@r:6379/0"),
            "CASE_TRACKER_WEBHOOK_SECRET_FILE": secret_file(tmp_path, "hook", WEBHOOK_SECRET),
        }
    )
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.password) == (
        "mail.example",
        2525,
        "p@ss",
    )
    assert settings.secret_key == "s3cret-links"
    assert settings.api_token == "operator-token"
    assert settings.encryption_key is not None and settings.encryption_old_keys
    assert settings.database_url == "postgresql+psycopg://rw:pw@db:5432/rw"
    assert settings.broker_url == "redis://:pw@r:6379/0"
    # secret_env names from the YAML too, without the trailing newline
    assert settings.secret("CASE_TRACKER_WEBHOOK_SECRET") == WEBHOOK_SECRET


def test_a_value_set_directly_wins_over_its_file(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "RIGHTSWATCH_API_TOKEN": "direct",
            "RIGHTSWATCH_API_TOKEN_FILE": secret_file(tmp_path, "token", "from-file"),
        }
    )
    assert settings.api_token == "direct"


def test_an_unreadable_rightswatch_file_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="RIGHTSWATCH_SECRET_KEY_FILE: cannot read"):
        load_settings({"RIGHTSWATCH_SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_other_software_s_file_variables_are_left_alone(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("x" * 200_000)
    settings = load_settings(
        {"SSL_CERT_FILE": str(bundle), "PIP_CONFIG_FILE": str(tmp_path / "missing")}
    )
    assert settings.secret("SSL_CERT") is None
    assert settings.secret("PIP_CONFIG") is None


def test_check_config_accepts_a_webhook_secret_given_as_a_file(tmp_path: Path) -> None:
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        textwrap.dedent(
            """\
            feeds:
              - {id: f, url: "https://example.org/feed.xml"}
            watchlists:
              - id: kg
                title: Kyrgyzstan
                people: [{name: Azimjan Askarov}]
            subscribers:
              - id: tracker
                webhook: https://hooks.example.org/rw
                secret_env: CASE_TRACKER_WEBHOOK_SECRET
                watchlists: [kg]
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIGHTSWATCH_", "CASE_"))}
    env["CASE_TRACKER_WEBHOOK_SECRET_FILE"] = secret_file(tmp_path, "hook", WEBHOOK_SECRET)
    result = subprocess.run(
        [sys.executable, "-m", "worker", "check-config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert WEBHOOK_SECRET not in result.stdout + result.stderr
