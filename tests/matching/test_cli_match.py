"""`rightswatch match` on text files, feed files, URLs and stdin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("worker.config")

from worker.commands.match import match_command

CONFIG = """\
feeds:
  - id: some-feed
    url: https://example.org/feed.xml
watchlists:
  - id: defenders
    title: Defenders
    people:
      - name: Azimjan Askarov
    keywords: [torture]
  - id: press
    title: Press freedom
    keywords: [journalist]
    feeds: [some-feed]
"""

FEED = """\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Sample</title><link>https://example.org/</link>
<item><title>Азимжан Аскаров</title><link>https://example.org/a</link>
<description>Суд над Азимжаном Аскаровым.</description></item>
<item><title>Weather</title><link>https://example.org/b</link>
<description>Sunny.</description></item>
<item><title>A journalist on torture</title><description>No link here.</description></item>
</channel></rss>
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(match_command, list(args), input=stdin)


def _jsonl(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_text_file_is_one_document(config: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    report.write_text("Azimjan Askarov spoke of torture.\n", encoding="utf-8")
    result = _run("--config", str(config), "--format", "jsonl", str(report))
    assert result.exit_code == 0, result.output
    rows = _jsonl(result.stdout)
    assert [(row["source"], row["watchlist"], row["kind"], row["text"]) for row in rows] == [
        (str(report), "defenders", "person", "Azimjan Askarov"),
        (str(report), "defenders", "keyword", "torture"),
    ]
    assert rows[0] | {"snippet": ""} == {
        "source": str(report),
        "watchlist": "defenders",
        "kind": "person",
        "term": "Azimjan Askarov",
        "text": "Azimjan Askarov",
        "field": "content",
        "start": 0,
        "end": 15,
        "variant": "exact",
        "score": 1.0,
        "snippet": "",
    }


def test_feed_file_items_are_documents(config: Path, tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    result = _run("--config", str(config), "--format", "jsonl", str(feed))
    assert result.exit_code == 0, result.output
    rows = _jsonl(result.stdout)
    assert [(row["source"], row["field"], row["text"]) for row in rows] == [
        (f"{feed}#https://example.org/a", "title", "Азимжан Аскаров"),
        (f"{feed}#https://example.org/a", "summary", "Азимжаном Аскаровым"),
        (f"{feed}#2", "title", "torture"),
        (f"{feed}#2", "title", "journalist"),
    ]


def test_feed_is_sniffed_whatever_the_file_is_called(config: Path, tmp_path: Path) -> None:
    feed = tmp_path / "download"
    feed.write_text(FEED, encoding="utf-8")
    result = _run("--config", str(config), "--format", "jsonl", str(feed))
    assert {row["source"] for row in _jsonl(result.stdout)} == {
        f"{feed}#https://example.org/a",
        f"{feed}#2",
    }


def test_url_is_fetched_as_a_feed(config: Path, httpserver: Any) -> None:
    httpserver.expect_request("/rss").respond_with_data(FEED, content_type="application/rss+xml")
    url = httpserver.url_for("/rss")
    result = _run("--config", str(config), "--format", "jsonl", "--watchlist", "defenders", url)
    assert result.exit_code == 0, result.output
    assert [row["text"] for row in _jsonl(result.stdout)] == [
        "Азимжан Аскаров",
        "Азимжаном Аскаровым",
        "torture",
    ]


def test_stdin_and_the_text_format(config: Path) -> None:
    result = _run("--config", str(config), "-", stdin="Вчера Аскаров Азимжан заявил.")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "-  defenders  person  Azimjan Askarov  «Аскаров Азимжан»  content:6-21  reversed",
        "    Вчера «Аскаров Азимжан» заявил.",
    ]


def test_no_input_reads_stdin(config: Path) -> None:
    result = _run("--config", str(config), "--format", "jsonl", stdin="torture")
    assert [row["source"] for row in _jsonl(result.stdout)] == ["-"]


def test_nothing_found_still_exits_zero(config: Path) -> None:
    result = _run("--config", str(config), "-", stdin="Nothing to see.")
    assert (result.exit_code, result.stdout) == (0, "")


def test_many_documents_show_progress_on_stderr(config: Path, tmp_path: Path) -> None:
    paths = []
    for index in range(25):
        path = tmp_path / f"{index}.txt"
        path.write_text("torture" if index == 3 else "calm", encoding="utf-8")
        paths.append(str(path))
    result = _run("--config", str(config), "--format", "jsonl", *paths)
    assert result.exit_code == 0
    assert [row["source"] for row in _jsonl(result.stdout)] == [paths[3]]
    assert "Matching" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--watchlist", "nope", "-"],
            "unknown watch list 'nope'; the config has defenders, press",
        ),
        (["missing.txt"], "missing.txt: No such file or directory"),
    ],
)
def test_errors_are_one_line_and_exit_one(config: Path, arguments: list[str], message: str) -> None:
    result = _run("--config", str(config), *arguments, stdin="")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]


def test_config_errors_are_reported(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "watchlists:\n  - id: x\n    title: X\n    keywords: ['!!!']\n", encoding="utf-8"
    )
    result = _run("--config", str(broken), "-", stdin="")
    assert result.exit_code == 1
    assert "has no words to match" in result.stderr


def test_binary_file_is_refused(config: Path, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\xff\xfe\x00garbage")
    result = _run("--config", str(config), str(blob))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {blob}: not UTF-8 text"
