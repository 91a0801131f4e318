"""The desk: the people who run rightswatch look at recent matches and search them.

Behind a login with the operator token (``RIGHTSWATCH_API_TOKEN``) or an operator's id and
password (``password_hash`` in the YAML); the login is rate-limited per client and per
operator and audited, and the session is a cookie signed under ``RIGHTSWATCH_SECRET_KEY``
(``Secure`` behind https, ``HttpOnly``, ``SameSite=Strict``) that names the operator, so the
audit log says who did what, and expires after :data:`SESSION`.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from worker.api.deps import ID_PATTERN, RESPONSES, State, as_json
from worker.api.desk_chart import mentions_chart, person_ids
from worker.api.page_view import FORM_RESPONSES, HTML, PAGE_RESPONSES, Lang, View, view
from worker.api.rate_limits import Limit
from worker.api.routes_public import client
from worker.core.errors import ConfigError
from worker.db import audit, desk, outbox
from worker.outbox.machine import LIFETIME
from worker.security import passwords
from worker.security.tokens import bearer_matches, subscriber_token

router = APIRouter(
    tags=["desk"],
    default_response_class=HTMLResponse,
    responses={status: as_json(response) for status, response in RESPONSES.items()},
)

SEE_OTHER: dict[int | str, dict[str, Any]] = {
    303: {"description": "To the sign-in page, or to the desk once signed in"}
}
_WRONG: dict[int | str, dict[str, Any]] = {
    401: {"content": HTML, "description": "Not the operator token, nor the operator's password"}
}
DESK_OFF: dict[int | str, dict[str, Any]] = {
    403: {"content": HTML, "description": "The desk is off, or the form's token is wrong"}
}
FORM_POST = {**FORM_RESPONSES, **SEE_OTHER, **DESK_OFF}
"""What a desk form's post may answer."""
Csrf = Annotated[str, Form(max_length=200)]
RowId = Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)]
"""A delivery's or a subscriber's id in a desk form's path."""
SESSION = timedelta(hours=8)
COOKIE = "rw_desk"
LOGIN_PER_CLIENT = Limit("desk-login", 5, timedelta(minutes=15))
LOGIN_PER_OPERATOR = Limit("desk-login-operator", 10, timedelta(minutes=15))
"""Guesses at one operator's password from many addresses."""
WINDOW = timedelta(days=90)
SCANNED = 2000
"""Newest matches searched (their text is decrypted for the search)."""
SHOWN = 100


def session_value(key: str, expires: int, operator: str = "") -> str:
    """``expires.operator.mac``; ``operator`` is empty for a sign-in with the token."""
    signed = f"{expires}.{operator}"
    return f"{signed}.{subscriber_token(key, 'desk-session', signed)}"


def password_hashes(state: State) -> dict[str, str]:
    """Operator id → password hash, for the operators of the YAML who have one."""
    try:
        operators = state.runtime.config().config.operators
    except ConfigError:
        return {}
    return {o.id: o.password_hash for o in operators if o.password_hash}


def operator_of(request: Request, state: State) -> str | None:
    """Who is signed in, as the audit log names them (``desk:ID``, or ``api:operator`` for
    the token), or None. An operator removed from the YAML, or whose password was taken
    away, is signed out."""
    key = state.settings.secret_key
    value = request.cookies.get(COOKIE, "")
    signed, _, _mac = value.rpartition(".")
    expires, _, operator = signed.partition(".")
    if not key or not expires.isdigit() or int(expires) <= int(state.now().timestamp()):
        return None
    if not hmac.compare_digest(session_value(key, int(expires), operator).encode(), value.encode()):
        return None
    if not operator:
        return audit.API_OPERATOR if state.settings.api_token else None
    return f"desk:{operator}" if operator in password_hashes(state) else None


def _off(page: View) -> HTMLResponse | None:
    settings = page.state.settings
    if settings.secret_key and (settings.api_token or password_hashes(page.state)):
        return None
    _ = page._
    return page.message(
        _("The desk is off"),
        _("Set RIGHTSWATCH_API_TOKEN and RIGHTSWATCH_SECRET_KEY to use it."),
        status=403,
    )


def _login_form(
    page: View, status: int = 200, wrong: bool = False, operator: str = ""
) -> HTMLResponse:
    return page.render("desk_login.html", status, csrf=page.csrf(), wrong=wrong, operator=operator)


