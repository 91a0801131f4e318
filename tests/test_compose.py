"""The production stack from the repository's own docker-compose.yml, for real.

Needs a container engine (podman-compose or docker compose); skipped with the
reason when there is none, unless RIGHTSWATCH_REQUIRE_COMPOSE=1 (set by
.ci/run after it has made the engine available), which turns the skip into a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.feeds import feed_xml

# Building the image and the waits below (up to 240 s each) outlast the suite's 300 s per test.
pytestmark = [pytest.mark.compose, pytest.mark.timeout(1200)]

OVERRIDE = "tests/compose/docker-compose.test.yml"


def compose_command() -> list[str] | None:
    if shutil.which("podman-compose") and shutil.which("podman"):
        return ["podman-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        info = subprocess.run(["docker", "info"], capture_output=True)
        if probe.returncode == 0 and info.returncode == 0:
            return ["docker", "compose"]
    return None


def engine() -> str:
    return "podman" if shutil.which("podman-compose") else "docker"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Callable[..., subprocess.CompletedProcess[str]], Path]]:
    command = compose_command()
    if command is None:
        reason = "no container engine (podman-compose or a running Docker) on this machine"
        if os.environ.get("RIGHTSWATCH_REQUIRE_COMPOSE") == "1":
            pytest.fail(reason + ", but RIGHTSWATCH_REQUIRE_COMPOSE=1")
        pytest.skip(reason)
    fixture_dir = tmp_path / "fixture"
    fixture_dir.mkdir()
    fixture_dir.chmod(0o777)
    project = f"rwtest{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "RW_FIXTURE_DIR": str(fixture_dir), "POSTGRES_PASSWORD": "test-secret"}
    base = [*command, "-p", project, "-f", "docker-compose.yml", "-f", OVERRIDE]

    def compose(
        *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*base, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    try:
        yield compose, fixture_dir
    finally:
        logs = compose("logs", check=False, timeout=120)
        (tmp_path / "compose.log").write_text(logs.stdout + logs.stderr)
        compose("down", "-v", "-t", "5", check=False, timeout=300)
        remove_leftovers(project)


def remove_leftovers(project: str) -> None:
    """`down` can miss containers added by `--scale`: remove everything labelled with the project."""
    label = f"label=com.docker.compose.project={project}"
    ids = subprocess.run(
        [engine(), "ps", "-a", "-q", "--filter", label], capture_output=True, text=True
    ).stdout.split()
    if ids:
        subprocess.run([engine(), "rm", "-f", *ids], capture_output=True, timeout=120)
    volumes = subprocess.run(
        [engine(), "volume", "ls", "-q", "--filter", label], capture_output=True, text=True
    ).stdout.split()
    if volumes:
        subprocess.run([engine(), "volume", "rm", "-f", *volumes], capture_output=True, timeout=120)


def hooks(fixture_dir: Path) -> list[dict[str, object]]:
    path = fixture_dir / "hooks.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def publish(fixture_dir: Path, guids: list[str]) -> None:
    names = {"a": "Azimjan Askarov", "b": "Tolekan Ismailova", "c": "Azimjan Askarov"}
    stories = {
        "a1": "at a press conference in Bishkek on Monday morning",
        "b2": "by lawyers who filed an appeal with the Supreme Court",
        "c3": "in a letter signed by forty organisations across Central Asia",
        "b4": "during a hearing that was closed to observers and journalists",
    }
    # Distinct texts: near-identical reports would rightly be merged into one story.
    items = [
        {"guid": g, "title": f"Report {g}", "description": f"{names[g[0]]} was named {stories[g]}."}
        for g in guids
    ]
    partial = fixture_dir / "feed.xml.part"
    partial.write_text(feed_xml(items))
    partial.chmod(0o644)
    partial.replace(fixture_dir / "feed.xml")


def entry_ids(fixture_dir: Path) -> dict[str, set[str]]:
    """Webhook ids received per entry title."""
    seen: dict[str, set[str]] = {}
    for record in hooks(fixture_dir):
        body = record["body"]
        assert isinstance(body, dict)
        title = body["data"]["entry"]["title"]
        seen.setdefault(title, set()).add(str(record["id"]))
    return seen


def test_stack_alerts_once_through_worker_kill_and_redis_restart(
    stack: tuple[Callable[..., subprocess.CompletedProcess[str]], Path],
) -> None:
    compose, fixture_dir = stack
    publish(fixture_dir, ["a1"])
    compose("build")
    compose("up", "-d")
    compose("up", "-d", "--scale", "worker=2")
    wait_for(lambda: "Report a1" in entry_ids(fixture_dir), 240, "the first alert")

    ps = compose("ps", check=False).stdout
    workers = [
        line.split()[0] for line in ps.splitlines() if "_worker_" in line or "-worker-" in line
    ]
    assert len(workers) >= 2, ps
    subprocess.run(
        [engine(), "kill", "--signal", "KILL", workers[0]], check=True, capture_output=True
    )
    compose("restart", "redis")
    publish(fixture_dir, ["a1", "b2", "c3", "b4"])
    wait_for(
        lambda: {"Report b2", "Report c3", "Report b4"} <= entry_ids(fixture_dir).keys(),
        240,
        "the alerts published after the kill and the restart",
    )
    time.sleep(15)  # several beat ticks and sweeps: nothing more may arrive
    seen = entry_ids(fixture_dir)
    assert set(seen) == {"Report a1", "Report b2", "Report c3", "Report b4"}
    assert all(len(ids) == 1 for ids in seen.values()), seen
    received = [str(r["id"]) for r in hooks(fixture_dir)]
    # A worker killed between sending and recording may repeat a delivery, under the same id.
    assert len(received) <= len(set(received)) + 1, received
