"""E-mail alerts and digests over SMTP (plain, STARTTLS or implicit TLS), text + HTML.

Headers are built only from values made header-safe here (one line, bounded;
the e-mail policy folds long ones). The Message-ID is the delivery id, so a
resend after a crash is recognisably the same message. With a public URL and
a secret key configured, every message carries RFC 8058 one-click
List-Unsubscribe headers.
"""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.headerregistry import Address, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.policy import default as default_policy
from email.utils import format_datetime, parseaddr
from urllib.parse import quote

import dkim
from email_validator import EmailNotValidError, validate_email

from worker.core.clock import utcnow
from worker.core.errors import DeliveryError
from worker.core.types import Alert, ChannelTest, Digest, Message, OperatorNotice
from worker.notify import render
from worker.notify.base import Recipient
from worker.security.pgp import encrypt_mail
from worker.settings import DkimSettings, Settings, SmtpSettings

_DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


class _VerbatimHeader(UnstructuredHeader, BaseHeader):
    """An ASCII header written as given, never folded into RFC 2047 encoded words.

    The e-mail policy encodes a token longer than a line (a long URL), which
    mail clients then no longer read as a List-Unsubscribe URL (RFC 2369/8058).
    """

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii() or len(value) > 900:
            return super().fold(policy=policy)
        return f"{self.name}: {value}{policy.linesep}"


class _SubjectHeader(UnstructuredHeader, BaseHeader):
    """A subject that reads back exactly as it was written.

    CPython's folder moves a value that fits on a line, but not beside its name,
    onto a continuation line (parsers read the fold's blank into the subject),
    and encodes each non-ASCII word on its own, so the blank between two such
    words is lost when they are decoded (RFC 2047 6.2). ASCII is folded by the
    policy without the first break; other text is encoded as a whole.
    """

    def fold(self, *, policy: Policy) -> str:
        value = str(self)
        if not value.isascii():
            encoded = Header(value, "utf-8", header_name=self.name).encode(linesep=policy.linesep)
            return f"{self.name}: {encoded}{policy.linesep}"
        folded = super().fold(policy=policy)
        return folded.replace(f"{self.name}:{policy.linesep} ", f"{self.name}: ", 1)


_registry = HeaderRegistry()
_registry.map_to_type("list-unsubscribe", _VerbatimHeader)
_registry.map_to_type("subject", _SubjectHeader)
POLICY = default_policy.clone(header_factory=_registry)
"""The default policy, with List-Unsubscribe sent verbatim and Subject never starting blank."""


def smtp_address(address: str) -> str:
    """The address as SMTP carries it: a non-ASCII domain in its IDNA (``xn--``) form.

    A non-ASCII local part stays (it needs a server offering SMTPUTF8).
    """
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    try:
        return f"{local}@{validate_email(address, check_deliverability=False).ascii_domain}"
    except EmailNotValidError:
        return address


def unsubscribe_url(public_url: str | None, recipient: Recipient) -> str | None:
    if not public_url or not recipient.unsubscribe_token:
        return None
    return f"{public_url}/unsubscribe/{recipient.unsubscribe_token}"


def manage_url(public_url: str | None, recipient: Recipient) -> str | None:
    """The API subscriber's page to change or pause the subscription."""
    if not public_url or not recipient.manage_token:
        return None
    return f"{public_url}/manage/{recipient.manage_token}"


def build_message(
    message: Message, recipient: Recipient, sender: str, public_url: str | None = None
) -> EmailMessage:
    """The MIME message for one outbox message of any kind."""
    mail = EmailMessage(policy=POLICY)
    mail["Subject"] = render.subject(message)
    mail["From"] = sender
    to = smtp_address(recipient.address)
    # Address() refuses a non-ASCII local part; the policy still refuses CR/LF in the text.
    mail["To"] = to if not to.isascii() else Address(addr_spec=to)
    mail["Date"] = format_datetime(utcnow())
    sender_address = parseaddr(sender)[1] or "rightswatch@localhost"
    domain = sender_address.rsplit("@", 1)[-1] or "rightswatch.local"
    mail["Message-ID"] = f"<{message.delivery_id}@{domain}>"
    about_matches = isinstance(message, Alert | Digest)
    if isinstance(message, Alert):
        list_id = message.watchlist_id
        mail["List-Id"] = f"rightswatch alerts for {list_id} <{list_id}.rightswatch>"
    elif isinstance(message, Digest):
        mail["List-Id"] = f"rightswatch {message.frequency} digest <digest.rightswatch>"
    elif isinstance(message, OperatorNotice) and message.feed_id is not None:
        mail["X-Rightswatch-Feed"] = message.feed_id
    elif isinstance(message, ChannelTest):
        mail["X-Rightswatch-Test"] = "yes"
    url = unsubscribe_url(public_url, recipient) if about_matches else None
    if url is not None:
        token = quote(recipient.unsubscribe_token or "")
        mailto = f"mailto:{sender_address}?subject=unsubscribe%20{token}"
        mail["List-Unsubscribe"] = f"<{url}>, <{mailto}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["X-Rightswatch-Delivery"] = message.delivery_id
    mail["Auto-Submitted"] = "auto-generated"
    manage = manage_url(public_url, recipient) if about_matches else None
    phrase = recipient.security_phrase
    mail.set_content(render.text_body(message, url, manage, phrase))
    html = render.html_body(message, url, manage, phrase)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    if recipient.pgp_key:
        return encrypt_mail(mail, recipient.pgp_key)
    return mail


