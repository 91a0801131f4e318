"""A new subscriber end to end, through the live API, a real SMTP server, a real feed
server and webhook receiver, and the embedded worker on PostgreSQL:

subscribe → confirmation e-mail → confirm → alert → one-click unsubscribe → nothing more;
and a webhook: create → verification ping → signed alert. /metrics moves meanwhile.
"""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from tests.support.api import Stack, text_of
from tests.support.waits import wait_for
from worker.db.models import Delivery, Subscriber, Subscription


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = stack.api.get("/metrics", headers=stack.operator())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def metric(
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def subscriber_rows(stack: Stack) -> list[Subscriber]:
    with stack.worker.runtime.sessions() as session:
        return list(session.scalars(select(Subscriber).order_by(Subscriber.id)))


def test_an_email_subscriber_subscribes_confirms_receives_and_leaves_with_one_click(
    stack: Stack,
) -> None:
    before = scrape(stack)
    stack.run_once()  # the feed is empty: nothing yet

    response = stack.api.post(
        "/subscriptions",
        json={"email": "Reporter@Example.org", "watchlists": ["kg"], "frequency": "immediate"},
    )
    assert response.status_code == 202
    assert response.json()["status"] == "pending_confirmation"
    assert "id" not in response.json() and "management_token" not in response.json()

    confirmation = wait_for(lambda: stack.mails_to("Reporter@example.org"))
    assert confirmation, "no confirmation e-mail"
    (mail,) = confirmation
    assert mail["Subject"] == "[rightswatch] Confirm your subscription"
    text = text_of(mail)
    links = re.findall(r"http://127\.0\.0\.1:\d+/\S+", text)
    confirm_url = next(link for link in links if "/confirm/" in link)
    manage_url = next(link for link in links if "/manage/" in link)
    assert confirm_url.startswith(stack.url + "/confirm/")
    assert re.fullmatch(r".*/confirm/[A-Za-z0-9_-]{43}", confirm_url)
    assert "Kyrgyzstan defenders" in text and confirm_url in text_of(mail, "html")

    # Not yet confirmed: a match now reaches only the YAML subscriber.
    stack.feed.publish("a1", "Azimjan Askarov remembered in Bishkek")
    assert stack.run_once().endswith("matches: 1 new | alerts: 1 sent, 0 failed")
    assert not [m for m in stack.mails_to("Reporter@example.org") if m is not mail]

    page = stack.api.get(confirm_url.removeprefix(stack.url))
    assert page.status_code == 200 and "Confirm your subscription" in page.text
    assert f'action="{confirm_url.removeprefix(stack.url)}"' in page.text
    assert subscriber_rows(stack)[-1].status == "pending"  # following the link changes nothing
    done = stack.api.post(confirm_url.removeprefix(stack.url))
    assert done.status_code == 200 and "Subscribed" in done.text
    assert stack.api.post(confirm_url.removeprefix(stack.url)).status_code == 404  # used

    stack.feed.publish("a2", "Tolekan Ismailova detained", "Police detained Tolekan Ismailova.")
    assert stack.run_once().endswith("matches: 1 new | alerts: 2 sent, 0 failed")
    (alert,) = [m for m in stack.mails_to("Reporter@example.org") if m is not mail]
    assert alert["Subject"] == "[rightswatch] Tolekan Ismailova: Tolekan Ismailova detained"
    unsubscribe = re.match(r"<(http://[^>]+)>, <mailto:", str(alert["List-Unsubscribe"]))
    assert unsubscribe is not None
    assert alert["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Manage your subscription: {manage_url}" in text_of(alert)

    # What a mail client sends for RFC 8058 one-click unsubscribe.
    one_click = stack.api.post(
        unsubscribe.group(1).removeprefix(stack.url),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    assert all(s.address != "Reporter@example.org" for s in subscriber_rows(stack))
    with stack.worker.runtime.sessions() as session:
        assert (
            session.scalars(
                select(Subscription).where(Subscription.subscriber_id.like("sub_%"))
            ).all()
            == []
        )
        assert (
            session.scalars(select(Delivery).where(Delivery.subscriber_id.like("sub_%"))).all()
            == []
        )

    stack.feed.publish("a3", "Azimjan Askarov case reopened")
    assert stack.run_once().endswith("matches: 1 new | alerts: 1 sent, 0 failed")
    assert len(stack.mails_to("Reporter@example.org")) == 2  # the confirmation and one alert
    assert len(stack.mails_to("desk@example.org")) == 3

    after = scrape(stack)
    moved = {
        "polls": metric(after, "rightswatch_feed_polls_total", outcome="ok")
        - metric(before, "rightswatch_feed_polls_total", outcome="ok"),
        "fetches": metric(after, "rightswatch_fetches_total", result="modified")
        - metric(before, "rightswatch_fetches_total", result="modified"),
        "fetch latency": metric(after, "rightswatch_fetch_duration_seconds_count")
        - metric(before, "rightswatch_fetch_duration_seconds_count"),
        "entries": metric(after, "rightswatch_entries_ingested_total")
        - metric(before, "rightswatch_entries_ingested_total"),
        "matches": metric(after, "rightswatch_matches_total", watchlist="kg")
        - metric(before, "rightswatch_matches_total", watchlist="kg"),
        "alerts": metric(
            after, "rightswatch_deliveries_total", channel="email", kind="alert", state="sent"
        )
        - metric(
            before, "rightswatch_deliveries_total", channel="email", kind="alert", state="sent"
        ),
        "confirmations": metric(
            after, "rightswatch_deliveries_total", channel="email", kind="confirm", state="sent"
        )
        - metric(
            before, "rightswatch_deliveries_total", channel="email", kind="confirm", state="sent"
        ),
        "latency": metric(
            after, "rightswatch_delivery_latency_seconds_count", channel="email", kind="alert"
        )
        - metric(
            before, "rightswatch_delivery_latency_seconds_count", channel="email", kind="alert"
        ),
        "requested": metric(after, "rightswatch_subscription_events_total", event="requested")
        - metric(before, "rightswatch_subscription_events_total", event="requested"),
        "confirmed": metric(after, "rightswatch_subscription_events_total", event="confirmed")
        - metric(before, "rightswatch_subscription_events_total", event="confirmed"),
        "unsubscribed": metric(after, "rightswatch_subscription_events_total", event="unsubscribed")
        - metric(before, "rightswatch_subscription_events_total", event="unsubscribed"),
    }
    assert moved == {
        "polls": 4,
        "fetches": 4,
        "fetch latency": 4,
        "entries": 3,
        "matches": 3,
        "alerts": 4,
        "confirmations": 1,
        "latency": 4,
        "requested": 1,
        "confirmed": 1,
        "unsubscribed": 1,
    }
    assert metric(after, "rightswatch_outbox_depth", status="pending") == 0
    assert metric(after, "rightswatch_feeds", health="ok") == 1
    assert metric(after, "rightswatch_feeds", health="failing") == 0
    assert metric(after, "rightswatch_feeds", health="stale") == 0
    assert metric(after, "rightswatch_subscribers", managed_by="config", status="active") == 1
    assert (
        metric(
            after,
            "rightswatch_api_requests_total",
            route="/unsubscribe/{token}",
            method="POST",
            status="200",
        )
        >= 1
    )


def test_a_webhook_subscriber_is_verified_then_gets_signed_alerts(stack: Stack) -> None:
    response = stack.api.post(
        "/subscriptions", json={"webhook": stack.hook_url, "watchlists": ["kg", "open"]}
    )
    assert response.status_code == 201
    created = response.json()
    secret, token = created["secret"], created["management_token"]
    assert secret.startswith("whsec_") and created["status"] == "pending"
    auth = {"Authorization": f"Bearer {token}"}

    def status() -> str:
        return str(stack.api.get(f"/subscriptions/{created['id']}", headers=auth).json()["status"])

    assert wait_for(lambda: status() == "active"), "the webhook was not verified"
    verifier = Webhook(secret)
    (ping_headers, ping_body) = stack.hook.requests[0]
    ping = verifier.verify(ping_body, ping_headers)
    assert ping["type"] == "subscription.verification"
    assert ping["data"]["subscription_id"] == created["id"]
    assert ping["data"]["watchlists"] == ["kg", "open"]

    stack.feed.publish("w1", "Azimjan Askarov remembered in Bishkek")
    assert stack.run_once().endswith("matches: 1 new | alerts: 2 sent, 0 failed")
    alerts = [(h, b) for h, b in stack.hook.requests if '"match.created"' in b]
    assert len(alerts) == 1
    payload = verifier.verify(alerts[0][1], alerts[0][0])
    assert payload["data"]["entry"]["title"] == "Azimjan Askarov remembered in Bishkek"
    assert payload["data"]["watchlist"]["id"] == "kg"
    assert alerts[0][0]["webhook-id"].startswith("msg_")

    # The secret is shown once: never again, not even to its owner.
    again = stack.api.get(f"/subscriptions/{created['id']}", headers=auth).json()
    assert "secret" not in again and "management_token" not in again


def test_a_webhook_that_does_not_answer_the_challenge_gets_nothing_until_it_does(
    stack: Stack,
) -> None:
    stack.hook.echo_challenge = False
    created = stack.api.post(
        "/subscriptions", json={"webhook": stack.hook_url, "watchlists": ["kg"]}
    ).json()
    auth = {"Authorization": f"Bearer {created['management_token']}"}
    assert wait_for(lambda: stack.hook.requests)
    with stack.worker.runtime.sessions() as session:
        assert wait_for(
            lambda: session.scalars(
                select(Delivery.last_error).where(Delivery.kind == "verify")
            ).first()
        )
        error = session.scalars(select(Delivery.last_error).where(Delivery.kind == "verify")).one()
    assert error is not None and "without its challenge" in error
    stack.feed.publish("w2", "Azimjan Askarov remembered in Bishkek")
    assert stack.run_once().endswith("alerts: 1 sent, 0 failed")  # the YAML desk only
    assert not [b for _, b in stack.hook.requests if '"match.created"' in b]

    stack.hook.echo_challenge = True
    response = stack.api.post(f"/subscriptions/{created['id']}/verify", headers=auth)
    assert response.status_code == 202
    assert wait_for(
        lambda: (
            stack.api.get(f"/subscriptions/{created['id']}", headers=auth).json()["status"]
            == "active"
        )
    )
    assert stack.api.post(f"/subscriptions/{created['id']}/verify", headers=auth).status_code == 409
