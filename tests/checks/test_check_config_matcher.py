"""``check-config`` compiles the watch lists: a term the matcher refuses is reported at its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.checks.test_check_config import check

CONFIG = """\
watchlists:
  - id: kg
    title: Kyrgyzstan
    people:
      - name: Azimjan Askarov
    keywords:
      - torture
      - "иностран*ные агент*"
    near: [{terms: [journalist, "de*tained"], within: 5}]
  - id: kz
    title: Kazakhstan
    keywords: ["foreign agent*", "*"]
subscribers:
  - id: desk
    console: true
    watchlists: [kg, kz]
"""


def test_a_star_inside_a_word_is_reported_at_its_line(write_config: Callable[..., Path]) -> None:
    path = write_config(CONFIG)
    result = check(path)
    assert result.exit_code == 1, result.output
    assert (
        f"{path}:8: watchlists[0].keywords[1]: term 'иностран*ные агент*': * may only end a"
        " word (write иностран* for every word that starts so)"
    ) in result.output
    assert f"{path}:9: watchlists[0].near[0]: term 'de*tained'" in result.output
    assert f"{path}:12: watchlists[1].keywords[1]: term '*' has no words to match" in (
        result.output
    )
    assert "keywords[0]" not in result.output
    assert f"{path}: 3 problems" in result.output


def test_keywords_the_matcher_takes_are_ok(write_config: Callable[..., Path]) -> None:
    path = write_config(
        CONFIG.replace("иностран*ные", "иностранн*")
        .replace('"de*tained"', "detained")
        .replace(', "*"', "")
    )
    result = check(path)
    assert result.exit_code == 0, result.output
    assert ": OK: " in result.output
