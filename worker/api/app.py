"""The FastAPI application: ``create_app(settings)``.

One process serves the public subscription API, the links in e-mails, the
operator endpoints and health and metrics. It shares the database with the
worker (``rightswatch run`` or ``worker`` + ``beat``): a new subscription's
confirmation e-mail or verification ping is an outbox row, sent by this
process right after the commit and, should that fail, retried by the worker.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.datastructures import URL
from starlette.responses import RedirectResponse
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker import __version__, logs, metrics
from worker.api import (
    desk,
    desk_pages,
    pages,
    pages_links,
    routes_operator,
    routes_ops,
    routes_public,
    routes_websub,
    service,
)
from worker.api.rate_limits import (
    DatabaseRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from worker.api.schemas import FieldProblem, ValidationProblem
from worker.api.state import ApiState
from worker.core.clock import utcnow
from worker.ingest.websub import push_possible
from worker.runtime import Runtime
from worker.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
"""Largest request body accepted (bytes): a subscription is a few hundred."""


def create_app(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    runtime = Runtime(settings, clock)
    secret = settings.secret_key or secrets.token_hex(32)
    limiter: RateLimiter
    if settings.broker_url and settings.broker_url.startswith(("redis://", "rediss://")):
        limiter = RedisRateLimiter(settings.broker_url, secret)
    else:
        limiter = DatabaseRateLimiter(runtime.sessions, secret)
    state = ApiState(settings, runtime, limiter, metrics.registry(settings))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.sync_config()
        loop = threading.Thread(target=state.background_loop, name="rw-background", daemon=True)
        loop.start()
        if push_possible(settings):
            state.pusher.submit(state.warm_up)  # the first push need not wait for a compile
        try:
            yield
        finally:
            state.close()

    app = FastAPI(
        title="rightswatch",
        version=__version__,
        summary="Subscribe to alerts when human-rights defenders are named in a report.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        redirect_slashes=False,
    )
    app.state.api = state
    for module in (
        routes_public,
        pages,
        pages_links,
        desk,
        desk_pages,
        routes_operator,
        routes_ops,
        routes_websub,
    ):
        app.include_router(module.router)
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(service.InvalidField, _invalid_field)  # type: ignore[arg-type]
    app.add_exception_handler(service.Conflict, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _database_down)  # type: ignore[arg-type]
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(Guard, large_bodies={routes_websub.router.prefix: settings.max_feed_bytes})
    app.router.default = _relative_slash_redirects(app.router)
    return app


def _relative_slash_redirects(router: Router) -> ASGIApp:
    """Starlette's trailing-slash redirect, with a relative Location.

    Starlette builds an absolute URL from the request's ``Host`` header, so a
    forged Host came back in the Location (a link to any site, in our name).
    """
    not_found = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path not in ("", "/"):
            other = {**scope, "path": path.rstrip("/") if path.endswith("/") else path + "/"}
            if any(route.matches(other)[0] is not Match.NONE for route in router.routes):
                url = URL(scope=other)
                location = "/" + url.path.lstrip("/") + (f"?{url.query}" if url.query else "")
                await RedirectResponse(location)(scope, receive, send)
                return
        await not_found(scope, receive, send)

    return default


# --- errors --------------------------------------------------------------------------------


def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(FieldProblem(field=where, message=message))
    first = f"{problems[0].field}: {problems[0].message}" if problems else "invalid request"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    body = ValidationProblem(detail=f"invalid request: {first}{more}", errors=problems)
    return JSONResponse(body.model_dump(), status_code=422)


def _invalid_field(_: Request, error: service.InvalidField) -> JSONResponse:
    body = ValidationProblem(
        detail=f"invalid request: {error.field}: {error}",
        errors=[FieldProblem(field=error.field, message=str(error))],
    )
    return JSONResponse(body.model_dump(), status_code=422)


def _conflict(_: Request, error: service.Conflict) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=409)


def _database_down(_: Request, error: OperationalError) -> JSONResponse:
    log.warning("request failed: the database is not reachable (%s)", type(error).__name__)
    return JSONResponse(
        {"detail": "the database is not reachable; try again later"},
        status_code=503,
        headers={"Retry-After": "30"},
    )


# --- every request -------------------------------------------------------------------------

_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
]


class Guard:
    """Caps the body, adds security headers, logs one line and counts each request.

    The log line and the metric name the route's template (``/unsubscribe/{token}``),
    never the path itself, so tokens in links stay out of logs and label values.
    ``large_bodies``: path prefixes whose bodies may be larger (a WebSub push is a feed).
    """

    def __init__(self, app: ASGIApp, large_bodies: dict[str, int] | None = None) -> None:
        self.app = app
        self.large_bodies = large_bodies or {}

    def _cap(self, path: str) -> int:
        return next(
            (cap for prefix, cap in self.large_bodies.items() if path.startswith(prefix + "/")),
            MAX_BODY,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        cap = self._cap(str(scope.get("path", "")))
        with logs.bind(request_id=secrets.token_hex(6)):
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > cap:
                status = 413 if length.isdigit() else 400
                await _problem(send, status, _too_large(cap) if status == 413 else "bad length")
                self._done(scope, status, started)
                return
            received = 0

            async def limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > cap:
                        raise HTTPException(413, _too_large(cap))
                return message

            async def send_with_headers(message: MutableMapping[str, Any]) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    message["headers"] = [*message.get("headers", []), *_HEADERS]
                await send(message)

            try:
                await self.app(scope, limited, send_with_headers)
            finally:
                self._done(scope, status, started)

    @staticmethod
    def _done(scope: Scope, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = str(scope.get("method", ""))
        metrics.api_request(route, method, status)
        elapsed = (time.perf_counter() - started) * 1000
        level = logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "%s %s → %d in %.1f ms", method, route, status, elapsed)


def _too_large(cap: int) -> str:
    return f"request body too large (at most {cap} bytes)"


async def _problem(send: Callable[[Message], Awaitable[None]], status: int, detail: str) -> None:
    body = JSONResponse({"detail": detail}).body
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
