"""Public watch lists and subscriptions (JSON).

Creating an e-mail subscription answers the same whether or not the address
is already subscribed (every request is a new pending subscription that only
the mailbox's owner can confirm), and the management token goes only to that
mailbox. A webhook's creator gets its secret and management token in the
response, once; alerts start after the URL answers a verification ping.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse

from worker import metrics
from worker.api import service
from worker.api.deps import (
    CONFLICT,
    ID_PATTERN,
    NOT_FOUND,
    OFF,
    RATE_LIMITED,
    RESPONSES,
    UNAUTHORIZED,
    ManagementToken,
    State,
)
from worker.api.rate_limits import Limit, client_bucket, email_bucket
from worker.api.schemas import (
    Accepted,
    ConfirmationRequest,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
    WatchlistList,
    WatchlistOut,
    WebhookCreated,
)
from worker.core.errors import DeliveryError, UnsafeDestinationError
from worker.db import subscribers
from worker.db.models import Subscriber
from worker.security.destinations import pick_address, system_resolver

router = APIRouter(responses=RESPONSES)

HOUR = timedelta(hours=1)
SUBSCRIBE_PER_CLIENT = Limit("subscribe-client", 10, HOUR)
SUBSCRIBE_PER_DESTINATION = Limit("subscribe-destination", 3, HOUR)
RESEND_PER_CLIENT = Limit("resend-client", 10, HOUR)
RESEND_PER_EMAIL = Limit("resend-email", 3, HOUR)
VERIFY_PER_SUBSCRIPTION = Limit("verify-subscription", 5, HOUR)

ACCEPTED = Accepted(
    status="pending_confirmation",
    detail="If this address can receive e-mail, a confirmation link is on its way. Alerts "
    "start once the link is followed; it expires in 48 hours.",
)
SubscriptionId = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]


def client(request: Request) -> str:
    """The client's rate-limit bucket: its IPv4 address or IPv6 /64."""
    return client_bucket(request.client.host) if request.client else "unknown"


def out(subscriber: Subscriber, watchlists: list[str]) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscriber.id,
        channel="webhook" if subscriber.channel == "webhook" else "email",
        address=subscriber.address,
        status=subscriber.status,
        watchlists=watchlists,
        frequency=subscriber.frequency,
        deliver_at=subscriber.deliver_at,
        timezone=subscriber.timezone,
        created_at=subscriber.created_at,
        confirmed_at=subscriber.confirmed_at,
    )


@router.get("/watchlists", tags=["subscriptions"])
def list_watchlists(state: State) -> WatchlistList:
    """The watch lists the operator made public, with their people only where allowed."""
    state.sync_config()
    config = state.runtime.config().config
    shown = {w.id: [p.name for p in w.people] for w in config.watchlists if w.show_people}
    with state.transaction() as session:
        rows = service.public_watchlists(session)
    return WatchlistList(
        watchlists=[
            WatchlistOut(id=w.id, title=w.title, description=w.description, people=shown.get(w.id))
            for w in rows
        ]
    )


