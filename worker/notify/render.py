"""Every outbox message → subject, text, HTML and JSON payload (Jinja2, autoescaped).

One place renders every kind (alerts, digests, confirmations, verification
pings, operator notices), so every channel shows the same message the same way.
Entry text reaches the templates as plain text (markup was stripped when the
entry was normalised) and the HTML templates escape it again, so nothing from a
feed is ever interpreted as HTML. Subjects are flattened to one bounded line.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment

from worker import i18n
from worker.core.errors import DeliveryError
from worker.core.types import (
    Alert,
    ChannelTest,
    Confirmation,
    Digest,
    Message,
    Notification,
    OperatorNotice,
    VerificationPing,
)

PAYLOAD_VERSION = 1
_SUBJECT_MAX = 150
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def one_line(text: str, limit: int = _SUBJECT_MAX) -> str:
    """Collapse control characters (CR, LF, …) so text is safe in a header."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _names(alert: Alert) -> list[str]:
    return list(dict.fromkeys(t.term for t in alert.terms))


def subject(message: Message) -> str:
    if isinstance(message, Confirmation):
        return "[rightswatch] " + i18n.gettext_for(message.language)("Confirm your subscription")
    if isinstance(message, VerificationPing):
        return "[rightswatch] Webhook verification"
    if isinstance(message, OperatorNotice):
        return one_line(message.subject)
    if isinstance(message, ChannelTest):
        return "[rightswatch] TEST alert: nobody was named"
    if isinstance(message, Digest):
        names = ", ".join(dict.fromkeys(n for a in message.alerts for n in _names(a)))
        name = digest_name(message.frequency, message.language)
        count = matches_count(len(message.alerts), message.language)
        return one_line(f"[rightswatch] {name}, {count}: {names}")
    names = ", ".join(_names(message))
    return one_line(f"[rightswatch] {names}: {message.entry_title or message.feed_title}")


def safe_link(link: str | None) -> str | None:
    """Only http(s) links reach an alert: no javascript:, data: or file: URLs."""
    if link and urlsplit(link).scheme.lower() in ("http", "https"):
        return one_line(link, limit=2000)
    return None


def _format_time(value: datetime | None, tz: str = "UTC", language: str = "en") -> str | None:
    """English: 2026-11-15 08:00 UTC; other languages name the month in their own words."""
    if value is None:
        return None
    local = value.astimezone(ZoneInfo(tz))
    day = local.strftime("%Y-%m-%d") if language == "en" else format_date(local, "long", language)
    return f"{day}{' ' if language == 'en' else ', '}{local:%H:%M} {tz}"


def digest_name(frequency: str, language: str) -> str:
    """The digest's name ("daily digest") in ``language``."""
    _ = i18n.gettext_for(language)
    names = {
        "hourly": _("hourly digest"),
        "daily": _("daily digest"),
        "weekly": _("weekly digest"),
    }
    return names.get(frequency, frequency)


def matches_count(count: int, language: str) -> str:
    """How many matches ("5 matches") in ``language``, with its plural forms."""
    ngettext = i18n.translations(language).ngettext
    return ngettext("%(num)d match", "%(num)d matches", count) % {"num": count}


def _alert_context(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert,
        "names": _names(alert),
        "surface_forms": list(dict.fromkeys(t.text for t in alert.terms)),
        "published": _format_time(alert.entry_published, language=alert.language),
        "link": safe_link(alert.entry_link),
    }


def _context(
    message: Notification,
    unsubscribe_url: str | None,
    manage_url: str | None,
    security_phrase: str | None = None,
) -> dict[str, Any]:
    if isinstance(message, Alert):
        return {
            **_alert_context(message),
            "unsubscribe_url": unsubscribe_url,
            "manage_url": manage_url,
            "security_phrase": security_phrase,
        }
    groups: dict[str, list[dict[str, Any]]] = {}
    for alert in message.alerts:
        groups.setdefault(alert.watchlist_title, []).append(_alert_context(alert))
    return {
        "digest": message,
        "groups": groups,
        "name": digest_name(message.frequency, message.language),
        "count": matches_count(len(message.alerts), message.language),
        "since": _format_time(message.period_start, message.timezone, message.language),
        "until": _format_time(message.period_end, message.timezone, message.language),
        "unsubscribe_url": unsubscribe_url,
        "manage_url": manage_url,
        "security_phrase": security_phrase,
    }


def _notification(
    message: Notification,
    suffix: str,
    unsubscribe_url: str | None,
    manage_url: str | None,
    security_phrase: str | None,
) -> str:
    """An alert or digest in the subscriber's language (the entry's text as it came)."""
    name = ("digest" if isinstance(message, Digest) else "alert") + suffix
    context = _context(message, unsubscribe_url, manage_url, security_phrase)
    return _templates(message.language).get_template(name).render(context)


def _templates(language: str) -> Environment:
    return i18n.environment("worker.notify", "templates", language, keep_trailing_newline=True)


