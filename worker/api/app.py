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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker import __version__, jobs, logs, metrics
from worker.api import pages, routes_operator, routes_ops, routes_public, service
from worker.api.rate_limits import (
    DatabaseRateLimiter,
    Limit,
    RateLimiter,
    RedisRateLimiter,
)
from worker.api.schemas import FieldProblem, ValidationProblem
from worker.core.clock import utcnow
from worker.db import rate_limits
from worker.runtime import Runtime
from worker.settings import Settings

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
"""Largest request body accepted (bytes): a subscription is a few hundred."""
PURGE_EVERY = 60.0
"""Seconds between sweeps of expired pending subscriptions and old rate-limit counters."""


@dataclass
class ApiState:
    """What every request needs; one per application."""

    settings: Settings
    runtime: Runtime
    limiter: RateLimiter
    registry: CollectorRegistry
    sender: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="rw-send")
    )
    stop: threading.Event = field(default_factory=threading.Event)

    def now(self) -> datetime:
        return self.runtime.clock()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.runtime.sessions() as session, session.begin():
            yield session

    def subscriptions_key(self, *, links: bool = False) -> str:
        """The secret key tokens are made with; 503 when the operator has not set it up."""
        key = self.settings.secret_key
        if not key or (links and not self.settings.public_url):
            raise HTTPException(
                503,
                "self-service subscriptions are off: the operator has not set "
                "RIGHTSWATCH_SECRET_KEY and RIGHTSWATCH_PUBLIC_URL",
            )
        return key

    def limit(self, limit: Limit, subject: str) -> None:
        """Count one request; 429 with Retry-After when over the limit."""
        now = self.now()
        if self.limiter.hit(limit, subject, now):
            return
        metrics.rate_limited(limit.scope)
        seconds = int(limit.window.total_seconds())
        retry = seconds - int(now.timestamp()) % seconds
        raise HTTPException(
            429,
            "too many requests; try again later",
            headers={"Retry-After": str(retry)},
        )

    def send_soon(self, delivery_ids: list[str]) -> None:
        """Send new outbox rows now, in the background; the worker retries any failure."""
        for delivery_id in delivery_ids:
            self.sender.submit(self._send, delivery_id, dict(logs.context()))

    def _send(self, delivery_id: str, context: dict[str, str]) -> None:
        with logs.bind(**context):
            try:
                jobs.send_delivery(self.runtime, delivery_id)
            except Exception:
                log.exception("could not send %s now; the worker will retry it", delivery_id)

    def purge_loop(self) -> None:
        while not self.stop.wait(PURGE_EVERY):
            self.purge()

    def purge(self) -> None:
        now = self.now()
        try:
            with self.transaction() as session:
                count = service.purge_unconfirmed(session, now)
                rate_limits.purge(session, now - timedelta(days=1))
        except OperationalError as e:
            log.warning("purge skipped: the database is not reachable (%s)", type(e).__name__)
            return
        if count:
            log.info("deleted %d unconfirmed subscription(s) whose link expired", count)

    def close(self) -> None:
        self.stop.set()
        self.sender.shutdown(wait=True)
        self.limiter.close()
        self.runtime.close()


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
        purger = threading.Thread(target=state.purge_loop, name="rw-purge", daemon=True)
        purger.start()
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
    )
    app.state.api = state
    for module in (routes_public, pages, routes_operator, routes_ops):
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
    app.add_middleware(Guard)
    return app


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
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        with logs.bind(request_id=secrets.token_hex(6)):
            length = dict(scope["headers"]).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > MAX_BODY:
                status = 413 if length.isdigit() else 400
                await _problem(send, status, _too_large() if status == 413 else "bad length")
                self._done(scope, status, started)
                return
            received = 0

            async def limited() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > MAX_BODY:
                        raise HTTPException(413, _too_large())
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


def _too_large() -> str:
    return f"request body too large (at most {MAX_BODY} bytes)"


async def _problem(send: Callable[[Message], Awaitable[None]], status: int, detail: str) -> None:
    body = JSONResponse({"detail": detail}).body
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
