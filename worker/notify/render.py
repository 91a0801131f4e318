"""Alert → subject, text, HTML and JSON payload (Jinja2 with autoescaping)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from worker.types import Alert

PAYLOAD_VERSION = 1
_SUBJECT_MAX = 150
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")

_env = Environment(
    loader=PackageLoader("worker.notify", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def one_line(text: str, limit: int = _SUBJECT_MAX) -> str:
    """Collapse control characters (CR, LF, …) so text is safe in a header."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def subject(alert: Alert) -> str:
    names = ", ".join(dict.fromkeys(t.term for t in alert.terms))
    return one_line(f"[rightswatch] {names}: {alert.entry_title or alert.feed_title}")


def _context(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert,
        "names": list(dict.fromkeys(t.term for t in alert.terms)),
        "surface_forms": list(dict.fromkeys(t.text for t in alert.terms)),
        "published": _format_time(alert.entry_published),
        "link": safe_link(alert.entry_link),
    }


def safe_link(link: str | None) -> str | None:
    """Only http(s) links reach an alert: no javascript:, data: or file: URLs."""
    if link and urlsplit(link).scheme.lower() in ("http", "https"):
        return one_line(link, limit=2000)
    return None


def _format_time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


def text_body(alert: Alert) -> str:
    return _env.get_template("alert.txt").render(_context(alert))


def html_body(alert: Alert) -> str:
    return _env.get_template("alert.html").render(_context(alert))


def payload(alert: Alert, timestamp: datetime) -> dict[str, Any]:
    """The webhook body (Standard Webhooks envelope: type, timestamp, data)."""
    return {
        "type": "match.created",
        "version": PAYLOAD_VERSION,
        "timestamp": timestamp.isoformat(),
        "data": {
            "delivery_id": alert.delivery_id,
            "match_id": alert.match_id,
            "watchlist": {"id": alert.watchlist_id, "title": alert.watchlist_title},
            "entry": {
                "title": alert.entry_title,
                "link": alert.entry_link,
                "published": alert.entry_published.isoformat() if alert.entry_published else None,
                "feed": {"id": alert.feed_id, "title": alert.feed_title},
            },
            "terms": [
                {
                    "kind": t.kind,
                    "term": t.term,
                    "text": t.text,
                    "field": t.field,
                    "variant": t.variant,
                }
                for t in alert.terms
            ],
            "snippet": alert.snippet,
            "also_reported_by": list(alert.also_reported_by),
            "matched_at": alert.matched_at.isoformat(),
        },
    }
