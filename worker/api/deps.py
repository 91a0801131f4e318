"""Request dependencies shared by the routers, and the error responses they document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.api.schemas import Problem, ValidationProblem
from worker.api.state import ApiState
from worker.security.tokens import bearer_matches

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""Subscriber ids: the YAML's ids and the API's ``sub_…``."""
TOKEN_PATTERN = r"^[A-Za-z0-9_-]+$"
"""Tokens in links: base64url."""


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


State = Annotated[ApiState, Depends(get_state)]

management_scheme = HTTPBearer(
    scheme_name="ManagementToken",
    description="The subscription's management token (from the confirmation e-mail, every "
    "alert's footer, or the webhook creation response).",
    auto_error=False,
)
operator_scheme = HTTPBearer(
    scheme_name="OperatorToken",
    description="RIGHTSWATCH_API_TOKEN from the API's environment.",
    auto_error=False,
)


def management_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(management_scheme)],
) -> str:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401,
            "send the subscription's management token as Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


ManagementToken = Annotated[str, Depends(management_token)]


def operator(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(operator_scheme)],
) -> None:
    """The operator's bearer token; without RIGHTSWATCH_API_TOKEN these endpoints are off."""
    expected = get_state(request).settings.api_token
    if expected is None:
        raise HTTPException(403, "operator endpoints are off: RIGHTSWATCH_API_TOKEN is not set")
    given = f"Bearer {credentials.credentials}" if credentials is not None else None
    if not bearer_matches(expected, given):
        raise HTTPException(
            401, "operator token missing or wrong", headers={"WWW-Authenticate": "Bearer"}
        )


def problem(description: str, **extra: Any) -> dict[str, Any]:
    return {"model": Problem, "description": description, **extra}


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}
INVALID = {"model": ValidationProblem, "description": "Invalid request (every problem, by field)"}
TOO_LARGE = problem("Request body larger than 16 KiB")
MALFORMED = problem("Body that is not UTF-8 JSON, or a malformed Content-Length")
RESPONSES: dict[int | str, dict[str, Any]] = {400: MALFORMED, 413: TOO_LARGE, 422: INVALID}
UNAUTHORIZED = problem("No or wrong token")
NOT_FOUND = problem("No such subscription, or the token does not match")
RATE_LIMITED = problem(
    "Too many requests from this address or for this destination", headers=_RETRY_AFTER
)
OFF = problem(
    "Subscriptions are not set up, or the database is not reachable", headers=_RETRY_AFTER
)
CONFLICT = problem("Not possible in the subscription's present state")


def as_json(response: dict[str, Any]) -> dict[str, Any]:
    """The same response documented as JSON, for routes whose own responses are HTML."""
    name = response["model"].__name__
    schema = {"schema": {"$ref": f"#/components/schemas/{name}"}}
    rest = {k: v for k, v in response.items() if k != "model"}
    return {**rest, "content": {"application/json": schema}}
