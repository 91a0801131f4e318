"""The desk's feed health, subscribers, mentions chart and per-operator passwords, in Debian's
Chromium (Playwright) over the live API, the embedded worker and PostgreSQL.

An operator signs in with their id and password from the YAML, reads the feed table, finds
the YAML subscriber who unsubscribed and enables it again (audited under their name), and
looks at the mentions per day on the front page and on a person's page. Mentions are aged
relative to the real clock: the stack's clock is set back for the older ones.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from sqlalchemy import select

from tests.support.api import Stack
from worker.db import audit
from worker.db.models import Subscriber
from worker.security.passwords import hash_password
from worker.security.tokens import unsubscribe_token

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="needs Debian's chromium (make install-test installs it)",
)

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=shutil.which("chromium"))
        yield launched
        launched.close()


def with_operator(stack: Stack) -> None:
    """The YAML gains an operator who may sign in to the desk."""
    config = stack.settings.config_path
    config.write_text(
        config.read_text(encoding="utf-8")
        + "operators:\n  - id: anna\n    email: anna@example.org\n"
        + f'    password_hash: "{hash_password(PASSWORD)}"\n',
        encoding="utf-8",
    )
    os.utime(config, (config.stat().st_atime, config.stat().st_mtime + 5))


def sign_in(page: Page, stack: Stack) -> list[str]:
    """Sign in as anna; returns the console's CSP complaints, collected from now on."""
    refused: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    page.goto(stack.url + "/desk/login")
    page.get_by_label("Operator id").fill("anna")
    page.get_by_label("Operator token, or your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Desk: recent matches")).to_be_visible()
    return refused


