"""Long CLI work shows progress on stderr: a bar under a real pseudo-terminal, plain lines in
a pipe; the summary line on stdout stays exactly as scripts parse it.

Each command runs as ``python -m worker …`` with stderr on a pty (``pty.openpty``) and
stdout on a pipe, as an operator's terminal piping the summary into a script would.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, update

from tests.support.cli import ROOT, process_env, run_rightswatch
from tests.support.feeds import feed_xml
from worker.db.models import Entry
from worker.security.crypto import new_key

FEEDS = 25
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""Any control character but tab and newline (ANSI escapes start with ESC, bars redraw with CR)."""


def on_terminal(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """Run a command with stderr on a pseudo-terminal: (exit status, stdout, what the
    terminal showed)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "worker", *args],
        cwd=ROOT,
        env={**env, "COLUMNS": "100", "TERM": "xterm-256color"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
    )
    os.close(terminal)
    shown = bytearray()
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the pty closes with the process (EIO on Linux)
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    return process.wait(timeout=60), stdout, shown.decode(errors="replace")


def assert_bar(shown: str, label: str, total: int) -> None:
    assert "\x1b[" in shown, "drawn with ANSI escapes"
    assert label in shown and f"{total}/{total}" in shown and "100%" in shown
    assert "━" in shown, "rich's bar"


def write_config(tmp_path: Path, httpserver: HTTPServer) -> Path:
    feeds = []
    for index in range(FEEDS):
        item = {"guid": f"g{index}", "title": f"Report {index}", "description": "Nothing new."}
        httpserver.expect_request(f"/f{index}.xml").respond_with_data(feed_xml([item]))
        feeds.append(f"  - {{id: f{index}, url: {httpserver.url_for(f'/f{index}.xml')}}}")
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        "feeds:\n" + "\n".join(feeds) + "\nwatchlists:\n"
        "  - {id: kg, title: K, people: [{name: Azimjan Askarov}]}\n"
        "retention: {entries: 30d}\ndefaults: {host_delay: 0}  # one local host serves every feed\n",
        encoding="utf-8",
    )
    return config


def test_run_once_rotate_key_and_purge_draw_a_bar_on_a_terminal_and_lines_in_a_pipe(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    data = tmp_path / "data"
    env = process_env(
        write_config(tmp_path, httpserver), data, RIGHTSWATCH_ENCRYPTION_KEY=new_key()
    )
    piped = run_rightswatch("run", "--once", env=env)
    assert piped.stdout == (
        f"feeds: {FEEDS} polled, 0 failed | entries: {FEEDS} new | matches: 0 new | "
        "alerts: 0 sent, 0 failed\n"
    ), piped.stderr
    assert not CONTROL.search(piped.stderr)
    assert f"Polling feeds: {FEEDS}/{FEEDS}\n" in piped.stderr
    assert len(re.findall(r"^Polling feeds: \d+/25$", piped.stderr, re.MULTILINE)) <= 11

    status, stdout, shown = on_terminal("run", "--once", env=env)
    assert (status, stdout) == (
        0,
        f"feeds: {FEEDS} polled, 0 failed | entries: 0 new | matches: 0 new | "
        "alerts: 0 sent, 0 failed\n",
    )
    assert_bar(shown, "Polling feeds", FEEDS)

    status, stdout, shown = on_terminal(
        "rotate-key", env={**env, "RIGHTSWATCH_ENCRYPTION_KEY": new_key(),
                           "RIGHTSWATCH_ENCRYPTION_OLD_KEYS": env["RIGHTSWATCH_ENCRYPTION_KEY"]},
    )  # fmt: skip
    assert status == 0, shown
    assert re.fullmatch(
        r"re-encrypted \d+ values and re-keyed 25 entries and \d+ delivery receivers under key \S+\n",
        stdout,
    )
    assert_bar(shown, "Re-keying entries", FEEDS)
    assert_bar(shown, "Re-encrypting entries", FEEDS)

    engine = create_engine(f"sqlite:///{data / 'rightswatch.db'}")
    with engine.begin() as connection:
        connection.execute(
            update(Entry).values(first_seen_at=datetime.now(UTC) - timedelta(days=400))
        )
    engine.dispose()
    status, stdout, shown = on_terminal("purge", env=env)
    assert status == 0, shown
    assert re.fullmatch(r"deleted \d+ rows \(.*entries.*\)\n", stdout), stdout
    assert_bar(shown, "Emptying old entries", FEEDS)


def test_feeds_import_draws_a_bar_and_prints_the_yaml_unchanged(tmp_path: Path) -> None:
    outlines = "".join(
        f'<outline text="Feed {index}" xmlUrl="https://example.org/{index}.xml"/>'
        for index in range(30)
    )
    opml = tmp_path / "feeds.opml"
    opml.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    env = process_env(tmp_path / "absent.yaml", tmp_path / "data")
    piped = run_rightswatch("feeds", "import", str(opml), env=env)
    assert piped.returncode == 0 and not CONTROL.search(piped.stderr)
    assert piped.stderr.endswith("Reading feeds: 30/30\n")
    status, stdout, shown = on_terminal("feeds", "import", str(opml), env=env)
    assert (status, stdout) == (0, piped.stdout)
    assert stdout.startswith("feeds:\n") and stdout.count("https://example.org/") == 30
    assert_bar(shown, "Reading feeds", 30)


def test_match_draws_the_same_bar(tmp_path: Path) -> None:
    config = tmp_path / "rightswatch.yaml"
    config.write_text(
        "feeds: []\nwatchlists:\n  - {id: kg, title: K, people: [{name: Azimjan Askarov}]}\n",
        encoding="utf-8",
    )
    paths = []
    for index in range(30):
        path = tmp_path / f"{index}.txt"
        path.write_text("Azimjan Askarov" if index == 7 else "calm", encoding="utf-8")
        paths.append(str(path))
    env = process_env(config, tmp_path / "data")
    status, stdout, shown = on_terminal(
        "match", "--config", str(config), "--format", "jsonl", *paths, env=env
    )
    assert status == 0 and [line.count(paths[7]) for line in stdout.splitlines()] == [1]
    assert_bar(shown, "Matching", 30)
