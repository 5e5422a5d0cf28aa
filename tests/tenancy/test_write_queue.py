"""The tenant's write queue: a write that can't start in time is withdrawn with UNAVAILABLE and
never runs; a caller that goes away withdraws its write; a write that started runs to its end."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlmodel import Session

from pm.errors import Unavailable
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager

TIMEOUT = 0.3


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    mgr = TenantConnectionManager(
        TenancyConfig(tenants_root=tmp_path / "tenants", write_timeout_seconds=TIMEOUT)
    )
    yield mgr
    mgr.close()


def _note(name: str) -> Callable[[Session], str]:
    def write(session: Session) -> str:
        conn = session.connection()
        conn.execute(text("CREATE TABLE IF NOT EXISTS notes (name TEXT)"))
        conn.execute(text("INSERT INTO notes VALUES (:name)"), {"name": name})
        return name

    return write


class Holder:
    """A write that holds the tenant's writer until the test releases it, so what waits behind
    it waits for as long as the test says, however loaded the machine is."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, session: Session) -> str:
        _note(self.name)(session)
        self.started.set()
        self.release.wait(timeout=60)
        return self.name

    async def wait_started(self) -> None:
        await asyncio.to_thread(self.started.wait, 60)


def _notes(session: Session) -> list[str]:
    return [row[0] for row in session.connection().execute(text("SELECT name FROM notes"))]


def _timeouts() -> float:
    return REGISTRY.get_sample_value("pm_db_write_timeouts_total") or 0.0


async def test_a_write_that_cannot_start_in_time_is_refused_and_never_runs(
    manager: TenantConnectionManager,
) -> None:
    before = _timeouts()
    holder = Holder("slow")
    slow = asyncio.create_task(manager.write("acme", holder))
    await holder.wait_started()
    with pytest.raises(Unavailable):
        await manager.write("acme", _note("late"))
    holder.release.set()
    assert await slow == "slow"  # it started before its wait ran out: it ran to its end
    assert await manager.read("acme", _notes) == ["slow"]
    assert _timeouts() == before + 1


async def test_a_cancelled_waiter_withdraws_its_write(manager: TenantConnectionManager) -> None:
    holder = Holder("slow")
    slow = asyncio.create_task(manager.write("acme", holder))
    await holder.wait_started()
    gone = asyncio.create_task(manager.write("acme", _note("gone")))
    for _ in range(20):  # event-loop steps, not time: it reaches the queue behind the holder
        await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    holder.release.set()
    await slow
    assert await manager.write("acme", _note("after")) == "after"
    assert await manager.read("acme", _notes) == ["slow", "after"]


async def test_queued_writes_run_one_at_a_time_in_arrival_order(
    manager: TenantConnectionManager,
) -> None:
    names = [f"w{n:03d}" for n in range(200)]
    done = await asyncio.gather(*(manager.write("acme", _note(n)) for n in names))
    assert done == names
    assert await manager.read("acme", _notes) == names
