"""Which tenants a data folder holds, read from the folder alone: no database is opened and no
database library is loaded, so ``pm tenants list`` starts about as fast as ``pm --help``."""

from __future__ import annotations

from pathlib import Path

from pm.tenancy.ids import tenant_ids_on_disk


def tenants_in(data_dir: Path) -> list[str]:
    """The tenant ids under ``data_dir``, sorted (a folder that is no id, or has no database,
    is not a tenant)."""
    return tenant_ids_on_disk(data_dir / "tenants")