def csrf_of(form: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None
    return found.group(1)


def yaml_desk(stack: Stack) -> Subscriber:
    with stack.worker.runtime.sessions() as session:
        found = session.scalars(select(Subscriber).where(Subscriber.id == "desk")).one()
        session.expunge(found)
        return found


def test_anonymous_visitors_are_sent_to_the_sign_in_page(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as anonymous:
        for path in ("/desk/feeds", "/desk/subscribers", "/desk/people/azimjan-askarov"):
            refused = anonymous.get(path)
            assert (refused.status_code, refused.headers["location"]) == (303, "/desk/login")
        csrf = csrf_of(anonymous.get("/desk/login"))
        enable = anonymous.post("/desk/subscribers/desk/enable", data={"csrf": csrf})
        assert (enable.status_code, enable.headers["location"]) == (303, "/desk/login")


def test_an_operator_signs_in_with_a_password_reads_feeds_and_enables_a_subscriber(
    stack: Stack, browser: Browser
) -> None:
    with_operator(stack)
    stack.feed.publish("h1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    left = stack.api.post(
        f"/unsubscribe/{unsubscribe_token(stack.settings.secret_key or '', 'desk')}"
    )
    assert left.status_code == 200 and yaml_desk(stack).status == "unsubscribed"

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(stack.url + "/desk/subscribers")
    expect(page.get_by_role("heading", name="Desk: sign in")).to_be_visible()
    refused = sign_in(page, stack)

    page.get_by_role("link", name="Feed health").click()
    expect(page.get_by_role("heading", name="Desk: feed health")).to_be_visible()
    news = page.get_by_role("row").filter(has_text="news")
    expect(news.get_by_role("cell").nth(1)).to_have_text("ok")
    expect(news.get_by_role("cell").nth(4)).to_have_text("1")
    expect(page.get_by_text("Unsubscribed by recipient: desk")).to_be_visible()

    page.get_by_role("link", name="Subscribers").click()
    row = page.locator("#subscriber-desk")
    expect(row.get_by_role("cell").nth(3)).to_have_text("d***@example.org")
    expect(row.get_by_role("cell").nth(5)).to_have_text("unsubscribed by recipient")
    assert "desk@example.org" not in page.content()
    enable = page.get_by_role("button", name="Enable: desk")
    enable.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#subscriber-desk").get_by_role("cell").nth(5)).to_have_text("active")
    expect(page.get_by_role("button", name="Enable: desk")).to_have_count(0)
    assert refused == []
    context.close()

    assert yaml_desk(stack).active and yaml_desk(stack).status is None
    with stack.worker.runtime.sessions() as session:
        (enabled,) = audit.recent(session, action="subscriber.enable")
        assert (enabled.actor, enabled.target) == ("desk:anna", "desk")
        assert [e.actor for e in audit.recent(session, action="desk.login")] == ["desk:anna"]


def test_wrong_passwords_are_refused_then_rate_limited(stack: Stack) -> None:
    with_operator(stack)
    with httpx.Client(base_url=stack.url) as guesser:
        csrf = csrf_of(guesser.get("/desk/login"))
        tries = [("anna", "guess"), ("nobody", PASSWORD), ("anna", ""), ("anna", "x"), ("", "x")]
        answers = [
            guesser.post("/desk/login", data={"csrf": csrf, "operator": o, "token": t})
            for o, t in tries
        ]
        assert [a.status_code for a in answers] == [401] * 5
        limited = guesser.post(
            "/desk/login", data={"csrf": csrf, "operator": "anna", "token": PASSWORD}
        )
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert guesser.get("/desk").status_code == 303


def test_mentions_per_day_on_the_front_page_and_a_persons_page(
    stack: Stack, browser: Browser
) -> None:
    with_operator(stack)
    today = datetime.now(UTC).replace(microsecond=0)
    stack.clock.now = today - timedelta(days=10)
    stack.feed.publish("m1", "Azimjan Askarov: appeal heard")
    stack.run_once()
    stack.clock.now = today - timedelta(days=3)
    stack.feed.publish("m2", "Azimjan Askarov remembered")
    stack.feed.publish("m3", "Tolekan Ismailova detained")
    stack.run_once()
    stack.clock.catch_up()
    ten_ago, three_ago = (str((stack.clock.now - timedelta(days=d)).date()) for d in (10, 3))
    first = str((stack.clock.now - timedelta(days=89)).date())
    last = str(stack.clock.now.date())

    context = browser.new_context()
    context.set_default_timeout(10_000)
    page = context.new_page()
    refused = sign_in(page, stack)
    summary = f"3 mentions from {first} to {last}; the most, 2, on {three_ago}."
    chart = page.get_by_role("img", name=summary)
    expect(chart).to_be_visible()
    expect(chart.locator("rect")).to_have_count(2)
    expect(page.get_by_text("Test news: 3")).to_be_visible()
    page.get_by_text("Mentions per day as a table").click()
    table = page.get_by_role("table", name="Days with mentions, newest first")
    expect(table.get_by_role("row")).to_have_text(
        ["Day (UTC)Mentions", f"{three_ago}2", f"{ten_ago}1"]  # cells' text, run together
    )

    page.get_by_role("link", name="Azimjan Askarov").first.click()
    expect(page.get_by_role("heading", name="Azimjan Askarov", exact=True)).to_be_visible()
    person = f"2 mentions from {first} to {last}; the most, 1, on {three_ago}."
    expect(page.get_by_role("img", name=person).locator("rect")).to_have_count(2)
    expect(page.get_by_text("Test news: 2")).to_be_visible()
    expect(page.get_by_role("link", name="Azimjan Askarov remembered")).to_be_visible()
    expect(page.get_by_role("link", name="Tolekan Ismailova detained")).to_have_count(0)
    assert refused == []
    csp = page.request.get(page.url).headers["content-security-policy"]
    assert "default-src 'none'" in csp and "img-src" not in csp
    assert page.goto(stack.url + "/desk/people/nobody").status == 404  # type: ignore[union-attr]
    context.close()


def test_guessing_one_operators_password_from_many_addresses_is_limited(stack: Stack) -> None:
    with_operator(stack)
    answers = []
    for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):  # each under the per-address limit
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(base_url=stack.url, transport=transport) as guesser:
            csrf = csrf_of(guesser.get("/desk/login"))
            for i in range(4):
                form = {"csrf": csrf, "operator": "anna", "token": f"guess-{i}"}
                answers.append(guesser.post("/desk/login", data=form).status_code)
    assert answers == [401] * 10 + [429] * 2
    with stack.worker.runtime.sessions() as session:
        assert audit.recent(session, action="desk.login") == []
