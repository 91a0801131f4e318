"""The web pages: the public front, subscribing, and confirming (the links to unsubscribe
and manage are in :mod:`pages_links`).

Server-rendered HTML in English, Russian and Kyrgyz, working without JavaScript
and under the API's strict CSP. The language comes from the link (``?lang=``,
which is also the language switch and is remembered in a cookie), then from the
subscriber, then from ``Accept-Language``.

Following a link (GET) never changes anything: mail scanners and link
previews fetch links on their own. The page shows a button that POSTs to the
same address; ``POST /unsubscribe/{token}`` is also what mail clients send for
RFC 8058 one-click unsubscribe (``List-Unsubscribe-Post``). The forms that are
not behind a link's token (subscribing) and the settings form carry a CSRF
token bound to a cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import BackgroundTasks, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from worker import metrics
from worker.api import service
from worker.api.deps import State
from worker.api.page_view import (
    FORM_RESPONSES,
    PAGE_RESPONSES,
    Button,
    Lang,
    Settings,
    Token,
    View,
    expired_form,
    field_errors,
    form_choices,
    frequency_choices,
    masked,
    page_router,
    public_lists,
    view,
    watchlist_titles,
)
from worker.api.routes_public import client, subscribe
from worker.api.schemas import SubscriptionCreate
from worker.db.models import Subscriber
from worker.security.tokens import subscriber_token

router = page_router()


# --- public pages ----------------------------------------------------------------------


@router.get("/", responses=PAGE_RESPONSES)
def home(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    """The public watch lists, and the way to subscribe."""
    page = view(request, state)
    return page.render("home.html", watchlists=public_lists(state))


def _subscribe_form(
    page: View,
    status: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = page.state.settings
    on = bool(settings.secret_key and settings.public_url)
    form = {
        "email": "",
        "watchlists": [],
        "frequency": "immediate",
        "time": "08:00",
        "weekday": "mon",
        "timezone": "UTC",
        "language": page.language,
        "security_phrase": "",
        **(values or {}),
    }
    return page.render(
        "subscribe.html",
        status,
        on=on,
        csrf=page.csrf() if on else "",
        watchlists=public_lists(page.state),
        form=form,
        errors=errors or {},
        **form_choices(page),
    )


@router.get("/subscribe", responses=PAGE_RESPONSES)
def subscribe_page(
    request: Request,
    state: State,
    lang: Lang = None,
    watchlist: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    """The subscription form (e-mail, double opt-in)."""
    page = view(request, state)
    return _subscribe_form(page, values={"watchlists": [watchlist] if watchlist else []})


def _limited(page: View, error: HTTPException) -> HTMLResponse:
    _ = page._
    if error.status_code != 429:
        raise error
    response = page.message(
        _("Too many requests"),
        _("Too many subscriptions were asked for from here or for this address. Try again later."),
        status=429,
    )
    response.headers.update(error.headers or {})
    return response


@router.post("/subscribe", responses=FORM_RESPONSES)
def subscribe_form(
    request: Request,
    state: State,
    after: BackgroundTasks,
    form: Settings,
    email: Annotated[str, Form(max_length=254)] = "",
    lang: Lang = None,
) -> HTMLResponse:
    """The form's answer is the same whether or not the address is subscribed already."""
    page = view(request, state)
    if not page.csrf_ok(form.csrf):
        return expired_form(page)
    values = {"email": email, **form.shown()}
    try:
        data = SubscriptionCreate.model_validate(
            {**form.payload(), "email": email, "security_phrase": form.security_phrase or None}
        )
    except ValidationError as e:
        return _subscribe_form(page, 422, values, field_errors(page, e))
    try:
        subscribe(state, data, client(request), after)
    except service.InvalidField as e:
        return _subscribe_form(page, 422, values, field_errors(page, e))
    except HTTPException as e:
        return _limited(page, e)
    _ = page._
    return page.message(
        _("Check your mailbox"),
        _(
            "If this address can receive e-mail, a confirmation link is on its way. Alerts "
            "start once the link is followed; it expires in 48 hours."
        ),
    )


# --- the links in e-mails ----------------------------------------------------------------


def _invalid_confirm(page: View) -> HTMLResponse:
    _ = page._
    return page.message(
        _("This confirmation link is not valid"),
        _(
            "It may have expired (links work for 48 hours) or been used already. Subscribe "
            "again, or ask for a new link, to receive alerts."
        ),
        status=404,
        link=("/subscribe", _("Subscribe")),
    )


def _confirming(
    request: Request,
    state: State,
    token: str,
    find: Callable[[Session, str, str, datetime], Subscriber | None],
) -> tuple[View, Subscriber | None]:
    """The page for a confirmation link, and the subscriber ``find`` gives for it (none when
    the link is not valid)."""
    with state.transaction() as session:
        subscriber = find(session, token, state.subscriptions_key(), state.now())
    return view(request, state, subscriber), subscriber


@router.get("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm_page(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    page, subscriber = _confirming(request, state, token, service.awaiting_confirmation)
    if subscriber is None:
        return _invalid_confirm(page)
    _ = page._
    frequency = dict(frequency_choices(page)).get(subscriber.frequency, subscriber.frequency)
    return page.message(
        _("Confirm your subscription"),
        _("Alerts for %(address)s (%(frequency)s) about:")
        % {"address": masked(subscriber.address), "frequency": frequency},
        items=watchlist_titles(state, subscriber),
        buttons=[Button(f"/confirm/{token}", _("Confirm"))],
    )


@router.post("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    page, subscriber = _confirming(request, state, token, service.confirm)
    if subscriber is None:
        return _invalid_confirm(page)
    metrics.subscription_event("confirmed")
    _ = page._
    return page.message(
        _("Subscribed"),
        _(
            "Your subscription is confirmed: alerts will come to this address. Every alert has "
            "links to change or end it."
        ),
        items=watchlist_titles(state, subscriber),
        link=(
            f"/manage/{subscriber_token(state.subscriptions_key(), 'manage', subscriber.id)}",
            _("Change or pause it"),
        ),
    )
