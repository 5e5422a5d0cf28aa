"""The REST door: /api/v1 for LLM agents and scripts, plus /metrics for operators."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Match

from pm.observability import metrics
from pm.rest.errors import install_error_handlers
from pm.rest.routes import router
from pm.rest.security import RestRateLimiter

if TYPE_CHECKING:
    from pm.app import Components


def _route_template(request: Request) -> str:
    """The matched route's path template: a bounded label, never a raw path with ids."""
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def install_rest(app: FastAPI, components: Components) -> None:
    app.state.rest_limiter = RestRateLimiter(components.settings.rest_rate_limit)
    install_error_handlers(app)
    app.include_router(router)

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        metrics.HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
