"""The FastAPI app over the components (pm.wiring): the doors, the operations endpoints, and a
lifespan that starts the components and stops them last.

    components (pm.wiring) -> doors (/ws, /api/v1, /mcp, /metrics, the webhook deliverer),
                              the board (/), /health, /live, /ready, and the operator's
                              control socket (pm.control)

The lifespan starts the components, then the MCP door's session manager and the webhook
deliverer (background tasks both), and stops them in the reverse order.

Shutdown belongs to the server (pm.server): it drains the doors through ``Lifecycle`` while the
sockets are still open; the lifespan's end runs once the server has closed every connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pm.board import install_api_docs, install_board
from pm.control import ControlServer
from pm.doorkit.asgi import PmApp
from pm.doorkit.tenant_route import TenantRoute
from pm.mcp import install_mcp
from pm.rest import install_rest
from pm.webhooks import install_webhooks
from pm.wiring import Components
from pm.ws import install_ws

API_DESCRIPTION = """\
The read API of **pm**, a multi-tenant agile board: projects, epics, stories and tasks, sprints,
comments, time, dependencies, swim lanes, members and the activity log of one tenant.

**Authentication.** Every call carries `Authorization: Bearer <JWT>`. The tenant comes from the
token's `tenant_id` claim and the user from `sub`; a JWT `roles` claim with `admin` sees every
project of its tenant, anyone else the projects they are a member of.

**Where to start.** `GET /api/v1/llm/context` explains the data and its rules;
`GET /api/v1/projects` lists your projects; `GET /api/v1/projects/{id}/context` (add
`?format=markdown` for a prompt) gives one project whole.

**Following changes.** `GET /api/v1/changes?since_seq=` lists every committed change after a
seq, typed by `payload_name`. Poll again from `as_of_seq`. `410 RESYNC_REQUIRED` means the seq
you hold is not this tenant's history (past retention, or the tenant was restored from a
backup): load the project again and poll from its `as_of_seq`.

**Errors** are `{"error": {"code", "message", "field"}}` with a code of the error table
(`docs/errors.md` in the repository): `UNAVAILABLE` (503) and `RATE_LIMITED` (429) carry
`Retry-After`; nothing ever carries a stack trace.

Live collaboration is a WebSocket (`GET /ws`, protobuf or JSON frames of `pm.proto`), described
in `docs/protocol.md`.
"""


def create_app(components: Components) -> PmApp:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await components.start()
        control = ControlServer(components)
        await control.start()
        try:
            async with mcp.running(), deliverer.running():
                yield
        finally:
            await control.stop()
            await components.stop()

    docs = components.settings.api_docs  # off: no /docs, /openapi.json
    app = PmApp(
        components,
        openapi_url="/openapi.json" if docs else None,
        title="pm",
        version="0.1.0",
        summary="Agile project board: live WebSocket collaboration and a read API for LLM agents.",
        description=API_DESCRIPTION,
        docs_url=None,  # pm.board serves /docs from its own files: no CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    _operations_routes(app, components)
    install_rest(app, components)
    install_ws(app, components)
    mcp = install_mcp(app, components)
    deliverer = install_webhooks(components)
    install_board(app)
    if docs:
        install_api_docs(app)
    app.add_middleware(TenantRoute)  # outermost: /t/<tenant>/... is served as /...
    return app


def _operations_routes(app: FastAPI, components: Components) -> None:
    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/live", include_in_schema=False)
    async def live() -> dict[str, object]:
        """The event loop is responsive: a scheduling round trip, measured."""
        started = time.perf_counter()
        await asyncio.sleep(0)
        return {"status": "ok", "loop_lag_ms": round((time.perf_counter() - started) * 1000, 3)}

    @app.get("/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        """Can open a tenant database and write; not ready while draining. A bus that can't
        reach Redis leaves the process ready (commits go on; taking every node out of rotation
        for it would turn a degraded service into none) and says "degraded"."""
        if components.lifecycle.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            await components.services.check_writable()
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        if not components.bus.connected:
            return JSONResponse({"status": "degraded", "bus": "unreachable"})
        return JSONResponse({"status": "ready", "bus": "ok"})
