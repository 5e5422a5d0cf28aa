"""The REST door: /api/v1 for LLM agents and scripts, plus /metrics for operators (behind a
token when ``PM_METRICS_TOKEN`` is set).

``install_rest`` is the one call pm.app makes: error mapping, the request observer (request id,
span, metrics, log line) and the routes. Routes take what they need as typed dependencies
(pm.rest.deps), never from an untyped ``app.state``.
"""

from __future__ import annotations

import hmac

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pm.doorkit.asgi import pm_app
from pm.errors import Unauthenticated
from pm.observability import metrics
from pm.rest.errors import install_error_handlers
from pm.rest.observe import ObserveRequests
from pm.rest.routes import router
from pm.wiring import Components


def install_rest(app: FastAPI, components: Components) -> None:
    install_error_handlers(app)
    app.add_middleware(ObserveRequests, tracing=components.tracing)
    app.include_router(router)
    app.add_api_route("/metrics", prometheus_metrics, include_in_schema=False)


async def prometheus_metrics(request: Request) -> Response:
    """Prometheus exposition of every metric of the process (pm.observability.metrics); with
    ``PM_METRICS_TOKEN`` set, only to ``Authorization: Bearer <that token>`` (Prometheus'
    ``authorization`` scrape setting)."""
    expected = pm_app(request.app).components.settings.metrics_token
    if expected is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise Unauthenticated("/metrics needs the metrics token")
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
