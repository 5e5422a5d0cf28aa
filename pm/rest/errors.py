"""Domain error codes -> the HTTP status (pm.doorkit.statuses) and the JSON error body.

Every refusal of the REST door leaves through ``error_response``: domain errors raised by the
service layer or the token check, FastAPI's parameter validation, Starlette's routing errors
(unknown path, wrong method) and anything unexpected (500 ``INTERNAL`` with a generic message;
the trace goes to the log, never to the client).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pm.doorkit.statuses import HTTP_STATUS, refusal_headers
from pm.errors import InternalError, PmError
from pm.observability import metrics
from pm.observability.logging import update_bound

log = logging.getLogger(__name__)

CODE_BY_HTTP_STATUS = {
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
}


def error_response(
    code: str,
    message: str,
    *,
    field: str | None = None,
    details: dict[str, Any] | None = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error body: ``{"error": {"code", "message", "field", ...details}}``."""
    metrics.HTTP_ERRORS.labels(code).inc()
    update_bound(code=code)
    body = {"error": {"code": code, "message": message, "field": field, **(details or {})}}
    return JSONResponse(body, status_code=status or HTTP_STATUS[code], headers=headers)


def domain_error_response(exc: PmError) -> JSONResponse:
    return error_response(
        exc.code, exc.message, field=exc.field, details=exc.details(), headers=refusal_headers(exc)
    )


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PmError)
    return domain_error_response(exc)


async def _on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if not errors:
        return error_response("VALIDATION_ERROR", "invalid request")
    first = errors[0]
    field = str(first["loc"][-1]) if first.get("loc") else None
    return error_response(
        "VALIDATION_ERROR", f"{field}: {first.get('msg', 'invalid')}", field=field
    )


async def _on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    fallback = "INVALID_MESSAGE" if exc.status_code < 500 else "INTERNAL"
    return error_response(
        CODE_BY_HTTP_STATUS.get(exc.status_code, fallback),
        str(exc.detail),
        status=exc.status_code,
        headers=exc.headers,
    )


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    internal = InternalError()
    return error_response(internal.code, internal.message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PmError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_invalid_request)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
