"""The ASGI app of a pm process, with what its doors share as typed attributes.

Starlette hands a route ``request.app`` untyped; ``pm_app`` turns it back into this class (or
fails loudly), so a door reads ``pm_app(request.app).components`` and mypy follows every use.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from pm.doorkit.limits import UserRateLimiter
from pm.wiring import Components


class PmApp(FastAPI):
    def __init__(self, components: Components, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.components = components
        settings = components.settings
        # MCP is refused by REST's window (PM_REST_RATE_LIMIT), the request/response doors' one.
        self.user_limiter = UserRateLimiter(
            {
                "ws": settings.ws_rate_limit,
                "rest": settings.rest_rate_limit,
                "mcp": settings.rest_rate_limit,
            }
        )


def pm_app(app: object) -> PmApp:
    if not isinstance(app, PmApp):
        raise TypeError(f"expected the pm app, got {type(app).__name__}")
    return app
