"""The production stack from the repository's own docker-compose.yml, for real, day one and two.

Needs a container engine (podman-compose or docker compose); skipped with the
reason when there is none, unless RIGHTSWATCH_REQUIRE_COMPOSE=1 (set by
.ci/run after it has made the engine available), which turns the skip into a
failure.

The stack runs from a copy of the repository (so the test can "change the code" and
upgrade) under its own project and image name, through the scripts the README documents:
scripts/upgrade, scripts/backup, scripts/restore, scripts/down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from pyrage import x25519

from tests.conftest import ROOT
from tests.support.feeds import feed_xml
from tests.support.network import free_port

# Building the image and the waits below (up to 240 s each) outlast the suite's 300 s per test.
pytestmark = [pytest.mark.compose, pytest.mark.timeout(2400)]

OVERRIDE = "tests/compose/docker-compose.test.yml"
APP_SERVICES = ("worker", "beat", "api")
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "data", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    "*.egg-info", ".env", "backups",
)  # fmt: skip
PROBE_MIGRATION = '''"""Test-only: the upgrade's schema change (one row says it ran once)."""
import sqlalchemy as sa
from alembic import op

revision = "upgrade_probe"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("upgrade_probe", sa.Column("id", sa.Integer, primary_key=True))
    op.bulk_insert(table, [{{"id": 1}}])


def downgrade() -> None:
    op.drop_table("upgrade_probe")