def frequency_label(frequency: str, language: str) -> str:
    """How often, in words of ``language`` (the same words as the subscribe form)."""
    _ = i18n.gettext_for(language)
    labels = {
        "immediate": _("each alert as it comes"),
        "hourly": _("an hourly digest"),
        "daily": _("a daily digest"),
        "weekly": _("a weekly digest"),
    }
    return labels.get(frequency, frequency)


def _confirmation_context(message: Confirmation) -> dict[str, Any]:
    return {
        "message": message,
        "frequency": frequency_label(message.frequency, message.language),
        "expires": _format_time(message.expires_at, language=message.language),
    }


def _confirmation(message: Confirmation, suffix: str) -> str:
    template = _templates(message.language).get_template("confirm" + suffix)
    return template.render(_confirmation_context(message))


def text_body(
    message: Message,
    unsubscribe_url: str | None = None,
    manage_url: str | None = None,
    security_phrase: str | None = None,
) -> str:
    """``security_phrase``: the subscriber's own, printed first (a lure cannot know it)."""
    if isinstance(message, Confirmation):
        return _confirmation(message, ".txt")
    if isinstance(message, OperatorNotice):
        return message.body
    if isinstance(message, VerificationPing):
        return f"Verification of a rightswatch webhook subscription: {message.subscription_id}\n"
    if isinstance(message, ChannelTest):
        return _test_text(message, security_phrase)
    return _notification(message, ".txt", unsubscribe_url, manage_url, security_phrase)


def html_body(
    message: Message,
    unsubscribe_url: str | None = None,
    manage_url: str | None = None,
    security_phrase: str | None = None,
) -> str | None:
    """The HTML alternative, for the kinds that have one (operator notices are plain text)."""
    if isinstance(message, Confirmation):
        return _confirmation(message, ".html")
    if isinstance(message, OperatorNotice | VerificationPing | ChannelTest):
        return None
    return _notification(message, ".html", unsubscribe_url, manage_url, security_phrase)


def _test_text(message: ChannelTest, security_phrase: str | None) -> str:
    phrase = f"Your security phrase: {security_phrase}\n\n" if security_phrase else ""
    return (
        f"{phrase}THIS IS A TEST ALERT. Nobody was named; no action is needed.\n\n"
        f"It was sent by `rightswatch test-alert {message.recipient_id}` at "
        f"{_format_time(message.sent_at)} to check that alerts reach you by {message.channel}. "
        "Real alerts will come the same way.\n"
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _match_data(alert: Alert) -> dict[str, Any]:
    return {
        "match_id": alert.match_id,
        "watchlist": {"id": alert.watchlist_id, "title": alert.watchlist_title},
        "entry": {
            "title": alert.entry_title,
            "link": safe_link(alert.entry_link),
            "published": _iso(alert.entry_published),
            "feed": {"id": alert.feed_id, "title": alert.feed_title},
        },
        "terms": [
            {"kind": t.kind, "term": t.term, "text": t.text, "field": t.field, "variant": t.variant}
            for t in alert.terms
        ],
        "snippet": alert.snippet,
        "also_reported_by": list(alert.also_reported_by),
        "matched_at": alert.matched_at.isoformat(),
    }


def payload(message: Message, timestamp: datetime) -> dict[str, Any]:
    """The webhook body (Standard Webhooks envelope: type, timestamp, data), schema version 1.

    Links are http(s) only, as in e-mail: a receiver may render them as clickable.
    """
    return {
        "type": _payload_type(message),
        "version": PAYLOAD_VERSION,
        "timestamp": timestamp.isoformat(),
        "data": _payload_data(message),
    }


def _payload_type(message: Message) -> str:
    if isinstance(message, Alert):
        return "match.created"
    if isinstance(message, Digest):
        return "digest.created"
    if isinstance(message, VerificationPing):
        return "subscription.verification"
    if isinstance(message, OperatorNotice):
        return "feed.health" if message.feed_id is not None else "config.health"
    if isinstance(message, ChannelTest):
        return "test.alert"
    raise DeliveryError("a confirmation is sent by e-mail only", retryable=False)


def _payload_data(message: Message) -> dict[str, Any]:
    if isinstance(message, Alert):
        return {
            "delivery_id": message.delivery_id,
            "language": message.language,
            **_match_data(message),
        }
    if isinstance(message, VerificationPing):
        return {
            "subscription_id": message.subscription_id,
            "challenge": message.challenge,
            "watchlists": list(message.watchlists),
        }
    if isinstance(message, ChannelTest):
        return {
            "id": message.delivery_id,
            "test": True,
            "recipient": message.recipient_id,
            "text": _test_text(message, None),
        }
    if isinstance(message, OperatorNotice):
        return {
            "id": message.delivery_id,
            "event": message.event,
            "subject": message.subject,
            "text": message.body,
            **message.details,
        }
    assert isinstance(message, Digest)
    return {
        "delivery_id": message.delivery_id,
        "language": message.language,
        "frequency": message.frequency,
        "period": {
            "start": message.period_start.isoformat(),
            "end": message.period_end.isoformat(),
            "timezone": message.timezone,
        },
        "matches": [_match_data(a) for a in message.alerts],
    }
