"""Request and response bodies of the API (pydantic; they make the OpenAPI document).

Requests are strict: unknown keys, wrong types and values out of range are
422 errors that name the field; nothing is coerced silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from worker.core.digest import Frequency, parse_deliver_at, zone

WatchlistId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
]
SubscriptionStatus = Literal["pending", "active", "paused", "disabled"]
Language = Literal["en", "ru", "ky"]
MAX_WATCHLISTS = 50
MAX_PHRASE = 200


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


def _valid_email(value: str) -> str:
    """A deliverable address: one with non-ASCII characters before the @ needs SMTPUTF8
    at every hop, which most mail servers lack, so it is refused now rather than
    accepted and then never delivered. Non-ASCII domains are fine (sent as IDNA)."""
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as e:
        raise ValueError(f"not a valid e-mail address: {e}") from e
    if not checked.local_part.isascii():
        raise ValueError(
            "e-mail addresses with non-ASCII characters before the @ are not supported "
            "(most mail servers cannot deliver to them); use an ASCII address"
        )
    return str(checked.normalized)


def _webhook_url(value: str) -> str:
    """http(s) with a host; where it points is checked separately (after DNS)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as e:
        raise ValueError(f"not a valid URL: {e}") from e
    if parts.scheme not in ("http", "https"):
        raise ValueError("the webhook URL must start with https:// or http://")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("the webhook URL contains white space or control characters")
    if parts.username or parts.password:
        raise ValueError("the webhook URL must not contain a user name or password")
    return value


def _deliver_at(value: str) -> str:
    parse_deliver_at(value)
    return value.strip()


def _timezone(value: str) -> str:
    zone(value)
    return value


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("a watch list is given twice")
    return values


class SubscriptionCreate(_Request):
    """Exactly one of ``email`` or ``webhook``, and the public watch lists to follow."""

    email: str | None = Field(
        default=None,
        max_length=254,
        examples=["desk@example.org"],
        json_schema_extra={"format": "email"},
    )
    webhook: str | None = Field(
        default=None,
        max_length=2000,
        examples=["https://cases.example.org/hooks/rightswatch"],
        json_schema_extra={"format": "uri"},
    )
    watchlists: list[WatchlistId] = Field(min_length=1, max_length=MAX_WATCHLISTS)
    frequency: Frequency = "immediate"
    deliver_at: str = Field(default="08:00", max_length=20, description='"08:00" or "mon 08:00"')
    timezone: str = Field(default="UTC", max_length=64, description="IANA name, e.g. Europe/Berlin")
    language: Language = Field(default="en", description="Of the e-mails and pages: en, ru, ky")
    security_phrase: str | None = Field(
        default=None,
        max_length=MAX_PHRASE,
        description="Printed at the top of every alert, so a lure that lacks it stands out",
    )

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None else _valid_email(value)

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else _webhook_url(value)

    @field_validator("watchlists")
    @classmethod
    def _watchlists(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("deliver_at")
    @classmethod
    def _deliver_at(cls, value: str) -> str:
        return _deliver_at(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _timezone(value)

    @model_validator(mode="after")
    def _one_channel(self) -> SubscriptionCreate:
        if (self.email is None) == (self.webhook is None):
            raise ValueError("give exactly one of email or webhook")
        return self


class SubscriptionUpdate(_Request):
    """Only the keys given change."""

    watchlists: list[WatchlistId] | None = Field(
        default=None, min_length=1, max_length=MAX_WATCHLISTS
    )
    frequency: Frequency | None = None
    deliver_at: str | None = Field(default=None, max_length=20)
    timezone: str | None = Field(default=None, max_length=64)
    paused: bool | None = Field(default=None, description="true stops alerts until false")
    language: Language | None = None
    security_phrase: str | None = Field(
        default=None, max_length=MAX_PHRASE, description='"" removes it'
    )

    @field_validator("watchlists")
    @classmethod
    def _watchlists(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _unique(value)

    @field_validator("deliver_at")
    @classmethod
    def _deliver_at(cls, value: str | None) -> str | None:
        return None if value is None else _deliver_at(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else _timezone(value)


class ConfirmationRequest(_Request):
    email: str = Field(max_length=254, json_schema_extra={"format": "email"})

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return _valid_email(value)


# --- responses ---------------------------------------------------------------------------


class Problem(BaseModel):
    detail: str


class FieldProblem(BaseModel):
    field: str
    """Where: ``body.email``, ``query.limit``, ``path.subscription_id``…"""
    message: str


class ValidationProblem(BaseModel):
    detail: str
    errors: list[FieldProblem]


class Accepted(BaseModel):
    status: Literal["pending_confirmation"]
    detail: str


class WatchlistOut(BaseModel):
    id: str
    title: str
    description: str | None
    people: list[str] | None = Field(
        description="Names of the people watched, only where the operator publishes them"
    )


class WatchlistList(BaseModel):
    watchlists: list[WatchlistOut]


class SubscriptionOut(BaseModel):
    id: str
    channel: Literal["email", "webhook"]
    address: str
    status: SubscriptionStatus
    watchlists: list[str]
    frequency: Frequency
    deliver_at: str
    timezone: str
    created_at: datetime
    confirmed_at: datetime | None


class WebhookCreated(SubscriptionOut):
    secret: str = Field(description="The whsec_ signing secret: shown this once only")
    management_token: str = Field(description="Bearer token for /subscriptions/{id}")


class HealthOut(BaseModel):
    status: Literal["ok"]


class CheckOut(BaseModel):
    component: str
    ok: bool
    detail: str


class ReadyOut(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: list[CheckOut]


class OperatorSubscriber(BaseModel):
    id: str
    channel: str
    address: str
    managed_by: Literal["config", "api"]
    status: str
    """pending, active, paused, disabled or unsubscribed."""
    watchlists: list[str]
    frequency: str
    deliver_at: str
    timezone: str
    created_at: datetime
    confirmed_at: datetime | None
    deliveries: dict[str, int]
    """Number of deliveries by status."""


class OperatorSubscriberList(BaseModel):
    subscribers: list[OperatorSubscriber]
    total: int


class OperatorDelivery(BaseModel):
    id: str
    subscriber_id: str
    kind: str
    status: str
    attempts: int
    match_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_status: int | None
    last_error: str | None


class OperatorDeliveryList(BaseModel):
    deliveries: list[OperatorDelivery]
    counts: dict[str, int]
