"""The web pages: subscribing, and the links in e-mails (confirm, unsubscribe, manage).

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

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from worker import i18n, metrics
from worker.api import service
from worker.api.deps import INVALID, OFF, RESPONSES, TOKEN_PATTERN, State, as_json
from worker.api.routes_public import client, subscribe
from worker.api.schemas import SubscriptionCreate, SubscriptionUpdate
from worker.db import subscribers
from worker.db.models import Subscriber, Watchlist
from worker.security.tokens import subscriber_token, token_matches

router = APIRouter(
    tags=["pages"],
    default_response_class=HTMLResponse,
    responses={status: as_json(response) for status, response in RESPONSES.items()},
)

Token = Annotated[str, Path(min_length=1, max_length=100, pattern=TOKEN_PATTERN)]
Lang = Annotated[str | None, Query(max_length=10, description="Page language: en, ru, ky")]
HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": HTML, "description": "A page"},
    404: {"content": HTML, "description": "The link is not valid (any more)"},
    503: as_json(OFF),
}
FORM_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PAGE_RESPONSES,
    403: {"content": HTML, "description": "The form's CSRF token is missing or wrong"},
    409: {"content": HTML, "description": "Not possible now"},
    422: {
        "content": {**HTML, **as_json(INVALID)["content"]},
        "description": "The form again, with what to correct (JSON: a field past its length)",
    },
    429: {"content": HTML, "description": "Too many requests"},
}
LANGUAGE_COOKIE = "rw_lang"
CSRF_COOKIE = "rw_csrf"
FREQUENCIES = ("immediate", "hourly", "daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ZONES = sorted(available_timezones() - {"localtime", "Factory"})


@dataclass(frozen=True, slots=True)
class Button:
    action: str
    label: str


@dataclass
class View:
    """One request's page: its language, its cookies, and the way to render it."""

    request: Request
    state: State
    language: str
    set_cookies: dict[str, str] = field(default_factory=dict)

    @property
    def _(self) -> Callable[[str], str]:
        return i18n.gettext_for(self.language)

    def csrf(self) -> str:
        """The form token for this browser (made with its cookie, which is set if new)."""
        key = self.state.settings.secret_key or ""
        cookie = self.request.cookies.get(CSRF_COOKIE) or self.set_cookies.get(CSRF_COOKIE)
        if not cookie or len(cookie) > 100:
            cookie = secrets.token_urlsafe(32)
            self.set_cookies[CSRF_COOKIE] = cookie
        return subscriber_token(key, "csrf", cookie)

    def csrf_ok(self, given: str) -> bool:
        key = self.state.settings.secret_key
        cookie = self.request.cookies.get(CSRF_COOKIE)
        if not key or not cookie or not given:
            return False
        return token_matches(key, "csrf", cookie, given)

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        env = i18n.environment("worker.api", "templates", self.language)
        path = self.request.url.path
        query = {k: v for k, v in self.request.query_params.items() if k != "lang"}
        switch = [
            (code, name, f"{path}?{urlencode({**query, 'lang': code})}")
            for code, name in i18n.LANGUAGES.items()
        ]
        html = env.get_template(template).render(switch=switch, **context)
        response = HTMLResponse(html, status_code=status)
        secure = (self.state.settings.public_url or "").startswith("https://")
        for name, value in self.set_cookies.items():
            response.set_cookie(
                name,
                value,
                max_age=365 * 86400,
                httponly=True,
                samesite="strict" if name == CSRF_COOKIE else "lax",
                secure=secure,
            )
        return response

    def message(
        self,
        title: str,
        *paragraphs: str,
        status: int = 200,
        items: list[str] | None = None,
        buttons: list[Button] | None = None,
        link: tuple[str, str] | None = None,
    ) -> HTMLResponse:
        """A page: headline, paragraphs, a list, buttons that POST, a link (all escaped)."""
        return self.render(
            "message.html",
            status,
            title=title,
            paragraphs=paragraphs,
            items=items or [],
            buttons=buttons or [],
            link={"url": link[0], "label": link[1]} if link else None,
        )


