"""``python -m worker ARGS`` as a subprocess, the way an operator's shell runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.support.receiver import WEBHOOK_SECRET

ROOT = Path(__file__).resolve().parents[2]


def run_rightswatch(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one rightswatch command to completion and keep its output (never raises on exit)."""
    return subprocess.run(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        env=dict(env) if env is not None else None,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def process_env(config: Path, data_dir: Path | str, **settings: str) -> dict[str, str]:
    """The environment of a rightswatch process a test starts: this one's without its
    ``RIGHTSWATCH_*`` settings (the shell's must not leak in), the config, a data directory,
    loopback webhooks allowed and the case tracker's secret, then ``settings``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("RIGHTSWATCH_")},
        "RIGHTSWATCH_CONFIG": str(config),
        "RIGHTSWATCH_DATA_DIR": str(data_dir),
        "RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE": "true",
        "CASE_TRACKER_WEBHOOK_SECRET": WEBHOOK_SECRET,
        **settings,
    }


def stop_groups(processes: Iterable[subprocess.Popen[bytes]], timeout: float) -> None:
    """Stop the process groups still running (SIGTERM, prefork children included), and kill
    those that have not exited within ``timeout`` seconds each."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
