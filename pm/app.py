"""FastAPI factory and lifespan: builds every component once, tears them down in order.

settings -> TenantConnectionManager -> bus -> ServiceRunner -> TokenVerifier
         -> background tasks (idle-tenant sweeper, idempotency/feed sweeper)
         -> doors (/ws, /api/v1) and operations endpoints (/health, /live, /ready, /metrics)

Shutdown has two steps. ``drain`` runs first, from the server (pm.cli), while sockets are still
open: not ready, no new WebSocket, every open one answers its in-flight request and closes with
1012. The lifespan's end runs last, once the server has closed every connection: background
tasks, the bus, the tenant files.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlmodel import Session

from pm.auth import TokenVerifier
from pm.bus.base import Bus
from pm.bus.memory import MemoryBus
from pm.bus.redis_bus import RedisBus, RedisBusSettings
from pm.config import Settings
from pm.observability.tracing import Tracing
from pm.services.feed import ChangeFeedReader
from pm.services.llm_context import seed_llm_context
from pm.services.runner import ServiceRunner, ServiceSettings
from pm.tenancy.database import Pragmas
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

READINESS_TENANT = "pm-readiness"


@dataclass
class Components:
    """Everything the doors reach through ``app.state.pm``."""

    settings: Settings
    tenants: TenantConnectionManager
    bus: Bus
    services: ServiceRunner
    verifier: TokenVerifier
    tracing: Tracing  # one tracer provider for both doors; off unless PM_OTLP_ENDPOINT is set
    draining: bool = False


def build_components(settings: Settings) -> Components:
    tenants = TenantConnectionManager(
        TenancyConfig(
            tenants_root=settings.prepare_data_dir(),
            max_open_tenants=settings.max_open_tenants,
            idle_seconds=settings.tenant_idle_seconds,
            worker_threads=settings.worker_threads,
            readers_per_tenant=settings.readers_per_tenant,
            write_timeout_seconds=settings.write_timeout_seconds,
            auto_provision=settings.auto_provision,
            pragmas=Pragmas(settings.busy_timeout_ms, settings.synchronous),
        ),
        on_create=seed_llm_context,
    )
    bus = build_bus(settings, tenants)
    services = ServiceRunner(
        tenants,
        bus,
        ServiceSettings(
            idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
            change_retention_days=settings.change_retention_days,
            default_page_size=settings.default_page_size,
            max_page_size=settings.max_page_size,
        ),
    )
    return Components(
        settings,
        tenants,
        bus,
        services,
        TokenVerifier(settings),
        Tracing.from_endpoint(settings.otlp_endpoint),
    )


def build_bus(settings: Settings, tenants: TenantConnectionManager) -> Bus:
    """In-process unless PM_REDIS_URL names a Redis to carry events between processes."""
    if not settings.redis_url:
        return MemoryBus()
    return RedisBus(
        RedisBusSettings(
            url=settings.redis_url,
            gap_wait_seconds=settings.bus_gap_wait_seconds,
            max_held_events=settings.bus_max_held_events,
            outbox=settings.bus_outbox,
            presence_ttl_seconds=settings.presence_ttl_seconds,
            timeout_seconds=settings.bus_timeout_seconds,
        ),
        ChangeFeedReader(tenants),
    )


def create_app(settings: Settings) -> FastAPI:
    components = build_components(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await components.bus.start()
        tasks = [
            asyncio.create_task(components.tenants.run_idle_sweeper()),
            asyncio.create_task(components.services.run_sweeper()),
        ]
        try:
            yield
        finally:
            components.draining = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await components.bus.stop()
            components.tenants.close()

    app = FastAPI(
        title="pm",
        version="0.1.0",
        summary="Agile project board: live WebSocket collaboration and a read API for LLM agents.",
        lifespan=lifespan,
    )
    app.state.pm = components
    _operations_routes(app, components)
    # -- doors --------------------------------------------------------------------------
    from pm.rest import install_rest
    from pm.ws import install_ws

    install_rest(app, components)
    install_ws(app, components)
    return app


def stop_being_ready(app: FastAPI) -> None:
    """Shutdown's first step: /ready answers 503 while the server still serves everything."""
    components: Components = app.state.pm
    components.draining = True


async def drain(app: FastAPI) -> None:
    """Shutdown's second step (the caller bounds it); the lifespan can't hold it, since uvicorn
    ends the lifespan only after it has closed every connection (see pm.cli.DrainingServer)."""
    stop_being_ready(app)
    await app.state.ws.drain()


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
        if components.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        try:
            tenant = await asyncio.to_thread(
                components.tenants.open_sync, READINESS_TENANT, create=True
            )
            await tenant.write(_readiness_write)
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        if not components.bus.connected:
            return JSONResponse({"status": "degraded", "bus": "unreachable"})
        return JSONResponse({"status": "ready", "bus": "ok"})


def _readiness_write(session: Session) -> None:
    session.connection().execute(text("PRAGMA user_version = 1"))
