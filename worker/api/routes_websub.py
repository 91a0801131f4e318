"""WebSub callbacks (``/websub/{id}``): the hub's verification of intent and its pushes.

Verification (WebSub §5.3): the challenge is echoed only for the topic of that
callback, in the mode rightswatch asked for (``subscribe``, or ``unsubscribe`` for a
retired subscription), while its request is outstanding; anything else is 404, so
nobody can subscribe or unsubscribe us from something we did not ask for.

Content distribution (§7, §8): the body is HMAC-signed with the subscription's
secret. A missing or wrong ``X-Hub-Signature`` is answered 202 like a good one
(the spec asks for a 2xx so a forger learns nothing) but the body is dropped, a
warning logged and ``rightswatch_websub_rejected_total`` counted, as for a body whose
``Link: rel="self"`` names another topic than the one subscribed. A verified body is
ingested in the background (one at a time) exactly as a poll's body, and its alerts are
sent right after the commit.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from worker import metrics
from worker.api.deps import TOKEN_PATTERN, State
from worker.api.state import ApiState
from worker.core.websub import LEASE, link_rels, signature_valid
from worker.db import websub

log = logging.getLogger(__name__)

router = APIRouter(prefix="/websub", tags=["websub"], include_in_schema=False)
CallbackId = Annotated[str, Path(min_length=1, max_length=40, pattern=TOKEN_PATTERN)]
MAX_CHALLENGE = 1024
"""Longer challenges are refused (a hub's are a few dozen characters)."""
_NOT_FOUND = PlainTextResponse("no such subscription request", status_code=404)


@router.get("/{callback_id}")
def verify(state: State, request: Request, callback_id: CallbackId) -> Response:
    """Answer the hub's verification of intent (or record its denial)."""
    query = request.query_params
    mode, topic = query.get("hub.mode", ""), query.get("hub.topic", "")
    challenge = query.get("hub.challenge", "")
    now = state.now()
    with state.transaction() as session:
        row = websub.get(session, callback_id)
        if row is None or not topic or row.topic != topic:
            return _NOT_FOUND
        retiring = row.state == "unsubscribing"
        if mode == "denied":
            if retiring:
                websub.unsubscribed(session, row)
                return PlainTextResponse("")
            websub.denied(session, row, query.get("hub.reason", "no reason given")[:200], now)
            log.warning("feed %s: the WebSub hub denied the subscription", row.feed_id)
            return PlainTextResponse("")
        asked = "unsubscribe" if retiring else "subscribe"
        if mode != asked or row.requested_at is None:
            return _NOT_FOUND
        if not challenge or len(challenge) > MAX_CHALLENGE:
            return PlainTextResponse("hub.challenge missing or too long", status_code=400)
        if retiring:
            websub.unsubscribed(session, row)
            log.info("feed %s: WebSub push cancelled at the hub", row.feed_id)
            return PlainTextResponse(challenge)
        lease = _lease(query.get("hub.lease_seconds"))
        websub.verified(session, row, lease, now, timedelta(seconds=state.settings.beat_interval))
        log.info("feed %s: WebSub push active for %s", row.feed_id, lease)
    return PlainTextResponse(challenge)


@router.post("/{callback_id}", status_code=202)
async def distribute(state: State, request: Request, callback_id: CallbackId) -> Response:
    """Take a content distribution: ingested if its signature verifies, else dropped.

    The callback is looked up before the body is read: only a random callback's hub may
    send a body as large as a feed.
    """
    found = await run_in_threadpool(_subscription, state, callback_id)
    if found is None:
        metrics.websub_rejected("unknown_callback")
        return _NOT_FOUND
    feed_id, topic, secret = found
    body = await request.body()
    if not signature_valid(request.headers.get("x-hub-signature"), secret, body):
        log.warning("feed %s: WebSub push with a missing or wrong signature dropped", feed_id)
        metrics.websub_rejected("signature", feed_id)
        return Response(status_code=202)
    named = link_rels(request.headers.get("link")).get("self")
    if named is not None and named != topic:
        log.warning("feed %s: WebSub push for another topic dropped", feed_id)
        metrics.websub_rejected("unknown_topic", feed_id)
        return Response(status_code=202)
    state.ingest_soon(feed_id, topic, body, request.headers.get("content-type"))
    return Response(status_code=202)


def _subscription(state: ApiState, callback_id: str) -> tuple[str, str, str] | None:
    """Feed id, topic and secret of an active subscription."""
    with state.transaction() as session:
        row = websub.get(session, callback_id)
        if row is None or row.state != "active":
            return None
        return row.feed_id, row.topic, row.secret


def _lease(value: str | None) -> timedelta:
    """The lease the hub granted (required by the spec; what was asked for if absent)."""
    seconds = int(value) if value and value.strip().isdigit() else 0
    return timedelta(seconds=seconds) if seconds > 0 else LEASE
