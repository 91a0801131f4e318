"""What every web page shares: its language, CSRF cookie, rendering, and the choices and
messages of the subscription forms (the pages are in :mod:`pages`, :mod:`pages_links` and
:mod:`desk`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from worker import i18n
from worker.api import service
from worker.api.deps import INVALID, OFF, RESPONSES, TOKEN_PATTERN, State, as_json
from worker.db import subscribers
from worker.db.models import Subscriber, Watchlist
from worker.security.tokens import subscriber_token, token_matches


def page_router() -> APIRouter:
    """A router for HTML pages whose errors are still documented as the API's JSON."""
    return APIRouter(
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
ZONES = sorted(available_timezones() - {"localtime", "Factory"})


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


def watchlist_titles(state: State, subscriber: Subscriber) -> list[str]:
    with state.transaction() as session:
        return [w.title for w in subscribers.subscribed_watchlists(session, subscriber.id)]


def public_lists(state: State) -> list[Watchlist]:
    state.sync_config()
    with state.transaction() as session:
        return service.public_watchlists(session)


def frequency_choices(page: View) -> list[tuple[str, str]]:
    _ = page._
    return [
        ("immediate", _("Each alert as it comes")),
        ("hourly", _("Hourly digest")),
        ("daily", _("Daily digest")),
        ("weekly", _("Weekly digest")),
    ]


def weekday_choices(page: View) -> list[tuple[str, str]]:
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


def form_choices(page: View) -> dict[str, Any]:
    """The choices the settings fields offer, as the ``_settings.html`` macro takes them."""
    return {
        "frequencies": frequency_choices(page),
        "weekdays": weekday_choices(page),
        "zones": ZONES,
        "languages": i18n.LANGUAGES,
    }


def field_errors(page: View, error: ValidationError | service.InvalidField) -> dict[str, str]:
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


@dataclass(frozen=True, slots=True)
class SettingsForm:
    """The fields the subscribe form and the manage page share, as the browser posted them:
    what the schemas validate, and what the form shows again after a 422."""

    csrf: str
    watchlists: list[str]
    frequency: str
    time: str
    weekday: str
    timezone: str
    language: str
    security_phrase: str

    def shown(self) -> dict[str, Any]:
        """The values the form is filled with again."""
        return {
            "watchlists": self.watchlists,
            "frequency": self.frequency,
            "time": self.time,
            "weekday": self.weekday,
            "timezone": self.timezone,
            "language": self.language,
            "security_phrase": self.security_phrase,
        }

    def payload(self) -> dict[str, Any]:
        """The body of the JSON API's subscription schemas (time and weekday as one field)."""
        weekly = self.frequency == "weekly" and self.weekday in WEEKDAYS
        return {
            "watchlists": self.watchlists,
            "frequency": self.frequency,
            "deliver_at": f"{self.weekday} {self.time}" if weekly else self.time,
            "timezone": self.timezone,
            "language": self.language,
            "security_phrase": self.security_phrase,
        }


def _settings_form(
    csrf: Annotated[str, Form(max_length=200)] = "",
    watchlists: Annotated[list[str] | None, Form()] = None,
    frequency: Annotated[str, Form(max_length=20)] = "immediate",
    time: Annotated[str, Form(max_length=10)] = "08:00",
    weekday: Annotated[str, Form(max_length=10)] = "mon",
    timezone: Annotated[str, Form(max_length=64)] = "UTC",
    language: Annotated[str, Form(max_length=10)] = "en",
    security_phrase: Annotated[str, Form(max_length=1000)] = "",
) -> SettingsForm:
    return SettingsForm(
        csrf, watchlists or [], frequency, time, weekday, timezone, language, security_phrase
    )


Settings = Annotated[SettingsForm, Depends(_settings_form)]


def expired_form(page: View) -> HTMLResponse:
    """A form post whose CSRF token is missing or wrong (403)."""
    _ = page._
    return page.message(
        _("The form has expired"),
        _("Please open the page again and send the form from there."),
        status=403,
        link=("/subscribe", _("Back to the form")),
    )
