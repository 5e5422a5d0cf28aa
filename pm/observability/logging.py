"""One JSON line per log event, with tenant, user, message id and operation when known.

Anything that looks like a JWT (three base64url parts starting ``eyJ``) is masked before the
line is written, so a token can't reach a log even by accident.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

CONTEXT_FIELDS = ("tenant", "user", "message_id", "operation", "route", "status", "duration_ms")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")


def redact(text: str) -> str:
    return _JWT.sub("[redacted-token]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure_logging(level: str = "info") -> None:
    """Route the root logger (and uvicorn's) to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
