"""Safety of the subscription API: no way to learn who is subscribed, rate limits in a
shared store, tokens stored hashed and checked exactly, expiring links, capped and
strictly validated requests, CORS off, personal data deleted, YAML subscribers left
to the operator."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import pytest
import redis
from sqlalchemy import select, text

from tests.support.api import (
    API_TOKEN,
    SECRET_KEY,
    Stack,
    confirm_link,
    subscribe,
    subscription_status,
    text_of,
    webhook_subscription,
)
from tests.support.waits import wait_for
from worker.db.models import RateLimit, Subscriber
from worker.security.tokens import unsubscribe_token


def comparable(response: object) -> tuple[int, str, list[tuple[str, str]]]:
    import httpx

    assert isinstance(response, httpx.Response)
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("date",))
    return response.status_code, response.text, headers


def test_the_answer_is_the_same_whether_or_not_the_address_is_subscribed(stack: Stack) -> None:
    assert subscribe(stack, "known@example.org") == 202
    stack.api.post(confirm_link(stack, "known@example.org"))
    assert subscribe(stack, "pending@example.org") == 202
    answers = [
        stack.api.post("/subscriptions", json={"email": address, "watchlists": ["kg"]})
        for address in ("known@example.org", "pending@example.org", "new@example.org")
    ]
    assert comparable(answers[0]) == comparable(answers[1]) == comparable(answers[2])
    resends = [
        stack.api.post("/subscriptions/resend-confirmation", json={"email": address})
        for address in ("known@example.org", "pending@example.org", "nobody@example.org")
    ]
    assert comparable(resends[0]) == comparable(resends[1]) == comparable(resends[2])
    assert resends[0].status_code == 202
    # Only the mailbox hears about it: each pending subscription's link comes again.
    assert wait_for(lambda: len(stack.mails_to("pending@example.org")) == 4)
    assert stack.mails_to("nobody@example.org") == []


@pytest.mark.parametrize("store", ["database", "redis"])
def test_rate_limits_per_address_and_per_client(
    store: str, make_stack: Callable[..., Stack], request: pytest.FixtureRequest
) -> None:
    env = {}
    if store == "redis":
        env["RIGHTSWATCH_BROKER_URL"] = request.getfixturevalue("redis_url")
    stack = make_stack(**env)
    assert [subscribe(stack, "busy@example.org") for _ in range(3)] == [202, 202, 202]
    refused = stack.api.post(
        "/subscriptions", json={"email": "BUSY@example.org", "watchlists": ["kg"]}
    )
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many requests; try again later"}
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Other addresses from this client go on, up to the client's limit of 10 an hour.
    assert [subscribe(stack, f"user{i}@example.org") for i in range(6)] == [202] * 6
    assert subscribe(stack, "one-more@example.org") == 429
    assert subscribe(stack, "yet-another@example.org") == 429
    assert stack.api.get("/watchlists").status_code == 200  # reading is not limited
    resend = [
        stack.api.post("/subscriptions/resend-confirmation", json={"email": "r@example.org"})
        for _ in range(4)
    ]
    assert [r.status_code for r in resend] == [202, 202, 202, 429]
    # An hour later the windows have passed.
    stack.clock.advance(hours=1)
    assert subscribe(stack, "busy@example.org") == 202

    if store == "redis":
        client = redis.Redis.from_url(env["RIGHTSWATCH_BROKER_URL"])
        keys = [k.decode() for k in client.keys("rightswatch:ratelimit:*")]
        client.close()
        assert keys and not any("@" in k or "127.0.0.1" in k for k in keys)
    else:
        with stack.worker.runtime.sessions() as session:
            keys = list(session.scalars(select(RateLimit.key)))
        assert keys and all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)


def test_api_processes_share_their_counters(make_stack: Callable[..., Stack]) -> None:
    first, second = make_stack(), make_stack()
    assert subscribe(first, "shared@example.org") == 202
    assert subscribe(second, "shared@example.org") == 202
    assert subscribe(first, "shared@example.org") == 202
    assert subscribe(second, "shared@example.org") == 429


def test_tokens_are_stored_hashed_and_checked_exactly(stack: Stack) -> None:
    created = stack.api.post(
        "/subscriptions", json={"webhook": stack.hook_url, "watchlists": ["kg"]}
    ).json()
    token = created["management_token"]
    assert len(token) == 43  # 256 bits, base64url
    with stack.worker.runtime.sessions() as session:
        row = session.get_one(Subscriber, created["id"])
        stored = " ".join(str(r) for r in session.execute(text("SELECT * FROM subscribers")))
    assert row.manage_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored
    assert len(created["id"]) == len("sub_") + 32  # 128 random bits

    auth = {"Authorization": f"Bearer {token}"}
    assert stack.api.get(f"/subscriptions/{created['id']}", headers=auth).status_code == 200
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for headers in ({"Authorization": f"Bearer {tampered}"}, {"Authorization": "Bearer x"}):
        wrong = stack.api.get(f"/subscriptions/{created['id']}", headers=headers)
        assert wrong.status_code == 404
        assert wrong.json() == {"detail": "no such subscription, or the token does not match"}
    missing = stack.api.get(f"/subscriptions/{created['id']}")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    # A subscription's token opens nothing else, and YAML subscribers are not the API's.
    assert stack.api.get("/subscriptions/desk", headers=auth).status_code == 404
    assert stack.api.delete("/subscriptions/desk", headers=auth).status_code == 404
    for path in (f"/manage/{tampered}", f"/unsubscribe/{token}", f"/confirm/{token}"):
        assert stack.api.get(path).status_code == 404, path


def test_yaml_subscribers_unsubscribe_with_the_delivery_token_and_stay_unsubscribed(
    stack: Stack,
) -> None:
    stack.feed.publish("y1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    (alert,) = stack.mails_to("desk@example.org")
    token = unsubscribe_token(SECRET_KEY, "desk")
    assert f"{stack.url}/unsubscribe/{token}" in str(alert["List-Unsubscribe"])

    page = stack.api.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "d***@example.org" in page.text
    assert "desk@example.org" not in page.text
    assert stack.api.post(f"/unsubscribe/{token}").status_code == 200
    assert stack.api.post(f"/unsubscribe/{token}").status_code == 404

    # A changed YAML is synced again; the recipient's choice stands.
    config = stack.settings.config_path
    config.write_text(config.read_text() + "\n# edited\n")
    stack.feed.publish("y2", "Tolekan Ismailova detained")
    assert stack.run_once().endswith("alerts: 0 sent, 0 failed")
    assert len(stack.mails_to("desk@example.org")) == 1

    operator = stack.operator()
    listed = stack.api.get("/operator/subscribers", headers=operator).json()["subscribers"]
    desk = next(s for s in listed if s["id"] == "desk")
    assert desk["managed_by"] == "config" and desk["status"] == "unsubscribed"
    refused = stack.api.post("/operator/subscribers/desk/disable", headers=operator)
    assert refused.status_code == 409 and "YAML" in refused.json()["detail"]
    enabled = stack.api.post("/operator/subscribers/desk/enable", headers=operator)
    assert enabled.status_code == 200 and enabled.json()["status"] == "active"
    stack.feed.publish("y3", "Azimjan Askarov case reopened")
    assert stack.run_once().endswith("alerts: 1 sent, 0 failed")


def test_confirmation_links_expire_and_unconfirmed_subscriptions_are_deleted(
    stack: Stack,
) -> None:
    assert subscribe(stack, "late@example.org") == 202
    link = confirm_link(stack, "late@example.org")
    stack.clock.advance(hours=47)
    assert stack.api.get(link).status_code == 200
    stack.clock.advance(hours=2)
    expired = stack.api.get(link)
    assert expired.status_code == 404 and "not valid" in expired.text
    assert stack.api.post(link).status_code == 404
    stack.app.state.api.purge()
    with stack.worker.runtime.sessions() as session:
        assert (
            session.scalars(
                select(Subscriber).where(Subscriber.address == "late@example.org")
            ).all()
            == []
        )


def test_deleting_a_subscription_deletes_the_address(stack: Stack) -> None:
    subscription, auth = webhook_subscription(stack)
    assert wait_for(lambda: subscription_status(stack, subscription, auth) == "active")
    stack.feed.publish("d1", "Azimjan Askarov remembered in Bishkek")
    stack.run_once()
    assert stack.api.delete(f"/subscriptions/{subscription}", headers=auth).status_code == 204
    assert stack.api.get(f"/subscriptions/{subscription}", headers=auth).status_code == 404
    with stack.worker.runtime.sessions() as session:
        for table in ("subscribers", "subscriptions", "deliveries", "digest_items"):
            rows = session.execute(text(f"SELECT * FROM {table}")).all()
            assert not any(stack.hook_url in str(r) or subscription in str(r) for r in rows)


def test_pausing_and_changing_a_subscription(stack: Stack) -> None:
    assert subscribe(stack, "changer@example.org") == 202
    stack.api.post(confirm_link(stack, "changer@example.org"))
    manage = re.search(
        r"http://\S+/manage/(\S+)", text_of(stack.mails_to("changer@example.org")[0])
    )
    assert manage is not None
    token = manage.group(1)
    with stack.worker.runtime.sessions() as session:
        subscription_id = session.scalars(
            select(Subscriber.id).where(Subscriber.address == "changer@example.org")
        ).one()
    auth = {"Authorization": f"Bearer {token}"}
    path = f"/subscriptions/{subscription_id}"

    changed = stack.api.patch(
        path,
        json={
            "watchlists": ["open"],
            "frequency": "daily",
            "deliver_at": "07:30",
            "timezone": "Asia/Bishkek",
        },
        headers=auth,
    )
    assert changed.status_code == 200, changed.text
    assert {
        k: changed.json()[k]
        for k in ("watchlists", "frequency", "deliver_at", "timezone", "status")
    } == {
        "watchlists": ["open"],
        "frequency": "daily",
        "deliver_at": "07:30",
        "timezone": "Asia/Bishkek",
        "status": "active",
    }
    bad = stack.api.patch(
        path, json={"watchlists": ["private"], "timezone": "Mars/Olympus"}, headers=auth
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["body.timezone"]
    assert "unknown time zone 'Mars/Olympus'" in bad.json()["detail"]
    assert stack.api.patch(path, json={"watchlists": ["private"]}, headers=auth).json()[
        "detail"
    ] == ("invalid request: body.watchlists: unknown watch list 'private'")

    assert stack.api.patch(path, json={"paused": True}, headers=auth).json()["status"] == "paused"
    page = stack.api.get(f"/manage/{token}")
    assert "Resume alerts" in page.text and "c***@example.org" in page.text
    resumed = stack.api.post(f"/manage/{token}?action=resume")
    assert resumed.status_code == 200 and "Alerts are on again" in resumed.text
    assert stack.api.get(path, headers=auth).json()["status"] == "active"
    deleted = stack.api.post(f"/manage/{token}?action=delete")
    assert deleted.status_code == 200
    assert stack.api.get(f"/manage/{token}").status_code == 404


def test_requests_are_capped_and_strictly_validated(
    stack: Stack, make_stack: Callable[..., Stack]
) -> None:
    huge = stack.api.post(
        "/subscriptions",
        content=b'{"email": "' + b"a" * 20_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json() == {"detail": "request body too large (at most 16384 bytes)"}

    def chunks() -> object:
        for _ in range(40):
            yield b" " * 1000

    streamed = stack.api.post(
        "/subscriptions",
        content=chunks(),
        headers={"Content-Type": "application/json"},  # type: ignore[arg-type]
    )
    assert streamed.status_code == 413

    invalid = stack.api.post(
        "/subscriptions",
        json={"email": "not-an-address", "watchlists": "kg", "frequency": "hourly!", "colour": 1},
    )
    assert invalid.status_code == 422
    problems = {e["field"]: e["message"] for e in invalid.json()["errors"]}
    assert set(problems) == {"body.email", "body.watchlists", "body.frequency", "body.colour"}
    assert problems["body.colour"] == "Extra inputs are not permitted"
    assert invalid.json()["detail"].startswith(
        "invalid request: body.email: not a valid e-mail address"
    )
    both = stack.api.post(
        "/subscriptions",
        json={"email": "a@example.org", "webhook": stack.hook_url, "watchlists": ["kg"]},
    )
    assert both.status_code == 422
    assert "exactly one of email or webhook" in both.json()["detail"]
    private = stack.api.post(
        "/subscriptions", json={"email": "a@example.org", "watchlists": ["private", "nope"]}
    )
    assert (
        private.json()["detail"]
        == "invalid request: body.watchlists: unknown watch lists 'private', 'nope'"
    )

    strict = make_stack(RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE="false")
    refused = strict.api.post(
        "/subscriptions", json={"webhook": strict.hook_url, "watchlists": ["kg"]}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body.webhook"
    assert "private or internal address" in refused.json()["detail"]
    assert strict.hook.requests == []


def test_cors_is_off_unless_origins_are_configured(make_stack: Callable[..., Stack]) -> None:
    preflight = {
        "Origin": "https://partner.example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    closed = make_stack()
    answer = closed.api.options("/subscriptions", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    assert (
        "access-control-allow-origin"
        not in closed.api.get(
            "/watchlists", headers={"Origin": "https://partner.example.org"}
        ).headers
    )
    opened = make_stack(RIGHTSWATCH_API_CORS_ORIGINS="https://partner.example.org")
    answer = opened.api.options("/subscriptions", headers=preflight)
    assert answer.headers["access-control-allow-origin"] == "https://partner.example.org"


def test_public_watch_lists_only_and_people_only_where_allowed(stack: Stack) -> None:
    listed = stack.api.get("/watchlists").json()["watchlists"]
    assert listed == [
        {
            "id": "kg",
            "title": "Kyrgyzstan defenders",
            "description": "People at risk in Kyrgyzstan",
            "people": None,
        },
        {"id": "open", "title": "Open list", "description": None, "people": ["Bir Duino"]},
    ]
    assert "Askarov" not in stack.api.get("/watchlists").text


def test_subscriptions_are_off_until_the_secret_key_is_set(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(RIGHTSWATCH_SECRET_KEY="")
    answer = stack.api.post("/subscriptions", json={"email": "a@example.org", "watchlists": ["kg"]})
    assert answer.status_code == 503
    assert "RIGHTSWATCH_SECRET_KEY" in answer.json()["detail"]
    assert stack.api.get("/watchlists").status_code == 200


def test_operator_endpoints_need_the_operator_token(
    stack: Stack, make_stack: Callable[..., Stack]
) -> None:
    assert stack.api.get("/operator/subscribers").status_code == 401
    wrong = stack.api.get("/operator/subscribers", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert stack.api.get("/metrics").status_code == 401
    assert subscribe(stack, "listed@example.org") == 202
    wait_for(lambda: stack.mails_to("listed@example.org"))

    def listing() -> dict[str, Any]:
        url = "/operator/subscribers?managed_by=api"
        return dict(stack.api.get(url, headers=stack.operator()).json())

    # The mail arrives a moment before the worker records its delivery as sent.
    wait_for(lambda: listing()["subscribers"][0]["deliveries"] == {"sent": 1})
    listed = listing()
    assert listed["total"] == 1
    (row,) = listed["subscribers"]
    assert row["address"] == "listed@example.org" and row["status"] == "pending"
    assert row["deliveries"] == {"sent": 1}
    disabled = stack.api.post(
        f"/operator/subscribers/{row['id']}/disable", headers=stack.operator()
    )
    assert disabled.json()["status"] == "disabled"
    only_disabled = stack.api.get("/operator/subscribers?status=disabled", headers=stack.operator())
    assert [s["id"] for s in only_disabled.json()["subscribers"]] == [row["id"]]
    deliveries = stack.api.get("/operator/deliveries", headers=stack.operator()).json()
    assert deliveries["counts"] == {"sent": 1}
    assert deliveries["deliveries"][0]["kind"] == "confirm"

    no_token = make_stack(RIGHTSWATCH_API_TOKEN="")
    off = no_token.api.get(
        "/operator/subscribers", headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert off.status_code == 403 and "RIGHTSWATCH_API_TOKEN" in off.json()["detail"]
    assert no_token.api.get("/metrics").status_code == 200
