"""`rightswatch match --explain`, and the issue's Kyrgyz, hyphenated and keyword cases from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("worker.config")

from worker.commands.match import match_command

CONFIG = """\
watchlists:
  - id: defenders
    title: Defenders
    people:
      - name: Tolekan Ismailova
        aliases: [Толекан Исмаилова]
      - name: Aziza Abdirasulova
        aliases: [Азиза Абдирасулова]
      - name: Kassym-Jomart Tokayev
        aliases: [Касым-Жомарт Токаев]
      - name: Azimjan Askarov
        aliases: [Азимжан Аскаров]
        exclude: [улица Аскарова, Askarov Street]
      - name: Theresa May
    keywords: ["иностранн* агент*", "foreign agent"]
"""

TEXT = (
    "Толекан Исмаилованы суракка чакырышты. Азиза Абдирасулованы да. "
    "Касым-Жомарта Токаева встретили. Тереза Мэй выступила. "
    "Реестр иностранных агентов пополнился; two more foreign agents.\n"
)
NEAR_MISSES = (
    "Askarovich and Askarovna testified. Askar spoke. Bakyt Askarov, his brother, too. "
    "Митинг на улице Аскарова. Руслан Аскаров, бизнесмен, не родственник.\n"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rightswatch.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _jsonl(config: Path, text: str, *extra: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        match_command, ["--config", str(config), "--format", "jsonl", *extra, "-"], input=text
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_kyrgyz_hyphenated_transcribed_and_keyword_cases_match(config: Path) -> None:
    found = [(hit["term"], hit["text"], hit["variant"]) for hit in _jsonl(config, TEXT)]
    assert found == [
        ("Tolekan Ismailova", "Толекан Исмаилованы", "inflected"),
        ("Aziza Abdirasulova", "Азиза Абдирасулованы", "inflected"),
        ("Kassym-Jomart Tokayev", "Касым-Жомарта Токаева", "inflected"),
        ("Theresa May", "Тереза Мэй", "transcribed"),
        ("иностранн* агент*", "иностранных агентов", "keyword"),
        ("foreign agent", "foreign agents", "keyword"),
    ]


def test_near_misses_do_not_match(config: Path) -> None:
    assert _jsonl(config, NEAR_MISSES) == []


def test_explain_gives_the_rule_chain_of_every_word(config: Path) -> None:
    hits = {hit["text"]: hit for hit in _jsonl(config, TEXT, "--explain")}
    may = hits["Тереза Мэй"]["explain"]
    assert [(step["word"], step["reading"], step["folded"], step["text"]) for step in may] == [
        ("Theresa", "thereza", "terez", "Тереза"),
        ("May", "mei", "mei", "Мэй"),
    ]
    assert all("transcription" in step["rule"] for step in may)
    surname = hits["Толекан Исмаилованы"]["explain"][1]
    assert (surname["configured"], surname["word"], surname["folded"], surname["text_key"]) == (
        "Tolekan Ismailova",
        "Ismailova",
        "ismailov",
        "ismailovani",
    )
    assert "feminine" in surname["ending"]
    keyword = hits["иностранных агентов"]["explain"]
    assert [(step["folded"], step["text_key"]) for step in keyword] == [
        ("inostran", "inostranih"),
        ("agent", "agentov"),
    ]


def test_explain_in_text_output(config: Path) -> None:
    result = CliRunner().invoke(
        match_command, ["--config", str(config), "--explain", "-"], input="Тереза Мэй.\n"
    )
    assert result.exit_code == 0, result.output
    assert "because 'Theresa May': 'May' → reading 'mei'" in result.output
