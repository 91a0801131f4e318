"""The desk's pages beside the matches: feed health, subscribers (and undoing an opt-out),
and a person's mentions. Behind the same sign-in as :mod:`desk`."""

from __future__ import annotations

from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from worker.api import service
from worker.api.deps import RESPONSES, State, as_json
from worker.api.desk import (
    DESK_OFF,
    FORM_POST,
    SCANNED,
    SEE_OTHER,
    SHOWN,
    WINDOW,
    RowId,
    SignedInForm,
    signed_in,
)
from worker.api.desk_chart import mentions_chart, people, person_ids
from worker.api.page_view import PAGE_RESPONSES, Lang, masked, view
from worker.commands.feeds import feed_health
from worker.config import person_id
from worker.db import audit, desk, subscribers
from worker.db.models import Subscriber

router = APIRouter(
    tags=["desk"],
    default_response_class=HTMLResponse,
    responses={status: as_json(response) for status, response in RESPONSES.items()},
)
_PAGE = {**PAGE_RESPONSES, **SEE_OTHER, **DESK_OFF}
ApiState = Literal["pending", "active", "paused", "disabled"]
"""The states the subscribers page filters API subscribers by."""


@router.get("/desk/feeds", response_model=None, responses=_PAGE)
def feeds(request: Request, state: State, lang: Lang = None) -> Response:
    """Every feed's health, as ``rightswatch feeds`` prints it (times UTC)."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    state.sync_config()
    config = state.runtime.config().config
    with state.transaction() as session:
        rows = feed_health(session, config, state.now())
        opted_out = subscribers.unsubscribed_by_recipient(session)
    return page.render("desk_feeds.html", rows=rows, opted_out=opted_out)


def shown_address(subscriber: Subscriber) -> str:
    """What the desk shows of where alerts go: enough to tell subscribers apart on a shared
    screen, never a whole address, webhook path or Apprise token."""
    if subscriber.channel == "email":
        return masked(subscriber.address)
    if subscriber.channel == "webhook":
        parts = urlsplit(subscriber.address)
        return f"{parts.scheme}://{parts.hostname}/…"
    if subscriber.channel == "apprise":
        return f"{urlsplit(subscriber.address).scheme}://…"
    return subscriber.channel


def state_of(subscriber: Subscriber) -> str:
    """active, pending, paused, disabled, unsubscribed (API); for the YAML's: active,
    disabled (in the YAML) or unsubscribed (by the recipient)."""
    if subscriber.managed_by == "config" and subscriber.status is None:
        return "active" if subscriber.active else "disabled"
    return subscriber.status or "active"


def can_enable(subscriber: Subscriber) -> bool:
    """What ``rightswatch subscribers enable`` undoes: a YAML subscriber's opt-out, an
    operator's disable of an API subscriber."""
    wanted = "unsubscribed" if subscriber.managed_by == "config" else "disabled"
    return subscriber.status == wanted


@router.get("/desk/subscribers", response_model=None, responses=_PAGE)
def subscriber_list(
    request: Request,
    state: State,
    status: Annotated[ApiState | Literal[""], Query()] = "",
    lang: Lang = None,
) -> Response:
    """The YAML's subscribers, then the API's (the first :data:`SHOWN`), with their state
    and an Enable button where an opt-out or a disable can be undone."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    state.sync_config()
    with state.transaction() as session:
        from_yaml, _ = subscribers.page(session, None, "config", 10_000, 0)
        from_api, total = subscribers.page(session, status or None, "api", SHOWN, 0)
        lists = subscribers.watchlists_of(session, [s.id for s in [*from_yaml, *from_api]])
        rows = [
            (s, shown_address(s), state_of(s), can_enable(s), lists.get(s.id, []))
            for s in [*from_yaml, *from_api]
        ]
    return page.render(
        "desk_subscribers.html",
        rows=rows,
        api_total=total,
        api_shown=len(from_api),
        chosen=status,
        statuses=get_args(ApiState),
        csrf=page.csrf(),
    )


@router.post("/desk/subscribers/{subscriber_id}/enable", response_model=None, responses=FORM_POST)
def enable(subscriber_id: RowId, state: State, form: SignedInForm) -> Response:
    """What ``rightswatch subscribers enable ID`` does, audited under the operator's name."""
    if isinstance(form, Response):
        return form
    page, operator = form.page, form.operator
    config = state.runtime.config().config
    with state.transaction() as session:
        subscriber = subscribers.get(session, subscriber_id, for_update=True)
        if subscriber is None:
            return page.message(page._("No such subscriber."), status=404)
        try:
            service.enable(session, subscriber, config)
        except service.Conflict:
            return page.message(page._("Not possible now"), status=409)
        audit.record(
            session, "subscriber.enable", actor=operator, target=subscriber_id, at=state.now()
        )
    return RedirectResponse("/desk/subscribers", status_code=303)


@router.get("/desk/people/{person}", response_model=None, responses=_PAGE)
def person_page(
    person: Annotated[str, Path(min_length=1, max_length=200)],
    request: Request,
    state: State,
    lang: Lang = None,
) -> Response:
    """One person's mentions per day over the last 90 days, the feeds that carried them,
    and their newest matches."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    named = [p for p in people(state).values() if person_id(p) == person]
    if not named:
        return page.message(page._("No such person in the configuration."), status=404)
    ids = person_ids(state)
    with state.transaction() as session:
        rows = desk.recent_matches(session, state.now() - WINDOW, SCANNED)
    rows = [
        r for r in rows if any(ids.get((r.match.watchlist_id, t)) == person for t in r.match.terms)
    ]
    return page.render(
        "desk_person.html",
        name=named[0].name,
        chart=mentions_chart(state, person),
        rows=rows[:SHOWN],
        people=ids,
    )
