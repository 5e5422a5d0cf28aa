"""A tenant whose file can't be used answers UNAVAILABLE (503, saying the tenant is unavailable,
never "internal error") on both doors, is counted by reason, and its file is left exactly as it
was: an empty, unreadable, foreign, newer or damaged file is never reinitialised or migrated into
shape. Other tenants are served meanwhile; ``pm tenants check`` and ``migrate`` name it."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from pm.config import Settings
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from tests.conftest import LiveServer

from .conftest import bearer, pm, token

PAGE = 4096


def make_tenant(data_dir: Path, tenant: str) -> Path:
    manager = TenantConnectionManager(TenancyConfig(tenants_root=data_dir / "tenants"))
    try:
        return manager.open_sync(tenant, create=True).path
    finally:
        manager.close()


def _empty(data_dir: Path) -> Path:
    path = data_dir / "tenants" / "broken" / "main.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    return path


def _unreadable(data_dir: Path) -> Path:
    path = data_dir / "tenants" / "broken" / "main.db"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all " * 500)
    return path


def _foreign(data_dir: Path) -> Path:
    path = data_dir / "tenants" / "broken" / "main.db"
    path.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE notes (body TEXT)")
        db.execute("INSERT INTO notes VALUES ('someone else''s data')")
        db.commit()
    return path


def _newer(data_dir: Path) -> Path:
    path = make_tenant(data_dir, "broken")
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
        db.commit()
    return path


def damage_table(path: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with junk: the header and the schema still read,
    any use of the table meets a malformed page."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        db.execute("PRAGMA journal_mode=DELETE")  # every page in the main file
    with path.open("r+b") as file:
        file.seek((int(root) - 1) * PAGE)
        file.write(b"\xa5" * PAGE)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # as a served tenant file is


def _damaged(data_dir: Path) -> Path:
    path = make_tenant(data_dir, "broken")
    damage_table(path, "users")
    return path


BROKEN: dict[str, Callable[[Path], Path]] = {
    "empty": _empty,
    "unreadable": _unreadable,
    "foreign": _foreign,
    "newer": _newer,
    "damaged": _damaged,
}


def _count(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def broken_tenant(request: pytest.FixtureRequest, settings: Settings) -> tuple[str, Path, bytes]:
    kind = str(request.param)
    path = BROKEN[kind](settings.data_dir)
    return kind, path, path.read_bytes()


@pytest.mark.parametrize("broken_tenant", sorted(BROKEN), indirect=True)
async def test_a_broken_tenant_is_unavailable_on_both_doors_counted_and_left_as_it_was(
    broken_tenant: tuple[str, Path, bytes], live_server: LiveServer
) -> None:
    kind, path, original = broken_tenant
    failures = _count("pm_tenant_open_failures_total", reason=kind)
    refused = _count("pm_ws_refused_total", reason="tenant")

    async with httpx.AsyncClient(base_url=live_server.http, trust_env=False) as client:
        response = await client.get("/api/v1/projects", headers=bearer("alice", "broken"))
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "UNAVAILABLE"
    assert error["message"].startswith("this tenant is unavailable")
    assert "internal" not in error["message"].lower() and str(path) not in response.text
    assert int(response.headers["retry-after"]) >= 1

    with pytest.raises(InvalidStatus) as handshake:
        offered = [Subprotocol("pm.v1.json"), Subprotocol(f"pm.bearer.{token('bob', 'broken')}")]
        async with connect(live_server.ws, subprotocols=offered):
            pass
    assert handshake.value.response.status_code == 503
    assert json.loads(handshake.value.response.body or b"{}")["error"]["code"] == "UNAVAILABLE"

    assert _count("pm_tenant_open_failures_total", reason=kind) >= failures + 2
    assert _count("pm_ws_refused_total", reason="tenant") == refused + 1
    assert path.read_bytes() == original, "the broken file was changed"
    # Another tenant is served meanwhile.
    async with httpx.AsyncClient(base_url=live_server.http, trust_env=False) as client:
        other = await client.get("/api/v1/projects", headers=bearer("carol", "acme"))
    assert other.status_code == 200


def test_check_and_migrate_name_the_broken_tenants(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert pm(data, "tenants", "create", "good").returncode == 0
    _damaged(data)
    checked = pm(data, "tenants", "check", "--all")
    assert checked.returncode == 1
    assert "good: ok" in checked.stdout
    assert "tenant broken is broken: damaged" in checked.stderr
    assert checked.stdout.strip().endswith("1 ok, 1 broken: broken")
    migrated = pm(data, "tenants", "migrate")
    assert migrated.returncode == 1
    assert "tenant broken failed to migrate: damaged" in migrated.stderr
    assert migrated.stdout.strip() == "1 at head, 0 upgraded, 1 failed"
    assert pm(data, "tenants", "check", "good").returncode == 0
