from __future__ import annotations

from pathlib import Path

import pytest

from pm.errors import Unauthenticated
from pm.tenancy.ids import tenant_db_path, validate_tenant_id
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

HOSTILE_IDS = [
    "",
    "..",
    "../etc",
    "a/b",
    "a\\b",
    "acme\x00",
    "\x00",
    "Acme",
    "ACME",
    "acme\n",
    "acme\r\n",
    " acme",
    "-acme",
    "_acme",
    "\u0430cme",  # Cyrillic a
    "\uff41\uff43\uff4d\uff45",  # fullwidth acme
    "acme.db",
    "a" * 64,
    "a" * 200,
    "acme;rm",
    "%2e%2e",
]


@pytest.mark.parametrize("tenant_id", ["a", "acme", "acme-2", "a_b", "0", "a" * 63])
def test_valid_ids_are_accepted(tenant_id: str) -> None:
    assert validate_tenant_id(tenant_id) == tenant_id


@pytest.mark.parametrize("tenant_id", HOSTILE_IDS)
def test_hostile_ids_are_refused_before_any_path(tenant_id: str, tmp_path: Path) -> None:
    with pytest.raises(Unauthenticated) as caught:
        tenant_db_path(tmp_path, tenant_id)
    assert caught.value.field == "tenant_id"


@pytest.mark.parametrize("value", [None, 7, b"acme", ["acme"]])
def test_non_string_ids_are_refused(value: object) -> None:
    with pytest.raises(Unauthenticated):
        validate_tenant_id(value)


@pytest.mark.parametrize("tenant_id", HOSTILE_IDS)
async def test_manager_refuses_hostile_ids_without_touching_disk(
    tenant_id: str, tmp_path: Path
) -> None:
    root = tmp_path / "tenants"
    manager = TenantConnectionManager(TenancyConfig(tenants_root=root))
    try:
        with pytest.raises(Unauthenticated):
            await manager.get(tenant_id)
        with pytest.raises(Unauthenticated):
            manager.open_sync(tenant_id)
    finally:
        manager.close()
    assert not root.exists()
    assert list(tmp_path.iterdir()) == []
