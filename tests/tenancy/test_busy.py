"""A tenant file held by another process past ``busy_timeout`` answers UNAVAILABLE (retryable)
and is counted, rather than surfacing SQLite's ``database is locked`` as an INTERNAL error.

The lock is real: a separate sqlite3 connection takes ``BEGIN EXCLUSIVE`` on the tenant file,
as a backup tool or an operator's shell would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from pm.errors import Unavailable
from pm.tenancy.database import Pragmas
from pm.tenancy.ids import tenant_db_path
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

BUSY_RETRIES = "pm_db_busy_retries_total"
TENANT = "busy-co"


def _busy_retries() -> float:
    return REGISTRY.get_sample_value(BUSY_RETRIES) or 0.0


def _add_user(user_id: str) -> Callable[[Session], None]:
    def write(session: Session) -> None:
        session.connection().execute(
            text("INSERT INTO users (id, name, created_at, last_seen_at) VALUES (:id, 'n', 0, 0)"),
            {"id": user_id},
        )

    return write


def _count_users(session: Session) -> int:
    return int(session.connection().execute(text("SELECT count(*) FROM users")).scalar_one())


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    config = TenancyConfig(tenants_root=tmp_path / "tenants", pragmas=Pragmas(busy_timeout_ms=50))
    mgr = TenantConnectionManager(config)
    yield mgr
    mgr.close()


@pytest.fixture
def outside_lock(manager: TenantConnectionManager) -> Iterator[sqlite3.Connection]:
    """A connection from outside the manager holding the tenant file's write lock."""
    manager.open_sync(TENANT)
    conn = sqlite3.connect(
        tenant_db_path(manager.config.tenants_root, TENANT), isolation_level=None
    )
    conn.execute("BEGIN EXCLUSIVE")
    yield conn
    conn.close()


async def test_a_write_blocked_past_busy_timeout_is_unavailable_and_counted(
    manager: TenantConnectionManager, outside_lock: sqlite3.Connection
) -> None:
    before = await manager.read(TENANT, _count_users)
    retries = _busy_retries()

    with pytest.raises(Unavailable) as refused:
        await manager.write(TENANT, _add_user("u1"))

    assert refused.value.code == "UNAVAILABLE" and refused.value.retry_after_ms > 0
    assert "locked" not in refused.value.message  # SQLite's words stay out of the answer
    assert _busy_retries() == retries + 1
    # WAL: readers are not blocked by the outside writer.
    assert await manager.read(TENANT, _count_users) == before

    outside_lock.execute("ROLLBACK")
    await manager.write(TENANT, _add_user("u2"))
    assert await manager.read(TENANT, _count_users) == before + 1


async def test_other_operational_errors_are_not_mistaken_for_busy(
    manager: TenantConnectionManager,
) -> None:
    def bad_sql(session: Session) -> None:
        session.connection().execute(text("SELECT * FROM no_such_table"))

    retries = _busy_retries()
    with pytest.raises(OperationalError, match="no such table"):
        await manager.write(TENANT, bad_sql)
    assert _busy_retries() == retries