def signed_in(page: View) -> str | Response:
    """The operator signed in (see :func:`operator_of`), else the answer that refuses: the
    desk is off (403) or to the sign-in page (303)."""
    if off := _off(page):
        return off
    operator = operator_of(page.request, page.state)
    return operator or RedirectResponse("/desk/login", status_code=303)


@dataclass(frozen=True)
class DeskForm:
    """A desk form posted by a signed-in operator: the page to answer with, and who."""

    page: View
    operator: str


def _desk_form(
    request: Request, state: State, csrf: Csrf = "", lang: Lang = None
) -> DeskForm | Response:
    """:func:`signed_in` for a form post, which also needs the form's CSRF token (403)."""
    page = view(request, state)
    operator = signed_in(page)
    if isinstance(operator, Response):
        return operator
    if not page.csrf_ok(csrf):
        return page.message(page._("The form has expired"), status=403)
    return DeskForm(page, operator)


SignedInForm = Annotated[DeskForm | Response, Depends(_desk_form)]
"""A desk form post: the operator's, or the answer that refuses it."""


@router.get("/desk/login", responses={**PAGE_RESPONSES, **DESK_OFF})
def login_page(request: Request, state: State, lang: Lang = None) -> HTMLResponse:
    page = view(request, state)
    return _off(page) or _login_form(page)


