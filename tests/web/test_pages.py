"""The pages over HTTP (no browser): language choice, CSRF, the subscribe form's answers
(the same for everyone, limited, corrected in the visitor's language), the manage page,
and catalogues that cover every message."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from tests.support.api import Stack, csrf_of
from tests.support.waits import wait_for
from worker import i18n
from worker.db.models import Subscriber

LOCALE = Path(i18n.__file__).parent / "locale"


def form(**fields: str | list[str]) -> dict[str, str | list[str]]:
    return {"watchlists": ["kg"], "frequency": "immediate", "time": "08:00", **fields}


def api_rows(stack: Stack) -> list[Subscriber]:
    with stack.worker.runtime.sessions() as session:
        return list(session.scalars(select(Subscriber).where(Subscriber.managed_by == "api")))


def test_the_language_comes_from_the_link_then_the_switch_then_the_browser(stack: Stack) -> None:
    assert '<html lang="en">' in stack.api.get("/").text
    russian = stack.api.get("/", headers={"Accept-Language": "de-DE, ru;q=0.8, en;q=0.5"})
    assert '<html lang="ru">' in russian.text
    assert "Списки, на которые можно подписаться" in russian.text

    with httpx.Client(base_url=stack.url) as browser:
        kyrgyz = browser.get("/?lang=ky", headers={"Accept-Language": "ru"})
        assert '<html lang="ky">' in kyrgyz.text and "Жазылууга боло турган тизмелер" in kyrgyz.text
        assert browser.cookies["rw_lang"] == "ky"
        later = browser.get("/subscribe", headers={"Accept-Language": "ru"})
        assert '<html lang="ky">' in later.text  # the switch is remembered
        assert 'href="/subscribe?lang=ru"' in later.text  # …and offered on every page


def test_pages_keep_the_strict_policy_and_need_no_script(stack: Stack) -> None:
    for path in ("/", "/subscribe", "/subscribe?lang=ru"):
        page = stack.api.get(path)
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "<script" not in page.text
        assert 'style="' not in page.text  # one <style> element, allowed by the policy
    home = stack.api.get("/").text
    assert "People at risk in Kyrgyzstan" in home and "Private list" not in home
    subscribe = stack.api.get("/subscribe").text
    for field in ("email", "time", "weekday", "timezone", "language", "security_phrase"):
        assert f'<label for="{field}">' in subscribe and f'id="{field}"' in subscribe


def test_a_form_without_its_token_is_refused(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as visitor, httpx.Client(base_url=stack.url) as other:
        token = csrf_of(visitor.get("/subscribe"))
        no_token = visitor.post("/subscribe", data=form(email="a@example.org"))
        assert no_token.status_code == 403 and "The form has expired" in no_token.text
        other.get("/subscribe")  # a cookie of its own, but not the visitor's token
        borrowed = other.post("/subscribe", data=form(email="a@example.org", csrf=token))
        assert borrowed.status_code == 403
        without_cookie = httpx.post(
            f"{stack.url}/subscribe", data=form(email="a@example.org", csrf=token)
        )
        assert without_cookie.status_code == 403
    assert api_rows(stack) == [] and not stack.mails_to("a@example.org")


def test_the_answer_is_the_same_for_everyone_and_limited(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as visitor:
        token = csrf_of(visitor.get("/subscribe?lang=ru"))
        answers = [
            visitor.post("/subscribe", data=form(email="same@example.org", csrf=token))
            for _ in range(3)
        ]
        assert {a.status_code for a in answers} == {200}
        assert len({a.text for a in answers}) == 1 and "Проверьте почту" in answers[0].text
        limited = visitor.post("/subscribe", data=form(email="same@example.org", csrf=token))
        assert limited.status_code == 429 and "Слишком много запросов" in limited.text
        assert int(limited.headers["Retry-After"]) > 0
    assert len(api_rows(stack)) == 3
    assert wait_for(lambda: len(stack.mails_to("same@example.org")) == 3)


def test_mistakes_are_shown_in_the_visitors_language_and_nothing_is_lost(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url, headers={"Accept-Language": "ru"}) as visitor:
        token = csrf_of(visitor.get("/subscribe"))
        wrong = visitor.post(
            "/subscribe",
            data=form(
                email="not an address",
                watchlists=[],
                timezone="Mars/Olympus",
                security_phrase="моя фраза",
                csrf=token,
            ),
        )
        assert wrong.status_code == 422
        assert 'role="alert"' in wrong.text
        assert "Введите адрес электронной почты" in wrong.text
        assert 'id="email-error"' in wrong.text and 'aria-invalid="true"' in wrong.text
        assert 'value="not an address"' in wrong.text and 'value="моя фраза"' in wrong.text
        private = visitor.post(
            "/subscribe", data=form(email="p@example.org", watchlists=["private"], csrf=token)
        )
        assert private.status_code == 422 and "Выберите хотя бы один список" in private.text
    assert api_rows(stack) == []


def test_the_manage_page_changes_what_patch_changes(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as visitor:
        token = csrf_of(visitor.get("/subscribe"))
        visitor.post("/subscribe", data=form(email="kyz@example.org", language="ky", csrf=token))
        (mail,) = wait_for(lambda: stack.mails_to("kyz@example.org"))
        assert mail["Subject"] == "[rightswatch] Жазылууңузду ырастаңыз"
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        confirm = re.search(r"http://\S+(/confirm/\S+)", text)
        manage = re.search(r"http://\S+(/manage/[A-Za-z0-9_-]+)", text)
        assert confirm is not None and manage is not None
        visitor.post(confirm.group(1))

        page = visitor.get(manage.group(1))
        assert '<html lang="ky">' in page.text and "иштеп жатат" in page.text
        saved = visitor.post(
            f"{manage.group(1)}/settings",
            data={
                "csrf": csrf_of(page),
                "watchlists": ["kg", "open"],
                "frequency": "weekly",
                "time": "09:15",
                "weekday": "fri",
                "timezone": "Asia/Bishkek",
                "language": "en",
                "security_phrase": "blue cup",
            },
        )
        assert saved.status_code == 200 and "Your changes are saved." in saved.text
        (row,) = api_rows(stack)
        assert (row.frequency, row.deliver_at, row.timezone, row.language) == (
            "weekly",
            "fri 09:15",
            "Asia/Bishkek",
            "en",
        )
        assert row.security_phrase == "blue cup"
        bad = visitor.post(
            f"{manage.group(1)}/settings",
            data={"csrf": csrf_of(saved), "watchlists": ["private"], "time": "09:15"},
        )
        assert bad.status_code == 422
        assert api_rows(stack)[0].frequency == "weekly"  # nothing changed
        refused = visitor.post(f"{manage.group(1)}/settings", data={"frequency": "daily"})
        assert refused.status_code == 403

        paused = visitor.post(f"{manage.group(1)}?action=pause")
        assert "Alerts are paused." in paused.text and "Resume alerts" in paused.text
        assert api_rows(stack)[0].status == "paused"
        assert "Alerts are on again." in visitor.post(f"{manage.group(1)}?action=resume").text
        gone = visitor.post(f"{manage.group(1)}?action=delete")
        assert "Deleted" in gone.text and api_rows(stack) == []


def test_every_message_is_in_the_catalogues_and_translated() -> None:
    root = Path(i18n.__file__).parent.parent
    method_map = [
        ("**.py", "python"),
        ("**/templates/**.html", "jinja2"),
        ("**/templates/**.txt", "jinja2"),
    ]
    options = {
        "**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"},
        "**/templates/**.txt": {"trim_blocks": "true", "lstrip_blocks": "true"},
    }
    in_source = {m[2] for m in extract_from_dir(str(root), method_map, options)}
    with (LOCALE / "messages.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    assert in_source == template, "run pybabel extract (see babel.cfg)"
    for language in ("ru", "ky"):
        with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
            catalog = read_po(po)
        for message in catalog:
            if not message.id:
                continue
            assert message.string and not message.fuzzy, (language, message.id)
            placeholders = set(re.findall(r"%\(\w+\)s", str(message.id)))
            assert set(re.findall(r"%\(\w+\)s", str(message.string))) == placeholders
        assert {m.id for m in catalog if m.id} == template
