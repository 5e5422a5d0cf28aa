"""One JSON line per log event, with tenant, user, message id and operation when known.

The request fields come from two places: ``extra={...}`` on the call, or the fields a door bound
for the request it is serving (``bind_request``), which every line logged while serving that
request inherits, however deep in the service layer it is written. Binding uses a ContextVar, so
concurrent requests on one event loop never see each other's fields.

Anything shaped like a JWT is masked in the finished line, whichever field it reached, so a
token can't be logged even by accident: by its structure (base64url segments joined by dots, a
header segment at least as long as the shortest JSON header encodes to), not by a prefix: a
header written with a space or its keys in another order does not start ``eyJ``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

CONTEXT_FIELDS = (
    "tenant",
    "user",
    "message_id",
    "operation",
    "method",
    "route",
    "status",
    "code",
    "duration_ms",
)
# header . payload . signature (JWS compact; a JWE's five segments are caught by their first
# three). `{"alg":"none"}`, the shortest header, is 19 base64url characters.
_JWT = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_bound: ContextVar[dict[str, Any] | None] = ContextVar("pm_log_fields", default=None)


def redact(text: str) -> str:
    return _JWT.sub("[redacted-token]", text)


@contextmanager
def bind_request(**fields: Any) -> Iterator[dict[str, Any]]:
    """Fields every log line of the enclosed code carries; the returned dict may be filled in
    later (the user is known only once the token is verified)."""
    bound = {**(_bound.get() or {}), **fields}
    token = _bound.set(bound)
    try:
        yield bound
    finally:
        _bound.reset(token)


def update_bound(**fields: Any) -> None:
    """Add fields to the current request's binding, if there is one."""
    bound = _bound.get()
    if bound is not None:
        bound.update(fields)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        bound = _bound.get() or {}
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = bound.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, default=str))


def configure_logging(level: str = "info", stream: Any = None) -> None:
    """Route the root logger (and uvicorn's) to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