def view(request: Request, state: State, subscriber: Subscriber | None = None) -> View:
    """The page's language: the link's ``lang``, the remembered switch, the subscriber's,
    the browser's."""
    asked = i18n.supported(request.query_params.get("lang"))
    chosen = i18n.choose(
        asked,
        request.cookies.get(LANGUAGE_COOKIE),
        subscriber.language if subscriber else None,
        i18n.from_accept_language(request.headers.get("accept-language")),
    )
    page = View(request, state, chosen)
    if asked and asked != request.cookies.get(LANGUAGE_COOKIE):
        page.set_cookies[LANGUAGE_COOKIE] = asked
    return page


def masked(address: str) -> str:
    """``d***@example.org``: enough to recognise one's own address on a shared screen."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if at else address


def _titles(state: State, subscriber: Subscriber) -> list[str]:
    with state.transaction() as session:
        return [w.title for w in subscribers.subscribed_watchlists(session, subscriber.id)]


def _public(state: State) -> list[Watchlist]:
    state.sync_config()
    with state.transaction() as session:
        return service.public_watchlists(session)


def _frequencies(page: View) -> list[tuple[str, str]]:
    _ = page._
    return [
        ("immediate", _("Each alert as it comes")),
        ("hourly", _("Hourly digest")),
        ("daily", _("Daily digest")),
        ("weekly", _("Weekly digest")),
    ]


def _weekdays(page: View) -> list[tuple[str, str]]:
    _ = page._
    names = (
        _("Monday"),
        _("Tuesday"),
        _("Wednesday"),
        _("Thursday"),
        _("Friday"),
        _("Saturday"),
        _("Sunday"),
    )
    return list(zip(WEEKDAYS, names, strict=True))


def _field_errors(page: View, error: ValidationError | service.InvalidField) -> dict[str, str]:
    """What to correct, by form field, in the page's language."""
    _ = page._
    messages = {
        "email": _("Enter an e-mail address, like name@example.org."),
        "watchlists": _("Choose at least one watch list."),
        "frequency": _("Choose how often alerts should come."),
        "deliver_at": _("Enter a time like 08:00."),
        "timezone": _("Choose a time zone from the list."),
        "language": _("Choose a language from the list."),
        "security_phrase": _("The security phrase is too long (at most 200 characters)."),
    }
    if isinstance(error, service.InvalidField):
        fields = [error.field.removeprefix("body.")]
    else:
        fields = [str(e["loc"][0]) if e["loc"] else "" for e in error.errors()]
    return {f: messages.get(f, _("Check this field.")) for f in fields}


def _deliver_at(time: str, weekday: str, frequency: str) -> str:
    return f"{weekday} {time}" if frequency == "weekly" and weekday in WEEKDAYS else time


# --- public pages ----------------------------------------------------------------------


@router.get("/", responses=PAGE_RESPONSES)
def home(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    """The public watch lists, and the way to subscribe."""
    page = view(request, state)
    return page.render("home.html", watchlists=_public(state))


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
        watchlists=_public(page.state),
        form=form,
        errors=errors or {},
        frequencies=_frequencies(page),
        weekdays=_weekdays(page),
        zones=_ZONES,
        languages=i18n.LANGUAGES,
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


def _refused(page: View) -> HTMLResponse:
    _ = page._
    return page.message(
        _("The form has expired"),
        _("Please open the page again and send the form from there."),
        status=403,
        link=("/subscribe", _("Back to the form")),
    )


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
    csrf: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    watchlists: Annotated[list[str] | None, Form()] = None,
    frequency: Annotated[str, Form(max_length=20)] = "immediate",
    time: Annotated[str, Form(max_length=10)] = "08:00",
    weekday: Annotated[str, Form(max_length=10)] = "mon",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    language: Annotated[str, Form(max_length=10)] = "en",
    security_phrase: Annotated[str, Form(max_length=1000)] = "",
    lang: Lang = None,
) -> HTMLResponse:
    """The form's answer is the same whether or not the address is subscribed already."""
    page = view(request, state)
    if not page.csrf_ok(csrf):
        return _refused(page)
    values = {
        "email": email,
        "watchlists": watchlists or [],
        "frequency": frequency,
        "time": time,
        "weekday": weekday,
        "timezone": timezone,
        "language": language,
        "security_phrase": security_phrase,
    }
    try:
        data = SubscriptionCreate.model_validate(
            {
                "email": email,
                "watchlists": watchlists or [],
                "frequency": frequency,
                "deliver_at": _deliver_at(time, weekday, frequency),
                "timezone": timezone,
                "language": language,
                "security_phrase": security_phrase or None,
            }
        )
    except ValidationError as e:
        return _subscribe_form(page, 422, values, _field_errors(page, e))
    try:
        subscribe(state, data, client(request), after)
    except service.InvalidField as e:
        return _subscribe_form(page, 422, values, _field_errors(page, e))
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


