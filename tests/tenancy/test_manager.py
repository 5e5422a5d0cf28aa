from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from pm.errors import Unauthenticated
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager


def _manager(root: Path, **kw: object) -> TenantConnectionManager:
    return TenantConnectionManager(TenancyConfig(tenants_root=root, **kw))  # type: ignore[arg-type]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "tenants"


@pytest.fixture
def manager(root: Path) -> Iterator[TenantConnectionManager]:
    mgr = _manager(root)
    yield mgr
    mgr.close()


def _put(key: str, value: str) -> Callable[[Session], None]:
    def write(session: Session) -> None:
        session.connection().execute(
            text("INSERT INTO users (id, name, created_at, last_seen_at) VALUES (:k, :v, 0, 0)"),
            {"k": key, "v": value},
        )

    return write


def _names(session: Session) -> list[str]:
    return [
        row[0] for row in session.connection().execute(text("SELECT name FROM users ORDER BY id"))
    ]


async def test_200_concurrent_first_requests_migrate_once(
    manager: TenantConnectionManager, root: Path
) -> None:
    results = await asyncio.gather(*(manager.get("fresh") for _ in range(200)))
    assert len({id(t) for t in results}) == 1
    assert manager.migrations_run == 1
    assert [p.name for p in root.iterdir()] == ["fresh"]
    assert sorted(p.name for p in (root / "fresh").iterdir() if p.suffix == ".db") == ["main.db"]


async def test_concurrent_read_modify_write_never_sees_locked(
    manager: TenantConnectionManager,
) -> None:
    await manager.write("acme", _put("counter", "0"))

    def increment(session: Session) -> None:
        conn = session.connection()
        value = int(conn.execute(text("SELECT name FROM users WHERE id='counter'")).scalar_one())
        conn.execute(text("UPDATE users SET name=:v WHERE id='counter'"), {"v": str(value + 1)})

    results = await asyncio.gather(
        *(manager.write("acme", increment) for _ in range(50)), return_exceptions=True
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await manager.read("acme", _names) == ["50"]


async def test_at_most_max_open_tenants_stay_open(root: Path) -> None:
    manager = _manager(root, max_open_tenants=10)
    try:
        for n in range(100):
            await manager.write(f"t{n}", _put("who", f"t{n}"))
            assert manager.open_count() <= 10
        assert not manager.is_open("t0")
        assert await manager.read("t0", _names) == ["t0"]
        await manager.write("t0", _put("again", "t0-second"))
    finally:
        manager.close()
    for n in range(100):
        with sqlite3.connect(root / f"t{n}" / "main.db") as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM users ORDER BY id")]
        expected = ["t0-second", "t0"] if n == 0 else [f"t{n}"]
        assert names == expected


async def test_tenant_with_work_in_flight_is_not_evicted(root: Path) -> None:
    manager = _manager(root, max_open_tenants=1)
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(session: Session) -> str:
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
        return "done"

    try:
        busy = asyncio.create_task(manager.write("busy", slow))
        await started.wait()
        other = await manager.get("other")
        assert manager.is_open("busy")
        assert manager.is_open("other") and not other.closed
        release.set()
        assert await busy == "done"
    finally:
        manager.close()


async def test_two_tenants_never_share_data(manager: TenantConnectionManager) -> None:
    await manager.write("alpha", _put("x", "secret-of-alpha"))
    assert await manager.read("beta", _names) == []
    assert await manager.read("alpha", _names) == ["secret-of-alpha"]


async def test_unknown_tenant_refused_when_auto_provision_off(root: Path) -> None:
    manager = _manager(root, auto_provision=False)
    try:
        with pytest.raises(Unauthenticated):
            await manager.get("nobody")
    finally:
        manager.close()
    assert not (root / "nobody").exists()


async def test_idle_tenants_are_closed_and_reopen(root: Path) -> None:
    manager = _manager(root, idle_seconds=0.01)
    try:
        await manager.write("sleepy", _put("a", "b"))
        assert manager.close_idle(now=10**9) == 1
        assert not manager.is_open("sleepy")
        assert await manager.read("sleepy", _names) == ["b"]
    finally:
        manager.close()


async def test_writer_uses_wal_and_foreign_keys(manager: TenantConnectionManager) -> None:
    def pragmas(session: Session) -> tuple[str, int]:
        conn = session.connection()
        return (
            conn.execute(text("PRAGMA journal_mode")).scalar_one(),
            conn.execute(text("PRAGMA foreign_keys")).scalar_one(),
        )

    assert await manager.write("acme", pragmas) == ("wal", 1)


async def test_failed_write_rolls_back(manager: TenantConnectionManager) -> None:
    def fail(session: Session) -> None:
        _put("gone", "never")(session)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await manager.write("acme", fail)
    assert await manager.read("acme", _names) == []
