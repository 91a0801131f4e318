"""A webhook receiver that checks signatures cannot pass a ping signed with a secret it
has not been given yet: the ping goes after the 201 (which carries the secret), and a
refused ping is retried with backoff instead of going dead."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug import Request, Response

from tests.support.api import Stack
from tests.support.waits import wait_for
from worker.db.models import Delivery, Subscriber


@dataclass
class StrictReceiver:
    """Answers 401 unless the signature verifies under the secret it was told."""

    secret: str | None = None
    client_has_201: threading.Event = field(default_factory=threading.Event)
    answers: list[tuple[int, bool]] = field(default_factory=list)
    """(status answered, whether the client already had the 201 when the ping came)."""

    def respond(self, request: Request) -> Response:
        had_201 = self.client_has_201.is_set()
        body = request.get_data(as_text=True)
        try:
            if self.secret is None:
                raise WebhookVerificationError("no secret yet")
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.answers.append((401, had_201))
            return Response("unknown signature", status=401)
        self.answers.append((200, had_201))
        challenge = payload["data"]["challenge"]
        return Response(f'{{"challenge":"{challenge}"}}', content_type="application/json")


def test_a_refused_ping_is_retried_until_the_receiver_knows_the_secret(
    make_stack: Callable[..., Stack], httpserver: HTTPServer
) -> None:
    stack = make_stack()
    receiver = StrictReceiver()
    httpserver.expect_request("/strict", method="POST").respond_with_handler(receiver.respond)

    created = stack.api.post(
        "/subscriptions",
        json={"webhook": httpserver.url_for("/strict"), "watchlists": ["kg"]},
    )
    receiver.client_has_201.set()
    assert created.status_code == 201
    subscription_id = created.json()["id"]

    assert wait_for(lambda: receiver.answers), "no verification ping"
    assert receiver.answers == [(401, True)]  # after the 201, refused: the secret is unknown
    time.sleep(0.3)  # the API records the outcome after the answer

    def ping_row() -> Delivery:
        with stack.worker.runtime.sessions() as session:
            return session.scalars(
                select(Delivery).where(Delivery.subscriber_id == subscription_id)
            ).one()

    row = wait_for(lambda: (r := ping_row()).status == "retrying" and r)
    assert row, ping_row().status
    assert row.last_status == 401 and row.next_attempt_at > stack.clock.now

    receiver.secret = created.json()["secret"]
    stack.run_once()  # not due yet: the backoff holds
    assert len(receiver.answers) == 1
    stack.clock.advance(minutes=2)
    stack.run_once()
    assert receiver.answers[-1] == (200, True)
    assert ping_row().status == "sent"
    with stack.worker.runtime.sessions() as session:
        subscriber = session.get_one(Subscriber, subscription_id)
        assert subscriber.status == "active" and subscriber.active
