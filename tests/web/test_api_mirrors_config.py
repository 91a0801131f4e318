"""`rightswatch api` alone on a fresh database mirrors the YAML itself, at start and when
the file changes: no `run`, worker or beat has to have run first."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.api import SECRET_KEY
from tests.support.network import free_port
from tests.support.waits import wait_for

CONFIG = """\
feeds:
  - id: news
    url: http://127.0.0.1:9/feed.xml
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    description: People at risk in Kyrgyzstan
    public: true
    people: [{name: Azimjan Askarov}]
  - id: private
    title: Private list
    people: [{name: Hidden Person}]
"""

ADDED = """\
  - id: kz
    title: Kazakhstan defenders
    public: true
    people: [{name: Bir Duino}]
"""


def test_api_alone_lists_the_public_watch_lists_and_follows_changes(
    pg_database: str,
    write_config: Callable[..., Path],
    start_process: Callable[..., subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    config = write_config(CONFIG)
    port = free_port()
    env = {
        **os.environ,
        "RIGHTSWATCH_DATABASE_URL": pg_database,
        "RIGHTSWATCH_DATA_DIR": str(tmp_path / "data"),
        "RIGHTSWATCH_SECRET_KEY": SECRET_KEY,
        "RIGHTSWATCH_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    start_process("api", "--config", str(config), "--port", str(port), env=env, name="api")
    base = f"http://127.0.0.1:{port}"

    def ids() -> list[str]:
        try:
            return [
                w["id"] for w in httpx.get(f"{base}/watchlists", timeout=2).json()["watchlists"]
            ]
        except httpx.HTTPError:
            return []

    assert wait_for(lambda: ids() == ["kg"], timeout=60), (tmp_path / "api.log").read_text()
    listed = httpx.get(f"{base}/watchlists").json()["watchlists"]
    assert listed[0]["description"] == "People at risk in Kyrgyzstan"

    config.write_text(CONFIG + ADDED, encoding="utf-8")
    os.utime(config, (config.stat().st_atime, config.stat().st_mtime + 5))
    assert wait_for(lambda: ids() == ["kg", "kz"], timeout=30), ids()
