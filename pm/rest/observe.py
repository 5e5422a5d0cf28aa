"""What the operator sees of each HTTP request, in one place: the request id, a span, the
request counter and latency histogram, and one JSON log line.

A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware
runs the endpoint in another task and buffers through a memory stream, which costs a visible
share of a fast route's time. Labels are the route template (``/api/v1/work-items/{work_item_id}``,
never the raw path), the method and the status, so their number stays bounded.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pm.observability import metrics
from pm.observability.logging import bind_request
from pm.observability.tracing import Tracing, request_attributes

log = logging.getLogger("pm.http")
REQUEST_ID_HEADER = "x-request-id"
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "unmatched"


def request_id(scope: Scope) -> str:
    """The client's ``X-Request-Id`` when it is a sane token, else a fresh UUID."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.fullmatch(candidate):
                return candidate
            break
    return str(uuid.uuid4())


def message_id_of(scope: Scope) -> str:
    """The request id ``ObserveRequests`` gave this request (the idempotency message id of
    anything it runs, and the ``X-Request-Id`` of its answer)."""
    message_id = scope["state"]["message_id"]
    assert isinstance(message_id, str)
    return message_id


class ObserveRequests:
    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.app(scope, receive, self._flush_traces_on_shutdown(send))
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        message_id = request_id(scope)
        scope.setdefault("state", {})["message_id"] = message_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, message_id)
            await send(message)

        with (
            bind_request(message_id=message_id, method=scope["method"]) as fields,
            self.tracing.span(scope["method"]) as span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", UNMATCHED)
                operation = getattr(route, "name", UNMATCHED)
                seconds = time.perf_counter() - started
                self._record(scope["method"], template, status, seconds)
                fields.update(operation=operation, route=template, status=status)
                if span is not None:
                    span.update_name(f"{scope['method']} {template}")
                    span.set_attributes(self._span_attributes(fields, template, status))
                log.info("http request", extra={"duration_ms": round(seconds * 1000, 3)})

    @staticmethod
    def _record(method: str, template: str, status: int, seconds: float) -> None:
        code = str(status)
        metrics.HTTP_REQUESTS.labels(method, template, code).inc()
        metrics.HTTP_SECONDS.labels(method, template, code).observe(seconds)

    @staticmethod
    def _span_attributes(fields: dict[str, Any], template: str, status: int) -> dict[str, Any]:
        attributes: dict[str, Any] = request_attributes(
            tenant_id=fields.get("tenant"),
            user_id=fields.get("user"),
            message_id=fields.get("message_id"),
            operation=fields.get("operation"),
        )
        attributes.update({"http.route": template, "http.response.status_code": status})
        return attributes

    def _flush_traces_on_shutdown(self, send: Send) -> Send:
        """The app's lifespan belongs to pm.app; the exporter is flushed as it completes."""

        async def send_after_flush(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                self.tracing.shutdown()
            await send(message)

        return send_after_flush
