"""The configuration mistakes of people who are not programmers are told what to write.

Each message names the file and the line (``path:N: …``), as every problem does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from worker.config import load_config
from worker.core.errors import ConfigError

HEAD = """\
feeds:
  - id: iphr
    url: https://www.iphronline.org/feed
subscribers:
  - id: desk
    console: true
    watchlists: [kg]
watchlists:
  - id: kg
    title: Kyrgyzstan
"""


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    return [str(p) for p in caught.value.problems]


def only(path: Path) -> str:
    found = problems(path)
    assert len(found) == 1, found
    return found[0]


def test_a_string_where_a_list_is_expected(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "    keywords: Bir Duino, foreign agents\n")
    assert only(path) == (
        f"{path}:11: watchlists[0].keywords: keywords is a list, not a single text: write it "
        "as a list: keywords: [Bir Duino, foreign agents] or one '- item' per line"
    )


def test_a_dash_inside_brackets(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "    people: [- Azimjan Askarov]\n")
    message = only(path)
    assert message.startswith(f"{path}:11: invalid YAML: inside [ ] there is no '-': ")
    assert "write people: and below it one '- name: Azimjan Askarov' per person" in message


def test_a_bare_name_for_a_person(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "    people:\n      - Azimjan Askarov\n")
    assert only(path) == (
        f"{path}:12: watchlists[0].people[0]: a person is written with name: — write "
        "'- name: Azimjan Askarov' (and aliases: [...] on the next line if needed)"
    )


def test_a_bare_name_in_brackets(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "    people: [Azimjan Askarov]\n")
    assert "write '- name: Azimjan Askarov'" in only(path)


@pytest.mark.parametrize(
    ("line", "key", "meant"),
    [
        ("    keyword: [Bir Duino]\n", "watchlists[0].keyword", "keywords"),
        ("    titel: x\n", "watchlists[0].titel", "title"),
        ("    poeple:\n      - name: Azimjan Askarov\n", "watchlists[0].poeple", "people"),
    ],
)
def test_an_unknown_key_suggests_the_key_meant(
    write_config: Callable[..., Path], line: str, key: str, meant: str
) -> None:
    path = write_config(HEAD + "    keywords: [x]\n" + line)
    found = [p for p in problems(path) if "unknown key" in p]
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}:12: {key}: unknown key ")
    assert found[0].endswith(f": did you mean {meant!r}?")


def test_an_unknown_key_in_a_subscriber(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD.replace("watchlists: [kg]", "watchlist: [kg]") + "    keywords: [x]\n")
    found = problems(path)
    assert (
        f"{path}:7: subscribers[0].watchlist: unknown key 'watchlist': did you mean "
        "'watchlists'?" in found
    )


def test_a_key_indented_at_the_wrong_level_parses_but_is_named(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(HEAD + "    people:\n      - name: Azimjan Askarov\n    aliases: [A]\n")
    assert only(path) == (
        f"{path}:13: watchlists[0].aliases: unknown key 'aliases': it belongs under people:; "
        "check the indentation of this line (keys of one item start in the same column)"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (HEAD + "    keywords: [x]\n   feeds: [iphr]\n", 12),  # one space short
        (HEAD + "    keywords: [x]\n      feeds: [iphr]\n", 12),  # two spaces too many
        (HEAD.replace("    url: https", "  url: https"), 3),  # out of its list item
    ],
)
def test_bad_indentation_names_the_line(
    write_config: Callable[..., Path], text: str, line: int
) -> None:
    path = write_config(text)
    message = only(path)
    assert message.startswith(f"{path}:{line}: invalid YAML: check the indentation of line {line}:")


def test_a_tab_is_named(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "\tkeywords: [x]\n")
    assert "is indented with a tab: YAML indents with spaces only" in only(path)


def test_a_colon_in_a_value_asks_for_quotes(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD.replace("title: Kyrgyzstan", "title: Kyrgyzstan: defenders"))
    assert only(path).startswith(
        f"{path}:10: invalid YAML: line 10 has a second ': ' in a value: put the value in "
        'quotes, e.g. title: "Kyrgyzstan: defenders"'
    )


def test_a_mapping_where_a_list_is_expected(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD + "    people:\n      name: Azimjan Askarov\n")
    assert only(path) == (
        f"{path}:11: watchlists[0].people: people is a list: start each of its items with "
        "'- ', e.g. '- name: Azimjan Askarov'"
    )


def test_an_unknown_top_level_key(write_config: Callable[..., Path]) -> None:
    path = write_config(HEAD.replace("subscribers:", "subscriber:") + "    keywords: [x]\n")
    found = problems(path)
    assert f"{path}:4: subscriber: unknown key 'subscriber': did you mean 'subscribers'?" in found
