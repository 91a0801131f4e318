"""Names in other scripts and case forms never reach the logs (issue 15, item 6): the
redaction filter masks every span the matcher finds, not only configured spellings."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worker import logs, redaction
from worker.settings import Settings

CONFIG = """\
feeds:
  - id: news
    url: https://news.example/feed.xml
watchlists:
  - id: kg
    title: Kyrgyzstan defenders
    feeds: [news]
    people:
      - name: Tolekan Ismailova
      - name: Azimjan Askarov
"""


@pytest.fixture
def log_text(
    write_config: Callable[..., Path], make_settings: Callable[..., Settings]
) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    logs.setup("DEBUG", "text", stream)
    redaction.install(make_settings(write_config(CONFIG)))
    try:
        yield stream
    finally:
        logs.setup("WARNING")


@pytest.mark.parametrize(
    "line",
    [
        "As it appeared: Толекан Исмаилова, Толекан Исмаилову",
        "title: Суд над Толеканом Исмаиловой отложен",
        "TOLEKAN ISMAILOVA detained",
        "Азимжан Аскаров умер в заключении",
    ],
)
def test_any_form_the_matcher_finds_is_masked(line: str, log_text: io.StringIO) -> None:
    logging.getLogger("some.library").warning("entry %s: %s", 42, line)
    text = log_text.getvalue()
    assert "[redacted]" in text and "entry 42" in text
    for word in ("Толекан", "Исмаилов", "Tolekan", "TOLEKAN", "ISMAILOVA", "Аскаров", "Азимжан"):
        assert word not in text, text
