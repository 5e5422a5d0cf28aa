"""Operator work on whole tenant files, for ``pm tenants``: list, create, migrate, check, back
up, count, restore, delete, export and import, move out of this node, and look at a tenant's
webhooks.

The command-line door calls these; the files, their migrations and their copies are the tenancy
layer's, so this module only puts the operator's requests into its terms. Whatever reaches a
running server (a restore's or a delete's eviction) is the door's to deliver: it passes
``evict``, which asks every running pm process on the data folder to close a tenant.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pm.repositories import Repositories
from pm.services.webhooks import WebhookView, webhook_rows_of
from pm.tenancy.backup import PAGES_PER_STEP, BackupRefused, BackupResult, backup_tenant
from pm.tenancy.dump import DumpRefused, DumpResult, export_tenant, export_to_file, import_tenant
from pm.tenancy.files import CheckResult, check_file
from pm.tenancy.ids import tenant_db_path, tenant_dir
from pm.tenancy.lifecycle import DeleteRefused, DeleteResult, delete_tenant, is_deleted
from pm.tenancy.manager import TenantConnectionManager
from pm.tenancy.moves import MoveRefused, fence, in_service
from pm.tenancy.restore import RestoreRefused, RestoreResult, restore_tenant
from pm.tenancy.stats import TenantStats, collect_stats

__all__ = [
    "PAGES_PER_STEP",
    "BackupOutcome",
    "BackupRefused",
    "BackupResult",
    "CheckResult",
    "DeleteRefused",
    "DeleteResult",
    "DumpRefused",
    "DumpResult",
    "MigrationOutcome",
    "MoveRefused",
    "RestoreRefused",
    "RestoreResult",
    "TenantAdmin",
    "TenantStats",
]

Evict = Callable[[str], int]  # (tenant id) -> how many running processes closed it


@dataclass(frozen=True)
class MigrationOutcome:
    tenant_id: str
    outcome: str  # "at head", "upgraded" or "failed"
    reason: str | None = None  # why it failed


@dataclass(frozen=True)
class BackupOutcome:
    tenant_id: str
    result: BackupResult | None
    reason: str | None = None  # why it failed


class TenantAdmin:
    """The tenants under one data folder; ``close`` when done."""

    def __init__(self, tenants: TenantConnectionManager, deleted_root: Path) -> None:
        self._tenants = tenants
        self._root = tenants.config.tenants_root
        self._deleted_root = deleted_root

    def close(self) -> None:
        self._tenants.close()

    @property
    def _busy_ms(self) -> int:
        return self._tenants.config.pragmas.busy_timeout_ms

    def tenant_ids(self) -> list[str]:
        return self._tenants.list_tenant_ids()

    def create(self, tenant_id: str) -> str:
        """Create and migrate a tenant: "created", or "exists", or "deleted" (a tombstone
        keeps it refused: ``restore`` brings a deleted tenant back). A bad id is refused."""
        if self._tenants.tenant_exists(tenant_id):
            return "exists"
        if is_deleted(tenant_dir(self._root, tenant_id)):
            return "deleted"
        self._tenants.open_sync(tenant_id, create=True)
        self._tenants.close_idle(now=float("inf"))  # a bulk create keeps no file open
        return "created"

    def migrate(self, tenant_id: str) -> MigrationOutcome:
        """Check one tenant file's pages (``quick_check``), bring it to head and close it again;
        a broken file is reported, not raised, so a loop over every tenant goes on past it."""
        path = tenant_db_path(self._root, tenant_id)
        checked = check_file(path, self._tenants.migrator.knows, thorough=False)
        if checked.problem is not None:
            return MigrationOutcome(tenant_id, "failed", checked.problem)
        try:
            tenant = self._tenants.open_sync(tenant_id, create=False)
        except Exception as exc:
            first_line = (str(exc).splitlines() or [""])[0]
            return MigrationOutcome(tenant_id, "failed", f"{type(exc).__name__}: {first_line}")
        finally:
            self._tenants.close_idle(now=float("inf"))
        return MigrationOutcome(tenant_id, "upgraded" if tenant.kind == "migrated" else "at head")

    def check(self, tenant_id: str) -> CheckResult:
        """Integrity, revision and state of one tenant file, read-only (safe while serving)."""
        path = tenant_db_path(self._root, tenant_id)
        if not path.is_file():
            return CheckResult(None, 0, "missing: no database file")
        return check_file(path, self._tenants.migrator.knows, thorough=True)

    def backup(
        self, tenant_id: str, dest: Path, *, force: bool, pages_per_step: int
    ) -> BackupResult:
        """A consistent copy of a tenant file, safe while the server writes it."""
        return backup_tenant(
            self._root, tenant_id, dest, force=force, pages_per_step=pages_per_step
        )

    def backup_all(self, folder: Path, *, pages_per_step: int) -> Iterable[BackupOutcome]:
        """Every tenant into ``folder`` (``<id>-<UTC time>.db`` each); one that fails is
        reported and the others are still backed up."""
        if not folder.is_dir():
            raise BackupRefused(f"folder {folder} does not exist")
        for tenant_id in self.tenant_ids():
            try:
                result = self.backup(tenant_id, folder, force=False, pages_per_step=pages_per_step)
            except BackupRefused as exc:
                yield BackupOutcome(tenant_id, None, str(exc))
            else:
                yield BackupOutcome(tenant_id, result)

    def webhooks(self, tenant_id: str) -> list[WebhookView]:
        """A tenant's webhooks as its admins see them (never their secrets); the tenant must
        exist (nothing is created)."""
        tenant = self._tenants.open_sync(tenant_id, create=False)
        return tenant.read_sync(lambda session: webhook_rows_of(Repositories(session)))

    def stats(self) -> list[TenantStats]:
        """Every tenant's figures, read without writing or creating anything."""
        return collect_stats(self._root, self.tenant_ids())

    def restore(self, tenant_id: str, copy: Path, evict: Evict) -> RestoreResult:
        """Put a copy (a backup, or a move's copy) in the tenant's place, live or not."""
        return restore_tenant(
            self._root,
            tenant_id,
            copy,
            migrator=self._tenants.migrator,
            pragmas=self._tenants.config.pragmas,
            evict=evict,
            now_ms=int(time.time() * 1000),
        )

    def delete(self, tenant_id: str, *, purge: bool, evict: Evict) -> DeleteResult:
        """Soft by default: a checked copy is kept in the deleted folder."""

        def copy_out(tid: str, dest: Path) -> Path:
            result = backup_tenant(self._root, tid, dest, force=False)
            return result.path

        return delete_tenant(
            self._root,
            tenant_id,
            deleted_root=self._deleted_root,
            purge=purge,
            busy_timeout_ms=self._busy_ms,
            evict=evict,
            copy_out=copy_out,
        )

    def export(self, tenant_id: str, dest: Path | IO[str]) -> DumpResult:
        """Every entity as NDJSON, into a new file or a stream (standard output)."""
        migrator = self._tenants.migrator
        if isinstance(dest, Path):
            return export_to_file(self._root, tenant_id, dest, migrator)
        return export_tenant(self._root, tenant_id, dest, migrator)

    def import_dump(self, tenant_id: str, source: IO[str]) -> DumpResult:
        """A new tenant from a dump made by ``export``."""
        return import_tenant(
            self._root,
            tenant_id,
            source,
            migrator=self._tenants.migrator,
            pragmas=self._tenants.config.pragmas,
            now_ms=int(time.time() * 1000),
        )

    def move_out(self, tenant_id: str, to_node: str, dest: Path) -> BackupResult:
        """Fence the tenant here (no write lands after this) and copy it to ``dest`` for
        ``to_node``; if the copy fails the fence is lifted and the tenant stays here."""
        placement = self._tenants.config.placement
        if to_node not in placement.nodes:
            raise MoveRefused(f"{to_node} is not a node of PM_NODES ({', '.join(placement.nodes)})")
        if to_node == placement.node_id:
            raise MoveRefused(f"tenant {tenant_id} is already on {to_node}")
        source = fence(self._root, tenant_id, busy_timeout_ms=self._busy_ms)
        try:
            result = self.backup(tenant_id, dest, force=False, pages_per_step=PAGES_PER_STEP)
            in_service(result.path, busy_timeout_ms=self._busy_ms)  # the history goes on from it
        except BaseException:
            in_service(source, busy_timeout_ms=self._busy_ms)
            raise
        return result
