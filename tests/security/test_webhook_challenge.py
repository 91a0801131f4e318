"""Webhook verification needs an answer the receiver built (issue 15, item 18): an
endpoint that echoes the request body (which holds the challenge as ``data.challenge``)
is not verified; one answering ``{"challenge": …}`` is."""

from __future__ import annotations

from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from tests.support.api import Stack, subscription_status, webhook_subscription
from tests.support.waits import wait_for
from worker.db.models import Delivery


def echo(request: Request) -> Response:
    return Response(request.get_data(), content_type="application/json")


def test_an_echoing_endpoint_is_not_verified(stack: Stack, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/echo", method="POST").respond_with_handler(echo)
    subscription, auth = webhook_subscription(stack, httpserver.url_for("/echo"))
    with stack.worker.runtime.sessions() as session:
        error = wait_for(
            lambda: session.scalars(
                select(Delivery.last_error).where(Delivery.kind == "verify")
            ).first()
        )
    assert error is not None and "without its challenge" in error
    assert any(r.path == "/echo" for r, _ in httpserver.log)
    assert subscription_status(stack, subscription, auth) == "pending"


def test_a_constructed_answer_verifies(stack: Stack) -> None:
    subscription, auth = webhook_subscription(stack)
    assert wait_for(lambda: subscription_status(stack, subscription, auth) == "active")
