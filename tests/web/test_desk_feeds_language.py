# ruff: noqa: RUF001 -- the Russian and Kyrgyz words of the page are the test data
"""The desk's feed table speaks the operator's language: a failing feed's state, how many
failures in a row and since when, in Russian and Kyrgyz as in English."""

from __future__ import annotations

import os
import re

import httpx
from pytest_httpserver import HTTPServer

from tests.support.api import API_TOKEN, Stack, csrf_of


def with_a_broken_feed(stack: Stack, httpserver: HTTPServer) -> None:
    """The YAML gains a second feed, whose server answers 500."""
    httpserver.expect_request("/broken.xml").respond_with_data("down", status=500)
    config = stack.settings.config_path
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "feeds:\n",
            f"feeds:\n  - id: broken\n    url: {httpserver.url_for('/broken.xml')}\n",
            1,
        ),
        encoding="utf-8",
    )
    os.utime(config, (config.stat().st_atime, config.stat().st_mtime + 5))


def state_cells(page: httpx.Response) -> dict[str, str]:
    """Feed id → the text of its state cell."""
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td>([^<]*)</td>", page.text)
    return {feed: " ".join(state.split()) for feed, state in rows}


def test_a_failing_feed_is_described_in_the_operators_language(
    stack: Stack, httpserver: HTTPServer
) -> None:
    with_a_broken_feed(stack, httpserver)
    stack.worker.runtime.sync_config()
    stack.run_once()
    with httpx.Client(base_url=stack.url) as desk:
        form = desk.get("/desk/login")
        desk.post("/desk/login", data={"csrf": csrf_of(form), "token": API_TOKEN})
        english = state_cells(desk.get("/desk/feeds"))
        russian = state_cells(desk.get("/desk/feeds", params={"lang": "ru"}))
        kyrgyz = state_cells(desk.get("/desk/feeds", params={"lang": "ky"}))
    since = re.search(r"since (\S+ \S+) ", english["broken"])
    assert since is not None, english
    assert english == {
        "broken": f"failing since {since.group(1)} (failures in a row: 1)",
        "news": "ok",
    }
    assert russian == {
        "broken": f"сбоит с {since.group(1)} (сбоев подряд: 1)",
        "news": "в порядке",
    }
    assert kyrgyz == {
        "broken": f"{since.group(1)} бери ката берет (катары менен каталар: 1)",
        "news": "иштеп жатат",
    }
