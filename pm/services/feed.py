"""The change feed as the bus reads it (pm.bus.base.FeedReader): the tenant's current seq, and
events after a seq, each in one read snapshot. No caller and no permission check: the bus
only fills gaps in what it delivers, and the hub delivers to subscribers of each project."""

from __future__ import annotations

from sqlmodel import Session

from pm.domain.events import Event
from pm.repositories.changes import ChangeFeedRepository
from pm.services.changes import to_event
from pm.tenancy.manager import TenantConnectionManager


class ChangeFeedReader:
    def __init__(self, tenants: TenantConnectionManager) -> None:
        self._tenants = tenants

    async def current_seq(self, tenant_id: str) -> int:
        return await self._tenants.read(
            tenant_id, lambda session: ChangeFeedRepository(session).current_seq()
        )

    async def events_after(self, tenant_id: str, seq: int, limit: int) -> list[Event]:
        def read(session: Session) -> list[Event]:
            return [to_event(row) for row in ChangeFeedRepository(session).every_after(seq, limit)]

        return await self._tenants.read(tenant_id, read)
