"""Operator endpoints, behind RIGHTSWATCH_API_TOKEN: subscribers, disabling, deliveries."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from worker import metrics
from worker.api import service
from worker.api.deps import CONFLICT, ID_PATTERN, RESPONSES, State, operator, problem
from worker.api.schemas import (
    OperatorDelivery,
    OperatorDeliveryList,
    OperatorSubscriber,
    OperatorSubscriberList,
)
from worker.db import audit, outbox, subscribers

router = APIRouter(
    prefix="/operator",
    tags=["operator"],
    dependencies=[Depends(operator)],
    responses={
        **RESPONSES,
        401: problem("No or wrong operator token"),
        403: problem("RIGHTSWATCH_API_TOKEN is not set: operator endpoints are off"),
    },
)
SubscriberId = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]
DeliveryStatus = Literal["pending", "sending", "retrying", "sent", "dead", "cancelled"]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem("No such subscriber")}


def view(item: service.SubscriberView) -> OperatorSubscriber:
    s = item.subscriber
    return OperatorSubscriber(
        id=s.id,
        channel=s.channel,
        address=s.address,
        managed_by="api" if s.managed_by == service.API else "config",
        status=service.status_of(s),
        watchlists=item.watchlists,
        frequency=s.frequency,
        deliver_at=s.deliver_at,
        timezone=s.timezone,
        created_at=s.created_at,
        confirmed_at=s.confirmed_at,
        deliveries=item.deliveries,
    )


@router.get("/subscribers")
def list_subscribers(
    state: State,
    status: Annotated[
        Literal["pending", "active", "paused", "disabled", "unsubscribed"] | None, Query()
    ] = None,
    managed_by: Annotated[Literal["config", "api"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> OperatorSubscriberList:
    """Every subscriber (YAML and API), with its watch lists and deliveries by status."""
    with state.transaction() as session:
        rows, total = service.list_subscribers(session, status, managed_by, limit, offset)
        audit.record(
            session, "subscribers.export", actor=audit.API_OPERATOR, details={"rows": len(rows)}
        )
        return OperatorSubscriberList(subscribers=[view(r) for r in rows], total=total)


def _change(state: State, subscriber_id: str, enable: bool) -> OperatorSubscriber:
    with state.transaction() as session:
        subscriber = subscribers.get(session, subscriber_id, for_update=True)
        if subscriber is None:
            raise HTTPException(404, "no such subscriber")
        if enable:
            service.enable(session, subscriber, state.runtime.config().config)
        else:
            service.disable(session, subscriber)
        action = "subscriber.enable" if enable else "subscriber.disable"
        audit.record(session, action, actor=audit.API_OPERATOR, target=subscriber_id)
        session.flush()
        result = view(service.views(session, [subscriber])[0])
    metrics.subscription_event("enabled" if enable else "disabled")
    return result


@router.post("/subscribers/{subscriber_id}/disable", responses={**_NOT_FOUND, 409: CONFLICT})
def disable_subscriber(subscriber_id: SubscriberId, state: State) -> OperatorSubscriber:
    """Stop alerts to an API subscriber (YAML subscribers are disabled in the YAML)."""
    return _change(state, subscriber_id, enable=False)


@router.post("/subscribers/{subscriber_id}/enable", responses={**_NOT_FOUND, 409: CONFLICT})
def enable_subscriber(subscriber_id: SubscriberId, state: State) -> OperatorSubscriber:
    """Undo a disable, or a YAML subscriber's own unsubscribe (when they ask to come back)."""
    return _change(state, subscriber_id, enable=True)


@router.get("/deliveries")
def list_deliveries(
    state: State,
    status: Annotated[DeliveryStatus | None, Query()] = None,
    subscriber: Annotated[str | None, Query(max_length=100, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> OperatorDeliveryList:
    """The outbox, newest first, and how many deliveries are in each status."""
    with state.transaction() as session:
        rows = outbox.list_deliveries(session, status, subscriber, limit)
        counts = outbox.delivery_counts(session)
    return OperatorDeliveryList(
        deliveries=[
            OperatorDelivery(
                id=d.id,
                subscriber_id=d.subscriber_id,
                kind=d.kind,
                status=d.status,
                attempts=d.attempts,
                match_id=d.match_id,
                created_at=d.created_at,
                next_attempt_at=d.next_attempt_at,
                sent_at=d.sent_at,
                last_status=d.last_status,
                last_error=d.last_error,
            )
            for d in rows
        ],
        counts=counts,
    )
