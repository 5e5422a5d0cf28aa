"""Tenant ids reach the disk only through here, after the check on the raw claim."""

from __future__ import annotations

import re
from pathlib import Path

from pm.errors import Unauthenticated

# ASCII only (re.ASCII: no unicode look-alikes); fullmatch, so no trailing newline slips by.
TENANT_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}", re.ASCII)


class InvalidTenantId(Unauthenticated):
    """The claim is not a tenant id; refused before any path is built."""

    def __init__(self) -> None:
        super().__init__("tenant_id must match ^[a-z0-9][a-z0-9_-]{0,62}$", field="tenant_id")


def validate_tenant_id(raw: object) -> str:
    """Return the id unchanged if it is a valid tenant id, else raise ``InvalidTenantId``."""
    if not isinstance(raw, str) or TENANT_ID_PATTERN.fullmatch(raw) is None:
        raise InvalidTenantId()
    return raw


def tenant_dir(tenants_root: Path, tenant_id: str) -> Path:
    """The folder of one tenant; the id is checked again so no caller can skip the check."""
    return tenants_root / validate_tenant_id(tenant_id)


def tenant_db_path(tenants_root: Path, tenant_id: str) -> Path:
    return tenant_dir(tenants_root, tenant_id) / "main.db"


def tenant_ids_on_disk(tenants_root: Path) -> list[str]:
    """Tenant folders with a database file, sorted, skipping anything that is not an id. Reads
    the folder alone (``pm tenants list`` opens no database and loads no SQLAlchemy)."""
    if not tenants_root.is_dir():
        return []
    found = []
    for entry in sorted(tenants_root.iterdir()):
        if TENANT_ID_PATTERN.fullmatch(entry.name) is not None and (entry / "main.db").is_file():
            found.append(entry.name)
    return found
