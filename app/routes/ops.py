"""For operators and load balancers: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import secrets
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette import status

from accounts.users import Role
from app.deps import ServicesDep, get_signed_in
from app.errors import Forbidden, NotSignedIn
from app.guard import client_address
from app.metrics import Metrics
from app.routes._responses import refused

router = APIRouter(tags=["operations"])

_READY: dict[int | str, dict[str, Any]] = {200: {"description": "Every dependency answers"}}
_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"description": "A dependency does not answer (named in `checks`)"}
}


@router.get("/healthz")
async def health() -> dict[str, str]:
    """Liveness: the process answers (touches no lock, no database)."""
    return {"status": "ok"}


@router.get("/readyz", responses={**_READY, **_NOT_READY})
async def ready(services: ServicesDep) -> JSONResponse:
    """Readiness: the database, Redis (when configured) and the search index."""
    checks: dict[str, Any] = {}
    try:
        with anyio.fail_after(3):
            async with services.sessions() as session:
                await session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means: do not send traffic here
        checks["database"] = f"failed: {type(exc).__name__}"
    redis = getattr(services.hub, "redis", None)
    if redis is not None:
        try:
            with anyio.fail_after(3):
                await redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"failed: {type(exc).__name__}"
    # reads the retriever's published snapshot: no lock, nothing to wait for
    articles = len(services.retriever)
    checks["index"] = "ok" if articles else "empty"
    checks["articles"] = articles
    good = all(v == "ok" for k, v in checks.items() if k != "articles")
    return JSONResponse(
        {"status": "ready" if good else "not_ready", "checks": checks},
        status_code=status.HTTP_200_OK if good else status.HTTP_503_SERVICE_UNAVAILABLE,
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        **refused(
            401,
            403,
            why={
                401: "Not from an allowed address, no token, not signed in",
                403: "Signed in, but not as an administrator",
            },
        ),
    },
)
async def metrics(request: Request, services: ServicesDep) -> Response:
    """Prometheus metrics: for the allowed addresses, the metrics token, or admins."""
    settings = services.settings
    token = settings.metrics_token
    given = request.headers.get("authorization", "")
    if not (
        client_address(request) in settings.metrics_allowed_ips
        or (token and secrets.compare_digest(given.encode(), f"Bearer {token}".encode()))
    ):
        signed = await get_signed_in(request)
        if signed is None:
            raise NotSignedIn("metrics: connect from an allowed address, or send the token")
        if not signed.has_role(Role.ADMIN) or signed.user.must_change_password:
            raise Forbidden("metrics are for administrators")
    registry: Metrics = request.app.state.metrics
    return Response(await registry.render(services.sessions), media_type=CONTENT_TYPE_LATEST)
