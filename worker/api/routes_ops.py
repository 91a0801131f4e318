"""Health, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from worker.api.deps import RESPONSES, State, problem
from worker.api.schemas import CheckOut, HealthOut, ReadyOut
from worker.readiness import check
from worker.security.tokens import bearer_matches

router = APIRouter(tags=["operations"], responses=RESPONSES)


@router.get("/healthz")
def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok")


@router.get("/readyz", responses={503: {"model": ReadyOut, "description": "Not ready"}})
def readyz(state: State) -> JSONResponse:
    """The database and the broker (if any) answer, and the configuration file is valid."""
    results = check(state.settings, state.runtime.config_invalid)
    ready = all(r.ok for r in results)
    body = ReadyOut(
        status="ok" if ready else "unavailable",
        checks=[CheckOut(component=r.component, ok=r.ok, detail=r.detail) for r in results],
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "Metrics"},
        401: problem("RIGHTSWATCH_API_TOKEN is set and was not sent as a bearer token"),
    },
)
async def prometheus(request: Request, state: State) -> Response:
    """Prometheus metrics; with RIGHTSWATCH_API_TOKEN set, only for that bearer token."""
    token = state.settings.api_token
    if token and not bearer_matches(token, request.headers.get("authorization")):
        raise HTTPException(401, "metrics need the operator token", {"WWW-Authenticate": "Bearer"})
    body = await run_in_threadpool(generate_latest, state.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
