"""Operator work on whole tenant files, for ``pm tenants``: list, create, migrate, back up, count,
move out of this node and into another (pm.tenancy.moves), and look at a tenant's webhooks.

The command-line door calls these; the files, their migrations and their copies are the tenancy
layer's, so this module only puts the operator's requests into its terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pm.repositories import Repositories
from pm.services.webhooks import WebhookView, webhook_rows_of
from pm.tenancy.backup import PAGES_PER_STEP, BackupRefused, BackupResult, backup_tenant
from pm.tenancy.manager import TenantConnectionManager
from pm.tenancy.moves import MoveRefused, fence, place, unfence
from pm.tenancy.stats import TenantStats, collect_stats

__all__ = [
    "PAGES_PER_STEP",
    "BackupRefused",
    "BackupResult",
    "MigrationFailure",
    "MoveRefused",
    "TenantAdmin",
    "TenantStats",
]


@dataclass(frozen=True)
class MigrationFailure:
    tenant_id: str
    reason: str  # the exception's type and the first line of its message


class TenantAdmin:
    """The tenants under one data folder; ``close`` when done."""

    def __init__(self, tenants: TenantConnectionManager) -> None:
        self._tenants = tenants

    def close(self) -> None:
        self._tenants.close()

    def tenant_ids(self) -> list[str]:
        return self._tenants.list_tenant_ids()

    def create(self, tenant_id: str) -> bool:
        """Create and migrate a tenant; False if it already exists. A bad id is refused."""
        if self._tenants.tenant_exists(tenant_id):
            return False
        self._tenants.open_sync(tenant_id, create=True)
        return True

    def migrate(self, tenant_id: str) -> MigrationFailure | None:
        """Bring one tenant file to head and close it again; a broken file is reported, not
        raised, so a loop over every tenant goes on past it."""
        try:
            self._tenants.open_sync(tenant_id, create=False)
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            return MigrationFailure(tenant_id, f"{type(exc).__name__}: {first_line}")
        finally:
            self._tenants.close_idle(now=float("inf"))
        return None

    def backup(
        self, tenant_id: str, dest: Path, *, force: bool, pages_per_step: int
    ) -> BackupResult:
        """A consistent copy of a tenant file, safe while the server writes it."""
        return backup_tenant(
            self._tenants.config.tenants_root,
            tenant_id,
            dest,
            force=force,
            pages_per_step=pages_per_step,
        )

    def webhooks(self, tenant_id: str) -> list[WebhookView]:
        """A tenant's webhooks as its admins see them (never their secrets); the tenant must
        exist (nothing is created)."""
        tenant = self._tenants.open_sync(tenant_id, create=False)
        return tenant.read_sync(lambda session: webhook_rows_of(Repositories(session)))

    def stats(self) -> list[TenantStats]:
        """Every tenant's figures, read without writing or creating anything."""
        return collect_stats(self._tenants.config.tenants_root, self.tenant_ids())

    def move_out(self, tenant_id: str, to_node: str, dest: Path) -> BackupResult:
        """Fence the tenant here (no write lands after this) and copy it to ``dest`` for
        ``to_node``; if the copy fails the fence is lifted and the tenant stays here."""
        placement = self._tenants.config.placement
        if to_node not in placement.nodes:
            raise MoveRefused(f"{to_node} is not a node of PM_NODES ({', '.join(placement.nodes)})")
        if to_node == placement.node_id:
            raise MoveRefused(f"tenant {tenant_id} is already on {to_node}")
        busy = self._tenants.config.pragmas.busy_timeout_ms
        source = fence(self._tenants.config.tenants_root, tenant_id, busy_timeout_ms=busy)
        try:
            result = self.backup(tenant_id, dest, force=False, pages_per_step=PAGES_PER_STEP)
            unfence(result.path, busy_timeout_ms=busy)
        except BaseException:
            unfence(source, busy_timeout_ms=busy)
            raise
        return result

    def move_in(self, tenant_id: str, copy: Path) -> Path:
        """Place a copy made by ``move_out`` as this node's tenant file."""
        busy = self._tenants.config.pragmas.busy_timeout_ms
        return place(self._tenants.config.tenants_root, tenant_id, copy, busy_timeout_ms=busy)
