"""The desk: an operator signs in with the operator token (guessing is rate-limited), and
finds a match by searching the defender's name as a Russian report wrote it."""

from __future__ import annotations

import html
import re

import httpx
from pytest_httpserver import HTTPServer

from tests.support.api import API_TOKEN, Stack, case_desk_subscription, csrf_of
from worker.db import audit, outbox


def test_an_operator_signs_in_and_finds_a_match_written_in_cyrillic(stack: Stack) -> None:
    stack.feed.publish("c1", "Суд над Азимжаном Аскаровым", "Азимжан Аскаров остаётся в тюрьме.")
    stack.feed.publish("c2", "Tolekan Ismailova detained", "Police detained Tolekan Ismailova.")
    stack.run_once()
    with httpx.Client(base_url=stack.url) as desk:
        assert desk.get("/desk").headers["location"] == "/desk/login"
        form = desk.get("/desk/login")
        signed_in = desk.post("/desk/login", data={"csrf": csrf_of(form), "token": API_TOKEN})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/desk"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        everything = desk.get("/desk")
        assert everything.status_code == 200
        assert "Суд над Азимжаном Аскаровым" in everything.text
        assert "Tolekan Ismailova detained" in everything.text
        found = desk.get("/desk", params={"q": "Аскаров"})
        assert "Суд над Азимжаном Аскаровым" in found.text
        assert "Tolekan Ismailova detained" not in found.text
        assert "Azimjan Askarov" in found.text  # the person it was matched to
        desk.post("/desk/logout")
        assert desk.get("/desk").status_code == 303
    with stack.worker.runtime.sessions() as session:
        assert [e.action for e in audit.recent(session, action="desk.login")] == ["desk.login"]


def test_guessing_the_token_is_refused_and_then_rate_limited(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url) as guesser:
        csrf = csrf_of(guesser.get("/desk/login"))
        answers = [
            guesser.post("/desk/login", data={"csrf": csrf, "token": f"guess-{i}"}).status_code
            for i in range(5)
        ]
        assert answers == [401] * 5
        limited = guesser.post("/desk/login", data={"csrf": csrf, "token": API_TOKEN})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert guesser.get("/desk").status_code == 303  # not signed in
        no_csrf = httpx.post(f"{stack.url}/desk/login", data={"token": API_TOKEN})
        assert no_csrf.status_code == 403
    with httpx.Client(base_url=stack.url, cookies={"rw_desk": "9999999999.forged"}) as forger:
        assert forger.get("/desk").status_code == 303


def test_an_operator_puts_a_dead_delivery_back_and_it_is_sent(
    stack: Stack, httpserver: HTTPServer
) -> None:
    cases, subscription = case_desk_subscription(stack, httpserver)
    stack.feed.publish("o1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    with stack.worker.runtime.sessions() as session:
        (dead,) = outbox.list_deliveries(session, "dead", subscription)

    with httpx.Client(base_url=stack.url) as desk:
        desk.post(
            "/desk/login", data={"csrf": csrf_of(desk.get("/desk/login")), "token": API_TOKEN}
        )
        page = desk.get("/desk/outbox")
        assert dead.id in page.text and "webhook answered HTTP 400" in page.text
        forged = desk.post(f"/desk/outbox/{dead.id}/retry", data={"csrf": "forged"})
        assert forged.status_code == 403
        retried = desk.post(f"/desk/outbox/{dead.id}/retry", data={"csrf": csrf_of(page)})
        assert retried.status_code == 303
        assert dead.id not in desk.get("/desk/outbox").text
    cases.accepting = True
    stack.run_once()
    assert len(cases.received) == 1
    with stack.worker.runtime.sessions() as session:
        (entry,) = audit.recent(session, action="delivery.retry")
        assert entry.target == dead.id


def test_not_this_person_is_recorded_and_offers_the_yaml_exclusion(stack: Stack) -> None:
    stack.feed.publish("s1", "Askarov Street closed for repairs", "Askarov Street closed.")
    stack.feed.publish("s2", "Azimjan Askarov remembered", "Azimjan Askarov remembered.")
    stack.run_once()
    with httpx.Client(base_url=stack.url) as desk:
        desk.post(
            "/desk/login", data={"csrf": csrf_of(desk.get("/desk/login")), "token": API_TOKEN}
        )
        listing = desk.get("/desk", params={"q": "remembered"})
        found = re.search(r'href="(/desk/matches/\d+)"', listing.text)
        assert found is not None
        detail = desk.get(found.group(1))
        assert detail.status_code == 200 and "Azimjan Askarov" in detail.text
        assert re.search(r"<td>desk</td><td>alert</td><td>sent</td>", detail.text)
        marked = desk.post(
            f"{found.group(1)}/not-this-person", data={"csrf": csrf_of(detail), "hit": "0"}
        )
        assert marked.status_code == 200 and "Recorded as not this person" in marked.text
        offered = re.search(r"<pre>(.*?)</pre>", marked.text, re.S)
        assert offered is not None
        assert html.unescape(offered.group(1)) == (
            'watchlists:\n  - id: kg\n    people:\n      - name: "Azimjan Askarov"\n'
            '        exclude: ["Azimjan Askarov remembered"]\n'
        )
        assert desk.get("/desk/matches/999999").status_code == 404
    with stack.worker.runtime.sessions() as session:
        (entry,) = audit.recent(session, action="match.false_positive")
        assert entry.target == found.group(1).rsplit("/", 1)[1]
        assert entry.details == {"hit": 0, "watchlist": "kg"}
