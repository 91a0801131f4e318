"""The links in e-mails: confirm, unsubscribe, manage. Small HTML pages.

Following a link (GET) never changes anything: mail scanners and link
previews fetch links on their own. The page shows a button that POSTs to the
same address; ``POST /unsubscribe/{token}`` is also what mail clients send for
RFC 8058 one-click unsubscribe (``List-Unsubscribe-Post``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from worker import metrics
from worker.api import service
from worker.api.deps import OFF, RESPONSES, TOKEN_PATTERN, State, as_json
from worker.db import subscribers
from worker.db.models import Subscriber
from worker.security.tokens import subscriber_token

router = APIRouter(
    tags=["links in e-mails"],
    default_response_class=HTMLResponse,
    responses={status: as_json(response) for status, response in RESPONSES.items()},
)

_env = Environment(
    loader=PackageLoader("worker.api", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
Token = Annotated[str, Path(min_length=1, max_length=100, pattern=TOKEN_PATTERN)]
_HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": _HTML, "description": "A page"},
    404: {"content": _HTML, "description": "The link is not valid (any more)"},
    503: as_json(OFF),
}


@dataclass(frozen=True, slots=True)
class Form:
    action: str
    label: str


def page(
    title: str,
    *paragraphs: str,
    status: int = 200,
    items: list[str] | None = None,
    forms: list[Form] | None = None,
    link: tuple[str, str] | None = None,
) -> HTMLResponse:
    """A page: headline, paragraphs, a list, buttons that POST, a link (all escaped)."""
    html = _env.get_template("page.html").render(
        title=title,
        paragraphs=paragraphs,
        items=items or [],
        forms=forms or [],
        link={"url": link[0], "label": link[1]} if link else None,
    )
    return HTMLResponse(html, status_code=status)


def masked(address: str) -> str:
    """``d***@example.org``: enough to recognise one's own address on a shared screen."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if at else address


def _titles(state: State, subscriber: Subscriber) -> list[str]:
    with state.transaction() as session:
        return [w.title for w in subscribers.subscribed_watchlists(session, subscriber.id)]


_INVALID_CONFIRM = (
    "This confirmation link is not valid",
    "It may have expired (links work for 48 hours) or been used already. Subscribe again, "
    "or ask for a new link, to receive alerts.",
)


@router.get("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm_page(token: Token, state: State) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.awaiting_confirmation(session, token, key, state.now())
    if subscriber is None:
        return page(*_INVALID_CONFIRM, status=404)
    return page(
        "Confirm your subscription",
        f"Alerts for {masked(subscriber.address)}, {subscriber.frequency}, about:",
        items=_titles(state, subscriber),
        forms=[Form(f"/confirm/{token}", "Confirm")],
    )


@router.post("/confirm/{token}", responses=PAGE_RESPONSES)
def confirm(token: Token, state: State) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.confirm(session, token, key, state.now())
    if subscriber is None:
        return page(*_INVALID_CONFIRM, status=404)
    metrics.subscription_event("confirmed")
    return page(
        "Subscribed",
        "Your subscription is confirmed: alerts will come to this address. Every alert has "
        "links to change or end it.",
        items=_titles(state, subscriber),
        link=(f"/manage/{subscriber_token(key, 'manage', subscriber.id)}", "Change or pause it"),
    )


_INVALID_UNSUBSCRIBE = (
    "This link is not valid any more",
    "If it came with an alert, you are already unsubscribed.",
)


@router.get("/unsubscribe/{token}", responses=PAGE_RESPONSES)
def unsubscribe_page(token: Token, state: State) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "unsubscribe", token, key)
    if subscriber is None or subscriber.status == "unsubscribed":
        return page(*_INVALID_UNSUBSCRIBE, status=404)
    return page(
        "Unsubscribe",
        f"Stop all rightswatch alerts to {masked(subscriber.address)}?",
        forms=[Form(f"/unsubscribe/{token}", "Unsubscribe")],
    )


@router.post("/unsubscribe/{token}", responses=PAGE_RESPONSES)
def unsubscribe(token: Token, state: State) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe (the form body, ``List-Unsubscribe=One-Click``, is
    not needed: the token says who)."""
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "unsubscribe", token, key)
        if subscriber is None or subscriber.status == "unsubscribed":
            return page(*_INVALID_UNSUBSCRIBE, status=404)
        outcome = service.unsubscribe(session, subscriber)
    metrics.subscription_event("unsubscribed")
    detail = (
        "Your subscription and your address have been deleted."
        if outcome == "deleted"
        else "No more alerts will be sent to this address."
    )
    return page("Unsubscribed", detail)


_INVALID_MANAGE = (
    "This link is not valid any more",
    "The subscription it belonged to has been deleted.",
)


@router.get("/manage/{token}", responses=PAGE_RESPONSES)
def manage_page(token: Token, state: State) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
    if subscriber is None:
        return page(*_INVALID_MANAGE, status=404)
    return _manage(subscriber, token, state)


def _manage(subscriber: Subscriber, token: str, state: State, note: str = "") -> HTMLResponse:
    status = subscriber.status or "active"
    forms = []
    if status == "active":
        forms.append(Form(f"/manage/{token}?action=pause", "Pause alerts"))
    elif status == "paused":
        forms.append(Form(f"/manage/{token}?action=resume", "Resume alerts"))
    forms.append(Form(f"/manage/{token}?action=delete", "Delete my subscription"))
    when = ""
    if subscriber.frequency != "immediate":
        when = f" at {subscriber.deliver_at} {subscriber.timezone}"
    return page(
        "Your subscription",
        *([note] if note else []),
        f"Alerts to {masked(subscriber.address)}: {status}, {subscriber.frequency}{when}, about:",
        items=_titles(state, subscriber),
        forms=forms,
    )


@router.post(
    "/manage/{token}",
    responses={**PAGE_RESPONSES, 409: {"content": _HTML, "description": "Not possible now"}},
)
def manage(
    token: Token,
    action: Annotated[Literal["pause", "resume", "delete"], Query()],
    state: State,
) -> HTMLResponse:
    key = state.subscriptions_key()
    with state.transaction() as session:
        subscriber = service.by_token(session, "manage", token, key)
        if subscriber is None:
            return page(*_INVALID_MANAGE, status=404)
        if action == "delete":
            subscribers.delete_subscriber(session, subscriber.id)
        else:
            try:
                service.pause(subscriber, action == "pause")
            except service.Conflict as e:
                return page("Not possible now", str(e), status=409)
    if action == "delete":
        metrics.subscription_event("deleted")
        return page("Deleted", "Your subscription and your address have been deleted.")
    metrics.subscription_event("updated")
    note = "Alerts are paused." if action == "pause" else "Alerts are on again."
    return _manage(subscriber, token, state, note)
