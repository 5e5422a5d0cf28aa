"""The composition root: every component of one pm process, built once, here and nowhere else.

    settings -> tenants   TenantConnectionManager; a new tenant file is seeded with the LLM context
             -> bus       committed events and presence to subscribers: in-process, or through
                          Redis between processes and nodes (PM_REDIS_URL; it reads the change
                          feed through the tenants to order events and fill gaps)
             -> services  ServiceRunner over both, bounded by ServiceSettings
             -> verifier  TokenVerifier (JWT -> Principal), for every door
             -> tracing   one tracer provider for every door (off unless PM_OTLP_ENDPOINT is set)

The app (pm.app), every CLI command, the tests and the bench build through these functions, so a
component is configured one way. Nothing here knows FastAPI or a door: the doors take what they
need from ``Components``, and register with its ``Lifecycle`` what they must do at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pm.auth import TokenVerifier
from pm.bus.base import Bus
from pm.bus.memory import MemoryBus
from pm.bus.redis_bus import RedisBus, RedisBusSettings
from pm.config import Settings
from pm.observability import metrics
from pm.observability.operator_view import run_publisher
from pm.observability.tracing import Tracing
from pm.services.changes import subscribe_projects
from pm.services.feed import ChangeFeedReader
from pm.services.kernel.runner import ServiceRunner
from pm.services.kernel.settings import ServiceSettings
from pm.services.llm_context import seed_llm_context
from pm.services.read_models.projects import list_projects
from pm.services.tenant_admin import TenantAdmin
from pm.tenancy.census import run_census
from pm.tenancy.database import Pragmas
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from pm.tenancy.placement import Placement

DrainHook = Callable[[], Awaitable[None]]


@dataclass
class Lifecycle:
    """Shutdown as the doors see it. ``stop_being_ready`` first (``/ready`` answers 503 while
    everything is still served), then ``drain``: every door's hook, together (a WebSocket door
    answers its in-flight requests and closes its sockets with 1012)."""

    draining: bool = False
    _drains: list[DrainHook] = field(default_factory=list)

    def on_drain(self, hook: DrainHook) -> None:
        self._drains.append(hook)

    def stop_being_ready(self) -> None:
        self.draining = True

    async def drain(self) -> None:
        self.stop_being_ready()
        await asyncio.gather(*(hook() for hook in self._drains))


@dataclass
class Components:
    """What the doors are given: built by ``build_components``, started and stopped by the app."""

    settings: Settings
    tenants: TenantConnectionManager
    bus: Bus
    services: ServiceRunner
    verifier: TokenVerifier
    tracing: Tracing
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """The bus, then the background work: sweepers (idle tenants; idempotency keys and
        feed), the data folder's census for /metrics and, under workers, this worker's share
        of the per-tenant figures."""
        await self.bus.start()
        settings = self.settings
        metrics.TENANT_ACTIVITY.top = settings.metrics_top_tenants
        census = run_census(
            self.tenants.config.tenants_root,
            interval=settings.census_interval_seconds,
            top=settings.metrics_top_tenants,
            publish=metrics.TENANT_ACTIVITY.set_census,
        )
        self._tasks = [
            asyncio.create_task(self.tenants.run_idle_sweeper()),
            asyncio.create_task(self.services.run_sweeper()),
            asyncio.create_task(census),
        ]
        folder = metrics.multiprocess_dir()
        if folder is not None:
            publisher = run_publisher(
                metrics.TENANT_ACTIVITY, folder, settings.metrics_publish_seconds
            )
            self._tasks.append(asyncio.create_task(publisher))

    async def stop(self) -> None:
        """Last, once the server has closed every connection: sweepers, bus, tenant files."""
        self.lifecycle.stop_being_ready()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bus.stop()
        self.tenants.close()


def build_tenants(
    settings: Settings, *, worker_threads: int | None = None
) -> TenantConnectionManager:
    """The tenant manager as the settings describe it; a fresh tenant gets the LLM context."""
    return TenantConnectionManager(
        TenancyConfig(
            tenants_root=settings.prepare_data_dir(),
            max_open_tenants=settings.max_open_tenants,
            idle_seconds=settings.tenant_idle_seconds,
            worker_threads=worker_threads or settings.worker_threads,
            readers_per_tenant=settings.readers_per_tenant,
            write_timeout_seconds=settings.write_timeout_seconds,
            write_batch_max=settings.write_batch_max,
            auto_provision=settings.auto_provision,
            provisioning=(settings.max_tenants, settings.tenant_provision_rate),
            pragmas=Pragmas(settings.busy_timeout_ms, settings.synchronous),
            placement=Placement(settings.node_id, settings.nodes),
        ),
        on_create=seed_llm_context,
    )


def build_bus(settings: Settings, tenants: TenantConnectionManager) -> Bus:
    """The one place the bus backend is chosen: in-process unless PM_REDIS_URL names a Redis."""
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
        tenants.config.placement.pin,
    )


def service_settings(settings: Settings) -> ServiceSettings:
    return ServiceSettings(
        idempotency_ttl_seconds=settings.idempotency_ttl_seconds,
        change_retention_days=settings.change_retention_days,
        default_page_size=settings.default_page_size,
        max_page_size=settings.max_page_size,
        context_max_items=settings.context_max_items,
        context_recent_activity=settings.context_recent_activity,
        max_response_bytes=settings.max_response_bytes,
        snapshot_max_items=settings.snapshot_max_items,
        cycle_time_max_items=settings.cycle_time_max_items,
        cycle_time_max_days=settings.cycle_time_max_days,
        cycle_time_default_days=settings.cycle_time_default_days,
        states_max_per_project=settings.states_max_per_project,
        max_message_id_chars=settings.max_message_id_chars,
        dependency_walk_limit=settings.dependency_walk_limit,
        labels_max_per_project=settings.labels_max_per_project,
        labels_max_per_item=settings.labels_max_per_item,
        fields_max_per_project=settings.fields_max_per_project,
        fields_max_options=settings.fields_max_options,
        fields_max_text_chars=settings.fields_max_text_chars,
        views_max_per_user=settings.views_max_per_user,
        views_max_conditions=settings.views_max_conditions,
        tenant_max_bytes=settings.tenant_max_bytes,
        tenant_write_bytes_per_hour=settings.tenant_write_bytes_per_hour,
        webhook_allowed_networks=tuple(settings.webhook_allowed_networks),
        notifications_max_per_user=settings.notifications_max_per_user,
        notifications_max_mentions=settings.notifications_max_mentions,
        notifications_max_watchers=settings.notifications_max_watchers,
    )


# Queries of a few rows, bounded whatever the tenant holds, run on the event loop itself: the
# hand-off to a worker thread and back cost more than the read (pm.tenancy.Tenant.read_here).
SMALL_QUERIES: frozenset[Callable[..., Any]] = frozenset({list_projects, subscribe_projects})


def build_services(settings: Settings, tenants: TenantConnectionManager, bus: Bus) -> ServiceRunner:
    return ServiceRunner(tenants, bus, service_settings(settings), small_queries=SMALL_QUERIES)


def build_components(settings: Settings) -> Components:
    tenants = build_tenants(settings)
    bus = build_bus(settings, tenants)
    return Components(
        settings=settings,
        tenants=tenants,
        bus=bus,
        services=build_services(settings, tenants, bus),
        verifier=TokenVerifier(settings),
        tracing=Tracing.from_endpoint(settings.otlp_endpoint),
    )


def build_tenant_admin(settings: Settings, *, create_root: bool) -> TenantAdmin:
    """Operator commands on the tenant files, one worker thread. ``create_root`` False leaves the
    data folder as it is (list, check, backup, export and stats only read tenants; they never
    create a folder)."""
    root = settings.prepare_data_dir() if create_root else settings.data_dir / "tenants"
    manager = TenantConnectionManager(
        TenancyConfig(
            tenants_root=root,
            worker_threads=1,
            pragmas=Pragmas(settings.busy_timeout_ms, settings.synchronous),
            placement=Placement(settings.node_id, settings.nodes),
        ),
        on_create=seed_llm_context,
    )
    return TenantAdmin(manager, deleted_root=settings.data_dir / "deleted")
