"""Fixtures for service tests: a ServiceRunner over real tenant files in a temp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pm.bus.memory import MemoryBus
from pm.domain.events import Event
from pm.services.llm_context import seed_llm_context
from pm.services.runner import ServiceRunner
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    mgr = TenantConnectionManager(
        TenancyConfig(tenants_root=tmp_path / "tenants"), on_create=seed_llm_context
    )
    yield mgr
    mgr.close()


@pytest.fixture
def published() -> list[tuple[str, Event]]:
    return []


@pytest.fixture
async def runner(
    manager: TenantConnectionManager, published: list[tuple[str, Event]]
) -> AsyncIterator[ServiceRunner]:
    bus = MemoryBus()
    bus.subscribe(lambda tenant, event: published.append((tenant, event)))
    yield ServiceRunner(manager, bus)
