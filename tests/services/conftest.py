"""Fixtures for service tests: a ServiceRunner over real tenant files in a temp dir, built by
the wiring exactly as the app builds its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from pm.config import Settings
from pm.domain.events import Event
from pm.services.kernel.runner import ServiceRunner
from pm.tenancy.manager import TenantConnectionManager
from pm.wiring import build_bus, build_services, build_tenants


@pytest.fixture
def manager(settings: Settings) -> Iterator[TenantConnectionManager]:
    mgr = build_tenants(settings)
    yield mgr
    mgr.close()


@pytest.fixture
def published() -> list[tuple[str, Event]]:
    return []


@pytest.fixture
async def runner(
    settings: Settings, manager: TenantConnectionManager, published: list[tuple[str, Event]]
) -> AsyncIterator[ServiceRunner]:
    bus = build_bus(settings, manager)
    bus.subscribe(lambda tenant, event: published.append((tenant, event)))
    yield build_services(settings, manager, bus)
