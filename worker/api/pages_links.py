"""The pages behind the links in every alert: unsubscribe (also RFC 8058 one-click) and
manage (everything the JSON ``PATCH`` can do, for e-mail subscribers without any id)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from worker import metrics
from worker.api import page_view, service
from worker.api.deps import State
from worker.api.page_view import (
    FORM_RESPONSES,
    LANGUAGE_COOKIE,
    PAGE_RESPONSES,
    Button,
    Lang,
    Settings,
    Token,
    View,
    page_router,
    view,
)
from worker.api.schemas import SubscriptionUpdate
from worker.db import subscribers
from worker.db.models import Subscriber

router = page_router()


def _invalid_unsubscribe(page: View) -> HTMLResponse:
    _ = page._
    return page.message(
        _("This link is not valid any more"),
        _("If it came with an alert, you are already unsubscribed."),
        status=404,
    )


@router.get("/unsubscribe/{token}", responses=PAGE_RESPONSES)
def unsubscribe_page(
    token: Token, request: Request, state: State, lang: Lang = None
) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "unsubscribe", token, key)
    page = view(request, state, subscriber)
    if subscriber is None or subscriber.status == "unsubscribed":
        return _invalid_unsubscribe(page)
    _ = page._
    return page.message(
        _("Unsubscribe"),
        _("Stop all rightswatch alerts to %(address)s?")
        % {"address": page_view.masked(subscriber.address)},
        buttons=[Button(f"/unsubscribe/{token}", _("Unsubscribe"))],
    )


@router.post("/unsubscribe/{token}", responses=PAGE_RESPONSES)
def unsubscribe(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (the form body, ``List-Unsubscribe=One-Click``, is
    not needed: the token says who)."""
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "unsubscribe", token, key)
        page = view(request, state, subscriber)
        if subscriber is None or subscriber.status == "unsubscribed":
            return _invalid_unsubscribe(page)
        config = state.runtime.config().config
        outcome = service.unsubscribe(session, subscriber, config, state.now())
    metrics.subscription_event("unsubscribed")
    _ = page._
    detail = (
        _("Your subscription and your address have been deleted.")
        if outcome == "deleted"
        else _("No more alerts will be sent to this address.")
    )
    return page.message(_("Unsubscribed"), detail)


def _invalid_manage(page: View) -> HTMLResponse:
    _ = page._
    return page.message(
        _("This link is not valid any more"),
        _("The subscription it belonged to has been deleted."),
        status=404,
    )


@router.get("/manage/{token}", responses=PAGE_RESPONSES)
def manage_page(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
    page = view(request, state, subscriber)
    if subscriber is None:
        return _invalid_manage(page)
    return _manage(page, subscriber, token)


def _manage(
    page: View,
    subscriber: Subscriber,
    token: str,
    note: str = "",
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The manage page, its form filled with what was ``typed`` (after a 422) or is stored."""
    _ = page._
    state = page.state
    current = subscriber.status or "active"
    buttons = []
    if current == "active":
        buttons.append(Button(f"/manage/{token}?action=pause", _("Pause alerts")))
    elif current == "paused":
        buttons.append(Button(f"/manage/{token}?action=resume", _("Resume alerts")))
    buttons.append(Button(f"/manage/{token}?action=delete", _("Delete my subscription")))
    if typed is None:
        weekday, _space, time = subscriber.deliver_at.rpartition(" ")
        with state.transaction() as session:
            chosen = service.watchlist_ids(session, subscriber.id)
        typed = {
            "watchlists": chosen,
            "frequency": subscriber.frequency,
            "time": time,
            "weekday": weekday or "mon",
            "timezone": subscriber.timezone,
            "language": subscriber.language or "en",
            "security_phrase": subscriber.security_phrase or "",
        }
    states = {
        "active": _("active"),
        "paused": _("paused"),
        "pending": _("waiting for confirmation"),
        "disabled": _("stopped by the operator"),
        "unsubscribed": _("unsubscribed"),
    }
    return page.render(
        "manage.html",
        status,
        token=token,
        note=note,
        address=page_view.masked(subscriber.address),
        status_label=states.get(current, current),
        csrf=page.csrf(),
        watchlists=page_view.public_lists(state),
        form=typed,
        errors=errors or {},
        buttons=buttons,
        **page_view.form_choices(page),
    )


@router.post("/manage/{token}", responses=FORM_RESPONSES)
def manage(
    token: Token,
    action: Annotated[Literal["pause", "resume", "delete"], Query()],
    request: Request,
    state: State,
    lang: Lang = None,
) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
        page = view(request, state, subscriber)
        _ = page._
        if subscriber is None:
            return _invalid_manage(page)
        if action == "delete":
            subscribers.delete_subscriber(session, subscriber.id)
        else:
            try:
                service.pause(subscriber, action == "pause")
            except service.Conflict as e:
                return page.message(_("Not possible now"), str(e), status=409)
    if action == "delete":
        metrics.subscription_event("deleted")
        return page.message(
            _("Deleted"), _("Your subscription and your address have been deleted.")
        )
    metrics.subscription_event("updated")
    note = _("Alerts are paused.") if action == "pause" else _("Alerts are on again.")
    return _manage(page, subscriber, token, note)


@router.post("/manage/{token}/settings", responses=FORM_RESPONSES)
def manage_settings(
    token: Token, request: Request, state: State, form: Settings, lang: Lang = None
) -> HTMLResponse:
    """Everything ``PATCH /subscriptions/{id}`` changes, without the id: the link says who."""
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
    page = view(request, state, subscriber)
    if subscriber is None:
        return _invalid_manage(page)
    if not page.csrf_ok(form.csrf):
        return page_view.expired_form(page)
    try:
        changes = SubscriptionUpdate.model_validate(form.payload())
        with state.transaction() as session:
            row = subscribers.get_one(session, subscriber.id, for_update=True)
            service.update(session, row, changes)
    except (ValidationError, service.InvalidField) as e:
        errors = page_view.field_errors(page, e)
        return _manage(page, subscriber, token, status=422, errors=errors, typed=form.shown())
    subscriber = row
    metrics.subscription_event("updated")
    page.language = subscriber.language or page.language
    page.set_cookies[LANGUAGE_COOKIE] = page.language
    return _manage(page, subscriber, token, page._("Your changes are saved."))