'''


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


@dataclass
class Stack:
    workdir: Path
    fixture_dir: Path
    project: str
    image: str
    env: dict[str, str]
    command: list[str]

    def run(
        self, args: list[str], *, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            args, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([*self.command, *args], check=check)

    def script(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(["bash", f"scripts/{name}", *args])

    def engine(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run([engine(), *args], check=check, timeout=300)

    def containers(self, service: str | None = None) -> list[str]:
        filters = ["--filter", f"label=com.docker.compose.project={self.project}"]
        if service:
            filters += ["--filter", f"label=com.docker.compose.service={service}"]
        return self.engine("ps", "-q", *filters).stdout.split()

    def all_containers(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return self.engine("ps", "-a", "-q", "--filter", label).stdout.split()

    def volumes(self) -> list[str]:
        label = f"label=com.docker.compose.project={self.project}"
        return self.engine("volume", "ls", "-q", "--filter", label).stdout.split()

    def sql(self, query: str) -> str:
        return self.compose(
            "exec", "-T", "postgres", "psql", "-tA", "-U", "rightswatch", "-d", "rightswatch",
            "-c", query,
        ).stdout.strip()  # fmt: skip


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    command = compose_command()
    if command is None:
        reason = "no container engine (podman-compose or a running Docker) on this machine"
        if os.environ.get("RIGHTSWATCH_REQUIRE_COMPOSE") == "1":
            pytest.fail(reason + ", but RIGHTSWATCH_REQUIRE_COMPOSE=1")
        pytest.skip(reason)
    workdir = tmp_path / "rightswatch"
    shutil.copytree(ROOT, workdir, ignore=COPY_IGNORE)
    fixture_dir = tmp_path / "fixture"
    fixture_dir.mkdir()
    fixture_dir.chmod(0o777)
    project = f"rwtest{uuid.uuid4().hex[:8]}"
    image = f"localhost/{project}:latest"
    outside = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    env = {
        **outside,
        "RW_FIXTURE_DIR": str(fixture_dir),
        "POSTGRES_PASSWORD": "test-secret",
        "COMPOSE_PROJECT_NAME": project,
        "COMPOSE_FILE": os.pathsep.join(["docker-compose.yml", OVERRIDE]),
        "COMPOSE": " ".join(command),
        "ENGINE": engine(),
        "RIGHTSWATCH_IMAGE": image,
        "RIGHTSWATCH_API_PORT": f"127.0.0.1:{free_port()}",
    }
    stack = Stack(workdir, fixture_dir, project, image, env, command)
    images: set[str] = set()
    try:
        yield stack
    finally:
        images.update(
            stack.engine("images", "-q", image.rsplit(":", 1)[0], check=False).stdout.split()
        )
        ids = stack.engine("ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={project}", check=False).stdout.split()  # fmt: skip
        logs = [stack.engine("logs", i, check=False) for i in ids]
        (tmp_path / "compose.log").write_text("".join(r.stdout + r.stderr for r in logs))
        stack.run(["bash", "scripts/down", "-v"], check=False)
        remove_leftovers(project)
        for image_id in images:
            stack.engine("rmi", "-f", image_id, check=False)


def remove_leftovers(project: str) -> None:
    """Whatever a failed step left behind: everything labelled with the project."""
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


NAMES = {"a": "Azimjan Askarov", "b": "Tolekan Ismailova"}
STORIES = {
    "a1": "at a press conference in Bishkek on Monday morning",
    "b2": "by lawyers who filed an appeal with the Supreme Court",
    "a3": "in a letter signed by forty organisations across Central Asia",
    "b4": "during a hearing that was closed to observers and journalists",
    "a5": "in a statement read outside the parliament after the vote",
    "b6": "when the restored service was asked about the new travel ban",
}


def publish(fixture_dir: Path, guids: list[str]) -> None:
    # Distinct texts: near-identical reports would rightly be merged into one story.
    items = [
        {"guid": g, "title": f"Report {g}", "description": f"{NAMES[g[0]]} was named {STORIES[g]}."}
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


def alerted(fixture_dir: Path, *guids: str) -> Callable[[], bool]:
    return lambda: {f"Report {g}" for g in guids} <= entry_ids(fixture_dir).keys()


def assert_each_once(fixture_dir: Path, guids: list[str]) -> None:
    seen = entry_ids(fixture_dir)
    assert set(seen) == {f"Report {g}" for g in guids}, seen
    assert all(len(ids) == 1 for ids in seen.values()), seen


def head_revision() -> str:
    head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
    assert head is not None
    return head


def test_stack_day_one_and_two(stack: Stack, tmp_path: Path) -> None:
    fixture_dir = stack.fixture_dir
    started = time.monotonic()

    def phase(what: str) -> None:
        print(f"{time.monotonic() - started:7.1f} s  {what}")  # shown with -s: where time goes

    # Day one: up, alerts once through a worker kill and a Redis restart.
    publish(fixture_dir, ["a1"])
    # The operator's .env reaches the app containers (any variable, not only those listed).
    (stack.workdir / ".env").write_text("RW_DOTENV_PROBE=from-the-env-file\n")
    stack.compose("build")
    stack.compose("up", "-d")
    stack.compose("up", "-d", "--scale", "worker=2")
    wait_for(alerted(fixture_dir, "a1"), 240, "the first alert")

    phase("day one: built, up, first alert")

    # A reverse proxy on the host reaches the API from the compose network's gateway: the
    # compose file trusts it, so each client behind the proxy has its own rate-limit bucket.
    api = f"http://{stack.env['RIGHTSWATCH_API_PORT']}"

    def api_up() -> bool:
        try:
            return httpx.get(f"{api}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def resend(n: int, client: str) -> int:
        return httpx.post(
            f"{api}/subscriptions/resend-confirmation",
            json={"email": f"person{n}@example.org"},
            headers={"X-Forwarded-For": client},
            timeout=30,
        ).status_code

    wait_for(api_up, 240, "the API")
    assert [resend(n, "198.51.100.1") for n in range(10)] == [202] * 10
    assert resend(10, "198.51.100.1") == 429
    assert resend(11, "198.51.100.2") == 202

    workers = stack.containers("worker")
    assert len(workers) == 2, workers
    probe = stack.engine("exec", workers[0], "printenv", "RW_DOTENV_PROBE")
    assert probe.stdout.strip() == "from-the-env-file"
    stack.engine("kill", "--signal", "KILL", workers[0])
    stack.compose("restart", "redis")
    publish(fixture_dir, ["a1", "b2", "a3", "b4"])
    wait_for(alerted(fixture_dir, "b2", "a3", "b4"), 240, "the alerts after the kill")
    time.sleep(15)  # several beat ticks and sweeps: nothing more may arrive
    assert_each_once(fixture_dir, ["a1", "b2", "a3", "b4"])
    received = [str(r["id"]) for r in hooks(fixture_dir)]
    # A worker killed between sending and recording may repeat a delivery, under the same id.
    assert len(received) <= len(set(received)) + 1, received
    # The console channel prints alerts as alerts, names and all (not through the redaction).
    console = "".join(stack.engine("logs", w).stdout for w in stack.containers("worker"))
    assert "Azimjan Askarov" in console or "Tolekan Ismailova" in console
    phase("day one: kill, Redis restart, every alert once")

    # Day two: change the code (a version and a schema migration), then the documented upgrade.
    old_image = stack.engine("image", "inspect", "--format", "{{.Id}}", stack.image).stdout.strip()
    init = stack.workdir / "worker" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "', '__version__ = "9.9.9+'))
    migration = stack.workdir / "alembic" / "versions" / "29991231_upgrade_probe.py"
    migration.write_text(PROBE_MIGRATION.format(head=head_revision()))
    stack.engine("start", workers[0], check=False)  # the killed replica, back before the roll
    stack.script("upgrade")
    phase("scripts/upgrade")
    new_image = stack.engine("image", "inspect", "--format", "{{.Id}}", stack.image).stdout.strip()
    assert new_image != old_image
    for service in APP_SERVICES:
        ids = stack.containers(service)
        assert len(ids) == (2 if service == "worker" else 1), (service, ids)
        for container in ids:
            inspected = stack.engine("inspect", "--format", "{{.Image}}", container)
            assert inspected.stdout.strip() == new_image, service
    version = stack.engine("exec", stack.containers("worker")[0], "rightswatch", "--version")
    assert "9.9.9+" in version.stdout
    assert stack.sql("SELECT version_num FROM alembic_version") == "upgrade_probe"
    assert stack.sql("SELECT count(*) FROM upgrade_probe") == "1"  # migrated once
    publish(fixture_dir, ["a1", "b2", "a3", "b4", "a5"])
    wait_for(alerted(fixture_dir, "a5"), 240, "an alert after the upgrade")
    time.sleep(10)
    assert_each_once(fixture_dir, ["a1", "b2", "a3", "b4", "a5"])
    phase("upgraded: new image everywhere, migrated once, alert once")

    # Backup, destroy, restore into fresh volumes.
    identity = x25519.Identity.generate()
    identity_file = tmp_path / "backup-identity.txt"
    identity_file.write_text(f"# public key: {identity.to_public()}\n{identity}\n")
    identity_file.chmod(0o600)
    stack.env["RIGHTSWATCH_BACKUP_RECIPIENT"] = str(identity.to_public())
    backup = tmp_path / "backups" / "rightswatch.age"
    stack.script("backup", str(backup))
    data = backup.read_bytes()
    assert data.startswith(b"age-encryption.org/v1")
    assert b"PGDMP" not in data and b"Report a1" not in data
    before = len(hooks(fixture_dir))
    phase("scripts/backup")

    stack.script("down", "-v")
    assert stack.all_containers() == [] and stack.volumes() == []
    phase("down -v")

    stack.script("restore", str(backup), str(identity_file))
    phase("scripts/down -v, scripts/restore")
    publish(fixture_dir, ["a1", "b2", "a3", "b4", "a5", "b6"])
    wait_for(alerted(fixture_dir, "b6"), 240, "an alert after the restore")
    time.sleep(15)
    assert_each_once(fixture_dir, ["a1", "b2", "a3", "b4", "a5", "b6"])
    assert len(hooks(fixture_dir)) == before + 1  # only the new item: nothing old again

    stack.script("down", "-v")
    assert stack.all_containers() == [] and stack.volumes() == []
    phase("down -v")
