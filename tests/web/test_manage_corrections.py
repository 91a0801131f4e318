"""The manage page after a 422 shows what the subscriber typed, so they correct one field
instead of typing all of them again (the stored settings are unchanged)."""

from __future__ import annotations

import re

import httpx

from tests.support.api import Stack, confirm_link, csrf_of

TYPED = dict(
    watchlists=["open", "private"],  # private is not offered: the one field to correct
    frequency="weekly",
    time="07:45",
    weekday="wed",
    timezone="Asia/Almaty",
    language="ru",
    security_phrase="red kite",
)


def test_a_rejected_change_shows_what_was_typed_not_what_is_stored(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as visitor:
        token = csrf_of(visitor.get("/subscribe"))
        visitor.post(
            "/subscribe", data={"csrf": token, "email": "typed@example.org", "watchlists": "kg"}
        )
        confirmed = visitor.post(confirm_link(stack, "typed@example.org"))
        manage = re.search(r'href="(/manage/[A-Za-z0-9_-]+)"', confirmed.text)
        assert manage is not None
        page = visitor.get(manage.group(1))
        assert 'value="08:00"' in page.text

        rejected = visitor.post(
            f"{manage.group(1)}/settings",
            data={"csrf": csrf_of(page), **TYPED},
        )
    assert rejected.status_code == 422 and 'id="watchlists-error"' in rejected.text
    shown = rejected.text
    assert 'value="07:45"' in shown and 'value="08:00"' not in shown
    assert 'value="red kite"' in shown
    assert 'id="frequency-weekly" value="weekly" checked' in shown
    assert '<option value="wed" selected>' in shown
    assert "<option selected>Asia/Almaty</option>" in shown
    assert 'value="ru" lang="ru" selected' in shown
    assert 'id="wl-open" value="open" checked' in shown
    assert 'id="wl-kg" value="kg" checked' not in shown  # stored, but not what was sent
    again = httpx.get(stack.url + manage.group(1))
    assert 'value="08:00"' in again.text and 'id="wl-kg" value="kg" checked' in again.text
