"""The pages in a real browser: Debian's Chromium driven by Playwright, over the live API,
a real SMTP server and the embedded worker on PostgreSQL.

A Russian-speaking visitor (Accept-Language: ru) subscribes through the form, gets the
confirmation e-mail in Russian, confirms, switches to a daily digest on the manage page,
receives the digest and unsubscribes from its link. A form posted from another page of
the same site, without the form's token, is refused.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.support.api import API_TOKEN, Stack, case_desk_subscription
from tests.support.waits import wait_for
from worker.db.models import Subscriber

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="needs Debian's chromium (make install-test installs it)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def subscriber(stack: Stack, address: str) -> Subscriber | None:
    with stack.worker.runtime.sessions() as session:
        rows = session.scalars(select(Subscriber).where(Subscriber.managed_by == "api"))
        return next((s for s in rows if s.address == address), None)


def test_a_russian_speaking_visitor_subscribes_confirms_changes_and_leaves(
    stack: Stack, browser: Browser
) -> None:
    context = browser.new_context(locale="ru-RU")
    context.set_default_timeout(10_000)
    page: Page = context.new_page()

    page.goto(stack.url + "/")
    expect(page).to_have_title(re.compile("Оповещения, когда упоминают правозащитников"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_text("People at risk in Kyrgyzstan")).to_be_visible()
    assert "Private list" not in page.content()
    page.get_by_role(
        "link", name=re.compile("Подписаться на этот список.*Kyrgyzstan defenders")
    ).click()

    expect(page.get_by_role("heading", name="Подписка на оповещения")).to_be_visible()
    expect(page.get_by_label("Kyrgyzstan defenders")).to_be_checked()
    expect(page.get_by_label("Язык писем")).to_have_value("ru")
    page.get_by_label("Адрес электронной почты").fill("zhurnalist@example.org")
    page.get_by_label("Каждое оповещение сразу").check()
    page.get_by_label("Контрольная фраза (необязательно)").fill("синяя чашка")
    page.get_by_role("button", name="Подписаться").click()
    expect(page.get_by_role("heading", name="Проверьте почту")).to_be_visible()

    mails = wait_for(lambda: stack.mails_to("zhurnalist@example.org"))
    assert mails, "no confirmation e-mail"
    (confirmation,) = mails
    assert confirmation["Subject"] == "[rightswatch] Подтвердите подписку"
    text = text_of(confirmation)
    assert "Пожалуйста, подтвердите подписку на rightswatch." in text
    assert "каждое оповещение сразу" in text and "Kyrgyzstan defenders" in text
    confirm_url = re.search(r"http://\S+/confirm/\S+", text)
    assert confirm_url is not None and confirm_url.group(0).endswith("?lang=ru")

    page.goto(confirm_url.group(0))
    expect(page.get_by_role("heading", name="Подтвердите подписку")).to_be_visible()
    page.get_by_role("button", name="Подтвердить").click()
    expect(page.get_by_role("heading", name="Подписка оформлена")).to_be_visible()
    page.get_by_role("link", name="Изменить или приостановить").click()

    expect(page.get_by_role("heading", name="Ваша подписка")).to_be_visible()
    expect(page.get_by_label("Каждое оповещение сразу")).to_be_checked()
    expect(page.get_by_label("Контрольная фраза (необязательно)")).to_have_value("синяя чашка")
    page.get_by_label("Сводка раз в день").check()
    page.get_by_label("Время", exact=True).fill("07:30")
    page.get_by_label("Часовой пояс").select_option("Asia/Bishkek")
    page.get_by_role("button", name="Сохранить изменения").click()
    expect(page.get_by_role("status")).to_have_text("Изменения сохранены.")
    expect(page.get_by_label("Сводка раз в день")).to_be_checked()
    row = subscriber(stack, "zhurnalist@example.org")
    assert row is not None
    assert (row.frequency, row.deliver_at, row.timezone, row.language) == (
        "daily",
        "07:30",
        "Asia/Bishkek",
        "ru",
    )

    stack.feed.publish("r1", "Азимжан Аскаров: суд", "Суд рассмотрел дело Азимжана Аскарова.")
    stack.run_once()
    assert len(stack.mails_to("zhurnalist@example.org")) == 1  # the digest waits for 07:30
    stack.clock.advance(days=1, hours=1)
    stack.run_once()
    digests = wait_for(lambda: stack.mails_to("zhurnalist@example.org")[1:])
    assert digests, "no digest"
    digest = digests[0]
    assert "ежедневная сводка" in str(digest["Subject"])  # the digest in her language too
    assert text_of(digest).startswith("синяя чашка") or "синяя чашка" in text_of(digest)[:200]
    unsubscribe = re.match(r"<(http://[^>]+)>", str(digest["List-Unsubscribe"]))
    assert unsubscribe is not None

    page.goto(unsubscribe.group(1))
    expect(page.get_by_role("heading", name="Отписаться")).to_be_visible()
    page.get_by_role("button", name="Отписаться").click()
    expect(page.get_by_role("heading", name="Вы отписались")).to_be_visible()
    expect(page.get_by_text("Ваша подписка и ваш адрес удалены.")).to_be_visible()
    assert subscriber(stack, "zhurnalist@example.org") is None
    context.close()


EVIL = """<!DOCTYPE html><html><body>
<form method="post" action="{action}">
<input type="hidden" name="csrf" value="guessed">
<input type="hidden" name="email" value="victim@example.org">
<input type="hidden" name="watchlists" value="kg">
<button type="submit">Win a prize</button>
</form></body></html>"""


def test_a_form_posted_from_another_page_is_refused(
    stack: Stack, browser: Browser, httpserver: HTTPServer
) -> None:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(stack.url + "/subscribe")  # the visitor has the form's cookie
    assert any(c["name"] == "rw_csrf" for c in context.cookies())
    httpserver.expect_request("/evil").respond_with_data(
        EVIL.format(action=stack.url + "/subscribe"), content_type="text/html"
    )
    page.goto(httpserver.url_for("/evil"))
    with page.expect_response(stack.url + "/subscribe") as answer:
        page.get_by_role("button", name="Win a prize").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="The form has expired")).to_be_visible()
    assert subscriber(stack, "victim@example.org") is None
    assert not stack.mails_to("victim@example.org")
    context.close()


def test_an_operator_finds_a_match_in_cyrillic_marks_a_hit_and_retries_a_dead_delivery(
    stack: Stack, browser: Browser, httpserver: HTTPServer
) -> None:
    cases, _subscription = case_desk_subscription(stack, httpserver)
    stack.feed.publish("d1", "Суд над Азимжаном Аскаровым", "Азимжан Аскаров остаётся в тюрьме.")
    stack.feed.publish("d2", "Tolekan Ismailova detained", "Police detained Tolekan Ismailova.")
    stack.run_once()
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(stack.url + "/desk")
    expect(page.get_by_role("heading", name="Desk: sign in")).to_be_visible()
    page.get_by_label("Operator token").fill(API_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Desk: recent matches")).to_be_visible()
    page.get_by_label("Search names, titles and snippets").fill("Аскаров")
    page.get_by_role("button", name="Search").click()
    rows = page.get_by_role("row")
    expect(rows).to_have_count(2)  # the header and the one match
    expect(rows.nth(1)).to_contain_text("Суд над Азимжаном Аскаровым")
    expect(rows.nth(1)).to_contain_text("Azimjan Askarov")

    rows.nth(1).get_by_role("link", name="Суд над Азимжаном Аскаровым").click()
    expect(page.get_by_role("heading", name="Суд над Азимжаном Аскаровым")).to_be_visible()
    page.get_by_role("button", name=re.compile("Not this person")).first.click()
    expect(page.get_by_role("status")).to_contain_text("Recorded as not this person")
    expect(page.locator("pre")).to_contain_text('- name: "Azimjan Askarov"')

    page.goto(stack.url + "/desk/outbox")
    dead = page.get_by_role("button", name=re.compile("Try again"))
    expect(dead).to_have_count(2)  # both alerts to the webhook gave up
    dead.first.click()
    expect(dead).to_have_count(1)
    cases.accepting = True
    stack.run_once()
    assert len(cases.received) == 1
    context.close()