def dkim_signed(mail: EmailMessage, dkim_settings: DkimSettings) -> bytes:
    """The message as sent, with a DKIM-Signature (relaxed/relaxed) in front."""
    data = mail.as_bytes(policy=SMTP)
    try:
        signature = dkim.sign(
            data,
            dkim_settings.selector.encode(),
            dkim_settings.domain.encode(),
            dkim_settings.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h.encode() for h in _DKIM_HEADERS if mail[h] is not None],
        )
    except dkim.DKIMException as e:
        raise DeliveryError(f"DKIM signing failed: {e}", retryable=False) from e
    return bytes(signature) + data


class EmailNotifier:
    def __init__(self, settings: Settings) -> None:
        self._smtp = settings.smtp
        self._sender = settings.smtp_from
        self._public_url = settings.public_url
        self._timeout = 30.0
        self._dkim = settings.dkim

    def send(self, message: Message, recipient: Recipient) -> None:
        if self._smtp is None:
            raise DeliveryError(
                f"e-mail {recipient.role} but RIGHTSWATCH_SMTP_URL is not set", retryable=True
            )
        mail = build_message(message, recipient, self._sender, self._public_url)
        self._send_mail(self._smtp, mail)

    def _send_mail(self, smtp: SmtpSettings, mail: EmailMessage) -> None:
        """Hand one message to the SMTP server; DeliveryError says whether to retry."""
        try:
            with self._connect(smtp) as client:
                if self._dkim is None:
                    client.send_message(mail)
                else:
                    sender = parseaddr(str(mail["From"]))[1]
                    recipients = [parseaddr(str(mail["To"]))[1]]
                    options = _utf8_options(client, [sender, *recipients])
                    client.sendmail(sender, recipients, dkim_signed(mail, self._dkim), options)
        except smtplib.SMTPNotSupportedError as e:
            raise DeliveryError(
                "the address has non-ASCII characters before the @ and the SMTP server "
                "does not offer SMTPUTF8, so it cannot be delivered",
                retryable=False,
            ) from e
        except smtplib.SMTPRecipientsRefused as e:
            replies = list(e.recipients.values())
            reply = "; ".join(f"{c} {m.decode(errors='replace')}" for c, m in replies)
            raise DeliveryError(
                f"SMTP refused the recipient: {reply}",
                retryable=all(400 <= c < 500 for c, _ in replies),
                status=replies[0][0] if replies else None,
            ) from e
        except smtplib.SMTPResponseException as e:
            reply = (
                e.smtp_error.decode(errors="replace")
                if isinstance(e.smtp_error, bytes)
                else str(e.smtp_error)
            )
            raise DeliveryError(
                f"SMTP {e.smtp_code} {reply}",
                retryable=400 <= e.smtp_code < 500,
                status=e.smtp_code,
            ) from e
        except (TimeoutError, smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP connection failed: {type(e).__name__}: {e}") from e

    def check_server(self) -> str:
        """Connect, EHLO, STARTTLS and log in as a send would, then quit without sending;
        what was done. For ``check-config --online``."""
        if self._smtp is None:
            raise DeliveryError("RIGHTSWATCH_SMTP_URL is not set")
        smtp = self._smtp
        try:
            with self._connect(smtp) as client:
                client.ehlo_or_helo_if_needed()
                client.noop()
        except smtplib.SMTPResponseException as e:
            reply = (
                e.smtp_error.decode(errors="replace")
                if isinstance(e.smtp_error, bytes)
                else str(e.smtp_error)
            )
            raise DeliveryError(f"SMTP {e.smtp_code} {reply}", status=e.smtp_code) from e
        except (TimeoutError, smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP connection failed: {type(e).__name__}: {e}") from e
        steps = ["EHLO", {"tls": "TLS", "starttls": "STARTTLS"}.get(smtp.security, "")]
        steps.append("AUTH" if smtp.username and smtp.password else "")
        return ", ".join(step for step in steps if step)

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


def _utf8_options(client: smtplib.SMTP, addresses: list[str]) -> list[str]:
    """``SMTPUTF8`` for non-ASCII addresses (as ``send_message`` does), if the server offers it."""
    if all(address.isascii() for address in addresses):
        return []
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("smtputf8"):
        raise smtplib.SMTPNotSupportedError("the server does not offer SMTPUTF8")
    client.command_encoding = "utf-8"
    return ["SMTPUTF8", "BODY=8BITMIME"]
