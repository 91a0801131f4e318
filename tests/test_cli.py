"""The `rightswatch` command as a new user meets it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.waits import wait_for

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(
    r"^feeds: (\d+) polled, (\d+) failed \| entries: (\d+) new \| matches: (\d+) new \| "
    r"alerts: (\d+) sent, (\d+) failed$"
)


def rightswatch(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command", [[], ["run"], ["check-config"], ["migrate"], ["worker"], ["beat"], ["health"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    result = rightswatch(*command, "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_demo_prints_alerts_and_the_summary(tmp_path: Path) -> None:
    env = {"RIGHTSWATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}
    result = rightswatch("run", "--once", "--config", "config/demo.yaml", env=env)
    assert result.returncode == 0, result.stderr
    summary = SUMMARY.match(result.stdout.strip().splitlines()[-1])
    assert summary, result.stdout
    polled, failed, entries, matches, sent, not_sent = map(int, summary.groups())
    assert (polled, failed, not_sent) == (3, 0, 0)
    assert matches >= 1 and sent >= 1 and entries == 9
    assert "Azimjan Askarov" in result.stdout
    assert "https://www.iphronline.org/sample/askarov-ten-years" in result.stdout
    assert "Askarovich brothers" not in result.stdout

    again = rightswatch("run", "--once", "--config", "config/demo.yaml", env=env)
    assert again.stdout.strip() == (
        "feeds: 3 polled, 0 failed | entries: 0 new | matches: 0 new | alerts: 0 sent, 0 failed"
    )


def test_run_refuses_an_invalid_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("feeds:\n  - id: x\n    url: gopher://x\n")
    result = rightswatch("run", "--once", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{config}:3: feeds[0].url: invalid URL 'gopher://x': scheme must be one of http, https, file"
    )


def test_distributed_roles_need_a_broker() -> None:
    for role in ("worker", "beat"):
        result = rightswatch(role)
        assert result.returncode == 1
        assert "needs RIGHTSWATCH_BROKER_URL" in result.stderr
        assert "Traceback" not in result.stderr


def test_run_with_a_broker_explains_the_distributed_mode() -> None:
    result = rightswatch("run", env={"RIGHTSWATCH_BROKER_URL": "redis://127.0.0.1:6379/0"})
    assert result.returncode == 1
    assert "rightswatch worker" in result.stderr and "rightswatch beat" in result.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    env = {
        "RIGHTSWATCH_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "RIGHTSWATCH_STARTUP_WAIT": "2",
    }
    result = rightswatch("run", "--once", "--config", "config/demo.yaml", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the database is not ready after 2s: "), result.stderr
    assert "Connection refused" in last


def test_run_keeps_polling_until_interrupted(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    environ["RIGHTSWATCH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'run.db'}"
    out_path, err_path = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_path.open("w") as out_file, err_path.open("w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--config", "config/demo.yaml"],
            cwd=ROOT,
            env=environ,
            stdout=out_file,
            stderr=err_file,
            text=True,
        )
        # Interrupt only once the first cycle has printed its alerts (a loaded host is slow).
        assert wait_for(lambda: "Azimjan Askarov" in out_path.read_text(), timeout=120)
        assert process.poll() is None, "run exited on its own"
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    err = err_path.read_text()
    assert process.returncode == 0, err
    assert "Ctrl-C stops it" in err and "rightswatch stopped" in err


def test_health_reports_each_dependency(pg_database: str, redis_url: str) -> None:
    env = {"RIGHTSWATCH_DATABASE_URL": pg_database, "RIGHTSWATCH_BROKER_URL": redis_url}
    healthy = rightswatch("health", env=env)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    database, broker, config = healthy.stdout.splitlines()
    assert (database, broker) == ("database: ok: reachable", "broker: ok: reachable")
    assert config.startswith("config: ok: ")  # "valid", or "not recorded yet" before migrating
    broken = rightswatch("health", env={**env, "RIGHTSWATCH_BROKER_URL": "redis://127.0.0.1:1/0"})
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[1].startswith("broker: FAILING: ")
