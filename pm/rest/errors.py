"""Domain error codes -> HTTP status and the JSON error body, in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pm.errors import InternalError, PmError, RateLimited, Unavailable

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "VALIDATION_ERROR": 422,
    "NOT_FOUND": 404,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "CONFLICT": 409,
    "DELETE_BLOCKED": 409,
    "CYCLE_DETECTED": 409,
    "RATE_LIMITED": 429,
    "PAYLOAD_TOO_LARGE": 413,
    "INVALID_MESSAGE": 400,
    "RESYNC_REQUIRED": 410,
    "UNAVAILABLE": 503,
    "INTERNAL": 500,
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(exc: PmError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited | Unavailable):
        headers["Retry-After"] = str(max(1, -(-exc.retry_after_ms // 1000)))
    if exc.code == "UNAUTHENTICATED":
        headers["WWW-Authenticate"] = "Bearer"
    body = error_body(exc.code, exc.message, exc.field)
    body["error"].update(exc.details())  # type: ignore[attr-defined]
    return JSONResponse(body, status_code=STATUS_BY_CODE[exc.code], headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PmError)
        return error_response(exc)

    async def on_invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        field = str(first.get("loc", ["", ""])[-1]) if first else None
        message = f"{field}: {first.get('msg', 'invalid')}" if first else "invalid request"
        return JSONResponse(error_body("VALIDATION_ERROR", message, field), status_code=422)

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        code = {404: "NOT_FOUND", 405: "INVALID_MESSAGE", 401: "UNAUTHENTICATED"}.get(
            exc.status_code, "INVALID_MESSAGE" if exc.status_code < 500 else "INTERNAL"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return error_response(InternalError())

    app.add_exception_handler(PmError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