@router.get("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm_page(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.awaiting_confirmation(session, token, key, state.now())
    page = view(request, state, subscriber)
    if subscriber is None:
        return _invalid_confirm(page)
    _ = page._
    frequency = dict(_frequencies(page)).get(subscriber.frequency, subscriber.frequency)
    return page.message(
        _("Confirm your subscription"),
        _("Alerts for %(address)s (%(frequency)s) about:")
        % {"address": masked(subscriber.address), "frequency": frequency},
        items=_titles(state, subscriber),
        buttons=[Button(f"/confirm/{token}", _("Confirm"))],
    )


@router.post("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm(token: Token, request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.confirm(session, token, key, state.now())
    page = view(request, state, subscriber)
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
        items=_titles(state, subscriber),
        link=(
            f"/manage/{subscriber_token(key, 'manage', subscriber.id)}",
            _("Change or pause it"),
        ),
    )


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
        _("Stop all rightswatch alerts to %(address)s?") % {"address": masked(subscriber.address)},
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
) -> HTMLResponse:
    _ = page._
    state = page.state
    current = subscriber.status or "active"
    buttons = []
    if current == "active":
        buttons.append(Button(f"/manage/{token}?action=pause", _("Pause alerts")))
    elif current == "paused":
        buttons.append(Button(f"/manage/{token}?action=resume", _("Resume alerts")))
    buttons.append(Button(f"/manage/{token}?action=delete", _("Delete my subscription")))
    weekday, _space, time = subscriber.deliver_at.rpartition(" ")
    with state.transaction() as session:
        chosen = service.watchlist_ids(session, subscriber.id)
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
        address=masked(subscriber.address),
        status_label=states.get(current, current),
        csrf=page.csrf(),
        watchlists=_public(state),
        form={
            "watchlists": chosen,
            "frequency": subscriber.frequency,
            "time": time,
            "weekday": weekday or "mon",
            "timezone": subscriber.timezone,
            "language": subscriber.language or "en",
            "security_phrase": subscriber.security_phrase or "",
        },
        errors=errors or {},
        buttons=buttons,
        frequencies=_frequencies(page),
        weekdays=_weekdays(page),
        zones=_ZONES,
        languages=i18n.LANGUAGES,
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
    token: Token,
    request: Request,
    state: State,
    csrf: Annotated[str, Form(max_length=200)] = "",
    watchlists: Annotated[list[str] | None, Form()] = None,
    frequency: Annotated[str, Form(max_length=20)] = "immediate",
    time: Annotated[str, Form(max_length=10)] = "08:00",
    weekday: Annotated[str, Form(max_length=10)] = "mon",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    language: Annotated[str, Form(max_length=10)] = "en",
    security_phrase: Annotated[str, Form(max_length=1000)] = "",
    lang: Lang = None,
) -> HTMLResponse:
    """Everything ``PATCH /subscriptions/{id}`` changes, without the id: the link says who."""
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
    page = view(request, state, subscriber)
    if subscriber is None:
        return _invalid_manage(page)
    if not page.csrf_ok(csrf):
        return _refused(page)
    try:
        changes = SubscriptionUpdate.model_validate(
            {
                "watchlists": watchlists or [],
                "frequency": frequency,
                "deliver_at": _deliver_at(time, weekday, frequency),
                "timezone": timezone,
                "language": language,
                "security_phrase": security_phrase,
            }
        )
        with state.transaction() as session:
            row = subscribers.get_one(session, subscriber.id, for_update=True)
            service.update(session, row, changes)
    except (ValidationError, service.InvalidField) as e:
        return _manage(page, subscriber, token, status=422, errors=_field_errors(page, e))
    subscriber = row
    metrics.subscription_event("updated")
    page.language = subscriber.language or page.language
    page.set_cookies[LANGUAGE_COOKIE] = page.language
    return _manage(page, subscriber, token, page._("Your changes are saved."))
