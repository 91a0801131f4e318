"""Structured logs: one JSON object a line (or one readable line), with the ids of the
work at hand bound to every line, and no secret or e-mail address in full.

The ids live in a context variable: ``with bind(feed_id=…)`` around a unit of
work (a poll, a delivery, a Celery task, an API request) tags every line logged
inside it, whichever module logs it. Redaction runs on the finished message of
every record that reaches the handler, so a careless log call elsewhere still
cannot print a token, a webhook secret, a password in a URL or a full address.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TextIO

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "rightswatch_log_context", default=MappingProxyType({})
)
_task_tokens: dict[str, Token[Mapping[str, str]]] = {}

_EMAIL = re.compile(r"([\w.%+'-])[\w.%+'-]*@((?:[\w-]+\.)+[\w-]{2,})")
"""An address in any script: ``\\w`` is Unicode (``jörg@почта.рф``, ``用户@例子.广告``)."""
_PATH_TOKEN = re.compile(r"(/(?:unsubscribe|confirm|manage)/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+")
_SECRET = re.compile(r"\b(whsec_)[A-Za-z0-9+/=]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)\S+")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@", re.IGNORECASE)


def redact(text: str) -> str:
    """Mask e-mail addresses, tokens in link paths, whsec_ secrets, bearer tokens and
    passwords in URLs (``d***@example.org``, ``/unsubscribe/AbCd…``)."""
    text = _URL_PASSWORD.sub(r"\1***@", text)
    text = _EMAIL.sub(r"\1***@\2", text)
    text = _PATH_TOKEN.sub(r"\1\2…", text)
    text = _SECRET.sub(r"\1***", text)
    return _BEARER.sub(r"\1***", text)


@contextmanager
def bind(**ids: str | int | None) -> Iterator[None]:
    """Tag every line logged inside the block with these ids (None values are left out)."""
    token = _context.set({**_context.get(), **_clean(ids)})
    try:
        yield
    finally:
        _context.reset(token)


def add(**ids: str | int | None) -> None:
    """Tag the rest of the enclosing :func:`bind` block with more ids."""
    _context.set({**_context.get(), **_clean(ids)})


def context() -> Mapping[str, str]:
    return _context.get()


def _clean(ids: Mapping[str, str | int | None]) -> dict[str, str]:
    return {key: str(value) for key, value in ids.items() if value is not None}


def task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Celery ``task_prerun`` handler: bind the task's id and name until it ends."""
    if task_id is None:
        return
    name = getattr(task, "name", None)
    _task_tokens[task_id] = _context.set(
        {**_context.get(), **_clean({"task_id": task_id, "task": name})}
    )


def task_finished(task_id: str | None = None, **_: Any) -> None:
    """Celery ``task_postrun`` handler."""
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Redacts the message and attaches the bound ids to the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.rw_context = dict(_context.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the bound ids, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "rw_context", {}),
        }
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The readable line, with the bound ids as ``key=value`` at the end."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        ids = getattr(record, "rw_context", {})
        return text + "".join(f" {key}={value}" for key, value in ids.items()) if ids else text


QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "urllib3",
    "requests",
    "apprise",
    "kombu",
    "amqp",
    "celery.app.trace",
    "celery.worker.strategy",
    "celery.worker.request",
    "celery.bootsteps",
    "uvicorn.access",
    "multipart",
    "asyncio",
)
"""Libraries that log URLs (with the address the SSRF guard connected to, which no
redaction list knows), hosts, task arguments and results, or request paths with
tokens at INFO or DEBUG. They log at WARNING and above only, whatever the level."""


def setup(level: str, fmt: str = "text", stream: TextIO | None = None) -> None:
    """Send every log record (ours, Celery's, uvicorn's) through one redacting handler;
    the :data:`QUIET_LOGGERS` pass only warnings and errors."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