@router.post(
    "/subscriptions",
    tags=["subscriptions"],
    status_code=202,
    response_model=None,
    responses={
        201: {"model": WebhookCreated, "description": "Webhook subscription created"},
        202: {"model": Accepted, "description": "E-mail subscription waits for confirmation"},
        429: RATE_LIMITED,
        503: OFF,
    },
)
def create_subscription(
    data: SubscriptionCreate, request: Request, state: State, after: BackgroundTasks
) -> JSONResponse:
    """Subscribe an e-mail address (double opt-in) or a webhook (verification ping).

    The ping goes only after the 201 has been sent: a receiver that checks signatures
    needs the secret in it first (and a ping it refuses is retried with backoff).
    """
    created, watchlists = subscribe(state, data, client(request), after)
    if created.secret is None:
        return JSONResponse(ACCEPTED.model_dump(mode="json"), status_code=202)
    body = WebhookCreated(
        **out(created.subscriber, watchlists).model_dump(),
        secret=created.secret,
        management_token=created.manage_token,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


def subscribe(
    state: State, data: SubscriptionCreate, client_host: str, after: BackgroundTasks
) -> tuple[service.Created, list[str]]:
    """What ``POST /subscriptions`` and the subscribe form both do: limits, the pending
    subscription, and its confirmation or ping sent once the response has gone."""
    key = state.subscriptions_key(links=True)
    state.limit(SUBSCRIBE_PER_CLIENT, client_host)
    if data.webhook is not None:
        state.limit(SUBSCRIBE_PER_DESTINATION, urlsplit(data.webhook).hostname or "")
        _check_destination(state, data.webhook)
    else:
        state.limit(SUBSCRIBE_PER_DESTINATION, email_bucket(data.email or ""))
    state.sync_config()
    with state.transaction() as session:
        created = service.create(session, data, key, state.now())
        watchlists = service.watchlist_ids(session, created.subscriber.id)
    after.add_task(state.send_soon, [created.delivery_id])
    metrics.subscription_event("requested")
    return created, watchlists


def _check_destination(state: State, url: str) -> None:
    """Refuse webhooks to internal addresses now, not only when the first alert goes.

    The answer says only that the destination is refused: what a name resolves to
    inside the network, or the resolver's error, would map the network for anyone.
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        pick_address(
            parts.hostname or "",
            port,
            allow_private=state.settings.webhook_allow_private,
            resolve=system_resolver,
        )
    except UnsafeDestinationError as e:
        raise service.InvalidField(
            "body.webhook",
            "this webhook destination is not allowed (private or internal addresses are "
            "refused unless RIGHTSWATCH_WEBHOOK_ALLOW_PRIVATE=true)",
        ) from e
    except DeliveryError as e:
        raise service.InvalidField("body.webhook", "the webhook host cannot be resolved") from e


@router.post(
    "/subscriptions/resend-confirmation",
    tags=["subscriptions"],
    status_code=202,
    responses={429: RATE_LIMITED, 503: OFF},
)
def resend_confirmation(data: ConfirmationRequest, request: Request, state: State) -> Accepted:
    """Send the confirmation link again to an address with a subscription not yet confirmed.

    The answer is the same whether or not there is one, and is given before the
    look-up (which runs in the background), so it takes the same time too.
    """
    state.subscriptions_key(links=True)
    state.limit(RESEND_PER_CLIENT, client(request))
    state.limit(RESEND_PER_EMAIL, email_bucket(data.email))
    state.resend_later(data.email)
    return ACCEPTED


def _owned(state: State, subscription_id: str, token: str) -> Subscriber:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.owned(session, subscription_id, token, key)
    if subscriber is None:
        raise HTTPException(404, "no such subscription, or the token does not match")
    return subscriber


_MANAGED: dict[int | str, dict[str, Any]] = {401: UNAUTHORIZED, 404: NOT_FOUND, 503: OFF}


@router.get("/subscriptions/{subscription_id}", tags=["subscriptions"], responses=_MANAGED)
def get_subscription(
    subscription_id: SubscriptionId, token: ManagementToken, state: State
) -> SubscriptionOut:
    _owned(state, subscription_id, token)
    with state.transaction() as session:
        subscriber = subscribers.get_one(session, subscription_id)
        return out(subscriber, service.watchlist_ids(session, subscriber.id))


@router.patch(
    "/subscriptions/{subscription_id}",
    tags=["subscriptions"],
    responses={**_MANAGED, 409: CONFLICT},
)
def update_subscription(
    subscription_id: SubscriptionId,
    changes: SubscriptionUpdate,
    token: ManagementToken,
    state: State,
) -> SubscriptionOut:
    """Change the watch lists, the frequency or the digest time, or pause and resume."""
    _owned(state, subscription_id, token)
    with state.transaction() as session:
        subscriber = subscribers.get_one(session, subscription_id, for_update=True)
        service.update(session, subscriber, changes)
        session.flush()
        result = out(subscriber, service.watchlist_ids(session, subscriber.id))
    metrics.subscription_event("updated")
    return result


@router.delete(
    "/subscriptions/{subscription_id}",
    tags=["subscriptions"],
    status_code=204,
    responses=_MANAGED,
)
def delete_subscription(
    subscription_id: SubscriptionId, token: ManagementToken, state: State
) -> Response:
    """Delete the subscription and the address or URL with it."""
    _owned(state, subscription_id, token)
    with state.transaction() as session:
        subscribers.delete_subscriber(session, subscription_id)
    metrics.subscription_event("deleted")
    return Response(status_code=204)


@router.post(
    "/subscriptions/{subscription_id}/verify",
    tags=["subscriptions"],
    status_code=202,
    responses={**_MANAGED, 409: CONFLICT, 429: RATE_LIMITED},
)
def verify_webhook(
    subscription_id: SubscriptionId, token: ManagementToken, state: State, after: BackgroundTasks
) -> SubscriptionOut:
    """Send the verification ping to a webhook that has not answered it yet."""
    _owned(state, subscription_id, token)
    state.limit(VERIFY_PER_SUBSCRIPTION, subscription_id)
    with state.transaction() as session:
        subscriber = subscribers.get_one(session, subscription_id, for_update=True)
        delivery_id = service.request_verification(session, subscriber, state.now())
        result = out(subscriber, service.watchlist_ids(session, subscriber.id))
    after.add_task(state.send_soon, [delivery_id])
    return result
