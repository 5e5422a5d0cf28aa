"""``Tenant.read_here``: a read on the event loop over a bare sqlite3 connection (no ORM
session), one snapshot per call, read-only, and usable again after a read that raised."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from pm.repositories import Repositories
from pm.repositories.base import NeedsSession
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

TENANT = "loop-reads"


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    mgr = TenantConnectionManager(TenancyConfig(tenants_root=tmp_path / "tenants"))
    yield mgr
    mgr.close()


def _add_user(session: Session) -> None:
    session.connection().execute(
        text("INSERT INTO users (id, name, created_at, last_seen_at) VALUES ('u1', 'Ann', 0, 0)")
    )


def _user_names(db: sqlite3.Connection) -> list[str]:
    assert isinstance(db, sqlite3.Connection)
    assert db.in_transaction  # one snapshot for the whole read
    return [row[0] for row in db.execute("SELECT name FROM users")]


async def test_read_here_sees_committed_writes_on_a_bare_connection(
    manager: TenantConnectionManager,
) -> None:
    await manager.write(TENANT, _add_user)
    assert await manager.read_here(TENANT, _user_names) == ["Ann"]


async def test_read_here_refuses_writes_and_recovers_after_a_failed_read(
    manager: TenantConnectionManager,
) -> None:
    def write(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM users")

    await manager.write(TENANT, _add_user)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await manager.read_here(TENANT, write)
    assert await manager.read_here(TENANT, _user_names) == ["Ann"]  # transaction ended, data kept


async def test_repositories_on_a_bare_connection_run_plain_sql_and_refuse_the_orm(
    manager: TenantConnectionManager,
) -> None:
    await manager.write(TENANT, _add_user)

    def read(db: sqlite3.Connection) -> list[str]:
        repos = Repositories(db)
        assert repos.items.live_project_ids() == [row.id for row in repos.items.rows_of([])]
        with pytest.raises(NeedsSession):
            repos.users.get("u1")
        return repos.members.project_ids_of("u1")

    assert await manager.read_here(TENANT, read) == []
