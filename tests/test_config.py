"""Configuration: the issue's example works; every mistake is reported with file:line."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_rightswatch
from tests.support.receiver import WEBHOOK_SECRET
from worker.config import load_config, parse_duration
from worker.core.errors import ConfigError

EXAMPLE = """\
feeds:
  - id: iphr
    title: International Partnership for Human Rights
    url: https://www.iphronline.org/feed
    poll_interval: 15m          # optional
watchlists:
  - id: kyrgyzstan-defenders
    title: Human rights defenders in Kyrgyzstan
    people:
      - name: Azimjan Askarov
        aliases: [Azimzhan Askarov, Азимжан Аскаров]
      - name: Tolekan Ismailova
      - name: Aziza Abdirasulova
    keywords: [Bir Duino, foreign agents]
    feeds: [iphr]               # optional; all feeds when absent
subscribers:
  - id: kg-desk
    email: kg-desk@example.org
    watchlists: [kyrgyzstan-defenders]
  - id: case-tracker
    webhook: https://cases.example.org/hooks/rightswatch
    secret_env: CASE_TRACKER_WEBHOOK_SECRET   # secrets never sit in the YAML
    watchlists: [kyrgyzstan-defenders]
"""
ENV = {"CASE_TRACKER_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, ENV if environ is None else environ)
    return [str(p) for p in caught.value.problems]


def test_the_issue_example_is_valid(write_config: Callable[..., Path]) -> None:
    loaded = load_config(write_config(EXAMPLE), ENV)
    config = loaded.config
    assert [f.id for f in config.feeds] == ["iphr"]
    assert config.feeds[0].poll_interval == timedelta(minutes=15)
    spec = config.watchlist_specs()[0]
    assert spec.feeds == ("iphr",)
    assert spec.people[0].aliases == ("Azimzhan Askarov", "Азимжан Аскаров")
    assert spec.people[0].id == "azimjan-askarov"
    assert [s.channel for s in config.subscribers] == ["email", "webhook"]
    assert len(loaded.version) == 64


def test_the_shipped_configs_are_valid() -> None:
    root = Path(__file__).resolve().parent.parent
    for name in ("rightswatch.yaml", "demo.yaml"):
        assert load_config(root / "config" / name, {}).config.watchlists


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("    feeds: [iphr]", "    feeds: [iphr, hrw]"),
            ":15: watchlists[0].feeds[1]: unknown feed 'hrw'",
        ),
        (
            ("    poll_interval: 15m", "    poll_interval: soon"),
            ":5: feeds[0].poll_interval: expected a duration",
        ),
        (
            ("    title: International", "    colour: red\n    title: International"),
            ":3: feeds[0].colour: unknown key 'colour'",
        ),
        (
            ("url: https://www.iphronline.org/feed", "url: ftp://iphr/feed"),
            ":4: feeds[0].url: invalid URL 'ftp://iphr/feed'",
        ),
        (
            ("email: kg-desk@example.org", "email: kg-desk.example.org"),
            ":18: subscribers[0].email: invalid e-mail address",
        ),
        (
            (
                "    watchlists: [kyrgyzstan-defenders]\n  - id: case",
                "    watchlists: [kg]\n  - id: case",
            ),
            ":19: subscribers[0].watchlists[0]: unknown watch list 'kg'",
        ),
        (
            ("  - id: case-tracker", "  - id: kg-desk"),
            ":20: subscribers[1].id: duplicate id 'kg-desk'",
        ),
        (
            ("    secret_env: CASE_TRACKER_WEBHOOK_SECRET", "    secret_env: NOT_SET_ANYWHERE"),
            ":22: subscribers[1].secret_env: environment variable NOT_SET_ANYWHERE is not set",
        ),
        (
            ("    secret_env: CASE_TRACKER_WEBHOOK_SECRET   # secrets never sit in the YAML\n", ""),
            ":20: subscribers[1]: a webhook subscriber needs secret_env",
        ),
        (
            ("    title: Human rights defenders in Kyrgyzstan\n", ""),
            ":7: watchlists[0].title: missing required key 'title'",
        ),
    ],
)
def test_each_mistake_names_file_line_and_key(
    write_config: Callable[..., Path], edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in EXAMPLE
    path = write_config(EXAMPLE.replace(old, new, 1))
    found = problems(path)
    assert any(p.startswith(str(path)) and expected in p for p in found), found


def test_all_problems_are_reported_at_once(write_config: Callable[..., Path]) -> None:
    text = EXAMPLE.replace("feeds: [iphr]", "feeds: [hrw]").replace(
        "email: kg-desk@example.org", "email: nobody"
    )
    found = problems(write_config(text))
    assert len(found) == 2
    assert "unknown feed 'hrw'" in found[0] and "invalid e-mail" in found[1]


def test_yaml_syntax_error_has_a_line(write_config: Callable[..., Path]) -> None:
    path = write_config("feeds:\n  - id: a\n    url: [unclosed\nwatchlists: []\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:") and "invalid YAML" in problem


def test_duplicate_yaml_keys_are_errors(write_config: Callable[..., Path]) -> None:
    text = EXAMPLE.replace(
        "    title: International", "    url: https://x.example/\n    title: International"
    )
    found = problems(write_config(text))
    assert any(":5: feeds[0].url: key 'url' is given twice" in p for p in found), found


def test_yaml_is_loaded_safely(write_config: Callable[..., Path]) -> None:
    path = write_config("feeds: !!python/object/apply:os.system ['echo pwned']\n")
    (problem,) = problems(path)
    assert "invalid YAML" in problem


def test_missing_file(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path / "nope.yaml")
    assert problem == f"{tmp_path / 'nope.yaml'}: file not found"


def test_relative_file_feeds_resolve_next_to_the_config(write_config: Callable[..., Path]) -> None:
    path = write_config(
        "feeds:\n  - id: local\n    url: file:feeds/x.xml\nwatchlists:\n"
        "  - id: w\n    title: W\n    keywords: [x]\n"
    )
    url = load_config(path, {}).config.feeds[0].url
    assert url == (path.parent / "feeds" / "x.xml").as_uri()


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(90, 90), ("30s", 30), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1.5h", 5400)],
)
def test_durations(raw: object, seconds: int) -> None:
    assert parse_duration(raw).total_seconds() == seconds


@pytest.mark.parametrize("raw", ["", "soon", "-5m", 0, True, "5 parsecs"])
def test_bad_durations(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(raw)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_rightswatch(*args, env=env)


def test_check_config_cli_reports_and_exits_1(write_config: Callable[..., Path]) -> None:
    path = write_config(EXAMPLE.replace("feeds: [iphr]", "feeds: [iphr, hrw]"))
    result = run_cli(
        "check-config", str(path), env={"CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET, "PATH": ""}
    )
    assert result.returncode == 1
    assert f"{path}:15: watchlists[0].feeds[1]: unknown feed 'hrw'" in result.stderr.splitlines()
    assert "Traceback" not in result.stderr


def test_check_config_cli_on_a_valid_file(write_config: Callable[..., Path]) -> None:
    path = write_config(EXAMPLE)
    env = {"CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET, "RIGHTSWATCH_SMTP_URL": "smtp://mail"}
    result = run_cli("check-config", str(path), env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"{path}: OK: 1 feed, 1 watch list (3 people, 2 keywords), 2 subscribers"
    )


def test_check_config_uses_the_environment_path(write_config: Callable[..., Path]) -> None:
    path = write_config("feeds: [")
    result = run_cli("check-config", env={"RIGHTSWATCH_CONFIG": str(path)})
    assert result.returncode == 1
    assert result.stderr.startswith(f"{path}:")
