"""E-mail alerts over SMTP (plain, STARTTLS or implicit TLS), text + HTML."""

from __future__ import annotations

import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from worker.db.models import utcnow
from worker.errors import DeliveryError
from worker.notify import render
from worker.notify.base import Recipient
from worker.settings import Settings, SmtpSettings
from worker.types import Alert


def build_message(alert: Alert, recipient: Recipient, sender: str) -> EmailMessage:
    """The MIME message; headers come only from values made header-safe here."""
    message = EmailMessage()
    message["Subject"] = render.subject(alert)
    message["From"] = sender
    message["To"] = Address(addr_spec=recipient.address)
    message["Date"] = format_datetime(utcnow())
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "rightswatch.local"
    message["Message-ID"] = f"<{alert.delivery_id}@{domain}>"
    message["List-Id"] = (
        f"rightswatch alerts for {alert.watchlist_id} <{alert.watchlist_id}.rightswatch>"
    )
    message["X-Rightswatch-Delivery"] = alert.delivery_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render.text_body(alert))
    message.add_alternative(render.html_body(alert), subtype="html")
    return message


class EmailNotifier:
    def __init__(self, settings: Settings) -> None:
        self._smtp = settings.smtp
        self._sender = settings.smtp_from
        self._timeout = 30.0

    def send(self, alert: Alert, recipient: Recipient) -> None:
        if self._smtp is None:
            raise DeliveryError(
                "e-mail subscriber but RIGHTSWATCH_SMTP_URL is not set", retryable=True
            )
        message = build_message(alert, recipient, self._sender)
        try:
            with self._connect(self._smtp) as client:
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            reply = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in e.recipients.values())
            raise DeliveryError(
                f"SMTP refused the recipient: {reply}", retryable=all(400 <= c < 500 for c in codes)
            ) from e
        except smtplib.SMTPResponseException as e:
            reply = (
                e.smtp_error.decode(errors="replace")
                if isinstance(e.smtp_error, bytes)
                else str(e.smtp_error)
            )
            raise DeliveryError(
                f"SMTP {e.smtp_code} {reply}", retryable=400 <= e.smtp_code < 500
            ) from e
        except (TimeoutError, smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP connection failed: {type(e).__name__}: {e}") from e

    def _connect(self, smtp: SmtpSettings) -> smtplib.SMTP:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=self._timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=self._timeout)
            if smtp.security == "starttls":
                client.starttls(context=context)
        if smtp.username and smtp.password:
            client.login(smtp.username, smtp.password)
        return client