@router.post(
    "/desk/login", response_model=None, responses={**FORM_RESPONSES, **SEE_OTHER, **_WRONG}
)
def login(
    request: Request,
    state: State,
    csrf: Csrf = "",
    token: Annotated[str, Form(max_length=500)] = "",
    operator: Annotated[str, Form(max_length=100)] = "",
    lang: Lang = None,
) -> Response:
    """The operator token alone, or an operator's id with their password (in ``token``)."""
    page = view(request, state)
    if off := _off(page):
        return off
    if not page.csrf_ok(csrf):
        return page.message(page._("The form has expired"), status=403)
    operator = operator.strip()
    try:
        state.limit(LOGIN_PER_CLIENT, client(request))
        if operator:
            state.limit(LOGIN_PER_OPERATOR, operator)
    except HTTPException as e:
        limited = page.message(page._("Too many requests"), status=429)
        limited.headers.update(e.headers or {})
        return limited
    if operator:
        if not passwords.verify(password_hashes(state).get(operator), token):
            return _login_form(page, 401, wrong=True, operator=operator)
        actor = f"desk:{operator}"
    elif bearer_matches(state.settings.api_token, f"Bearer {token}"):
        actor = audit.API_OPERATOR
    else:
        return _login_form(page, 401, wrong=True)
    with state.transaction() as session:
        audit.record(session, "desk.login", actor=actor, at=state.now())
    expires = int((state.now() + SESSION).timestamp())
    response = RedirectResponse("/desk", status_code=303)
    response.set_cookie(
        COOKIE,
        session_value(state.settings.secret_key or "", expires, operator),
        max_age=int(SESSION.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=(state.settings.public_url or "").startswith("https://"),
    )
    return response


@router.post("/desk/logout", response_model=None, responses=SEE_OTHER)
def logout() -> Response:
    response = RedirectResponse("/desk/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/desk", response_model=None, responses={**PAGE_RESPONSES, **SEE_OTHER, **DESK_OFF})
def matches(
    request: Request,
    state: State,
    q: Annotated[str, Query(max_length=200)] = "",
    watchlist: Annotated[str, Query(max_length=100)] = "",
    lang: Lang = None,
) -> Response:
    """Recent matches, newest first; ``q`` searches names (in any script as written),
    titles and snippets."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    with state.transaction() as session:
        rows = desk.recent_matches(session, state.now() - WINDOW, SCANNED)
    wanted = q.strip().casefold()
    options = sorted({(r.match.watchlist_id, r.watchlist_title) for r in rows})
    if watchlist:
        rows = [r for r in rows if r.match.watchlist_id == watchlist]
    if wanted:
        rows = [r for r in rows if wanted in _haystack(r)]
    return page.render(
        "desk.html",
        rows=rows[:SHOWN],
        people=person_ids(state),
        chart=mentions_chart(state),
        q=q,
        watchlist=watchlist,
        watchlists=options,
    )


def _haystack(row: desk.MatchRow) -> str:
    hits = " ".join(f"{h.get('term', '')} {h.get('text', '')}" for h in row.match.hits)
    return f"{hits} {row.entry.title} {row.match.snippet}".casefold()


@router.get(
    "/desk/outbox", response_model=None, responses={**PAGE_RESPONSES, **SEE_OTHER, **DESK_OFF}
)
def dead_deliveries(request: Request, state: State, lang: Lang = None) -> Response:
    """Deliveries that gave up (dead), newest first, each with a button to try again."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    with state.transaction() as session:
        rows = outbox.list_deliveries(session, "dead", None, SHOWN)
    return page.render("desk_outbox.html", rows=rows, csrf=page.csrf())


@router.post("/desk/outbox/{delivery_id}/retry", response_model=None, responses=FORM_POST)
def retry_delivery(delivery_id: RowId, state: State, form: SignedInForm) -> Response:
    """Put a dead delivery back in the queue (audited); the worker sends it on its next cycle."""
    if isinstance(form, Response):
        return form
    page, operator = form.page, form.operator
    now = state.now()
    with state.transaction() as session:
        retried = outbox.retry_dead(session, [delivery_id], now, now + LIFETIME)
        if retried:
            audit.record(session, "delivery.retry", actor=operator, target=delivery_id, at=now)
    if not retried:
        return page.message(page._("Not possible now"), status=409)
    return RedirectResponse("/desk/outbox", status_code=303)


MatchId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""Match ids are 32-bit integers."""


def _match_page(
    page: View, match_id: int, status: int = 200, snippet: str = ""
) -> HTMLResponse | None:
    with page.state.transaction() as session:
        row = desk.match_row(session, match_id)
        deliveries = desk.deliveries_of_match(session, match_id)
    if row is None:
        return None
    return page.render(
        "desk_match.html",
        status,
        row=row,
        deliveries=deliveries,
        people=person_ids(page.state),
        csrf=page.csrf(),
        snippet=snippet,
    )


@router.get(
    "/desk/matches/{match_id}",
    response_model=None,
    responses={**PAGE_RESPONSES, **SEE_OTHER, **DESK_OFF},
)
def match_detail(match_id: MatchId, request: Request, state: State, lang: Lang = None) -> Response:
    """A match: its entry, hits and snippet, and who was alerted (delivery states)."""
    page = view(request, state)
    operator = signed_in(page)
    if not isinstance(operator, str):
        return operator
    return _match_page(page, match_id) or page.message(page._("No matches."), status=404)


@router.post(
    "/desk/matches/{match_id}/not-this-person",
    response_model=None,
    responses=FORM_POST,
)
def not_this_person(
    match_id: MatchId,
    state: State,
    form: SignedInForm,
    hit: Annotated[int, Form(ge=0, le=10_000)] = 0,
) -> Response:
    """Record a hit as a false positive (audit log) and offer the YAML exclusion for it:
    the YAML stays the source of truth."""
    if isinstance(form, Response):
        return form
    page, operator = form.page, form.operator
    with state.transaction() as session:
        row = desk.match_row(session, match_id)
        if row is None or hit >= len(row.match.hits):
            return page.message(page._("No matches."), status=404)
        found = row.match.hits[hit]
        audit.record(
            session,
            "match.false_positive",
            actor=operator,
            target=str(match_id),
            details={"hit": hit, "watchlist": row.match.watchlist_id},
            at=state.now(),
        )
    snippet = exclusion_snippet(row.match.watchlist_id, str(found.get("term", "")), row)
    return _match_page(page, match_id, snippet=snippet) or page.message("", status=404)


def exclusion_snippet(watchlist_id: str, term: str, row: desk.MatchRow) -> str:
    """The YAML that silences this person for text like this entry's: the words as they
    appeared, with the word after them (``Askarov Street``) when there is one."""
    texts = [str(h.get("text", "")) for h in row.match.hits if h.get("term") == term]
    phrase = texts[0] if texts else term
    haystack = f"{row.entry.title} {row.match.snippet}"
    at = haystack.find(phrase)
    if at >= 0:
        following = haystack[at + len(phrase) :].split()
        if following:
            phrase = f"{phrase} {following[0].strip('.,;:!?»)')}"
    quoted = json.dumps(phrase, ensure_ascii=False)
    return (
        f"watchlists:\n  - id: {watchlist_id}\n    people:\n"
        f"      - name: {json.dumps(term, ensure_ascii=False)}\n"
        f"        exclude: [{quoted}]\n"
    )
