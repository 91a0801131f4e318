"""`rightswatch api` keeps the last good configuration; `/readyz` answers 503 naming file:line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.network import free_port
from tests.support.waits import wait_for

GOOD = """\
watchlists:
  - id: kg
    title: Kyrgyzstan
    public: true
    people:
      - name: Azimjan Askarov
"""
BROKEN = GOOD.replace("    public: true\n", "   public: true\n")


def test_readyz_fails_while_the_yaml_is_invalid_and_the_api_keeps_serving(
    tmp_path: Path, pg_database: str, start_process: Callable[..., subprocess.Popen[bytes]]
) -> None:
    config = tmp_path / "rightswatch.yaml"
    config.write_text(GOOD, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")}
    env = {
        **environ,
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATABASE_URL": pg_database,
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
    }
    once = subprocess.run(
        [sys.executable, "-m", "worker", "run", "--once"], env=env, capture_output=True, text=True
    )
    assert once.returncode == 0, once.stderr  # mirrors the watch list into the database
    port = free_port()
    start_process("api", "--port", str(port), env=env, name="api")
    base = f"http://127.0.0.1:{port}"

    def ready() -> int:
        try:
            return httpx.get(f"{base}/readyz", timeout=5).status_code
        except httpx.HTTPError:
            return 0

    assert wait_for(lambda: ready() == 200, 60), (tmp_path / "api.log").read_text()
    config.write_text(BROKEN, encoding="utf-8")
    assert wait_for(lambda: ready() == 503, 30)
    checks = {c["component"]: c for c in httpx.get(f"{base}/readyz").json()["checks"]}
    assert checks["database"]["ok"] and not checks["config"]["ok"]
    assert checks["config"]["detail"].startswith("invalid since ")
    assert f"({config}:4: invalid YAML: " in checks["config"]["detail"]
    assert httpx.get(f"{base}/watchlists").json()["watchlists"][0]["id"] == "kg"
    config.write_text(GOOD + "# fixed\n", encoding="utf-8")
    assert wait_for(lambda: ready() == 200, 30)
