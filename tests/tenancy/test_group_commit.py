"""Group commit: writes queued behind a busy writer share one transaction, a savepoint each. One
that fails is rolled back alone and answered alone with its error; the others commit and are
answered, each only once its transaction is durable (a separate connection already sees it)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlmodel import Session

from pm.tenancy.ids import tenant_db_path
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from tests.tenancy.test_write_queue import Holder, _note, _notes

WRITES = 6
FAILING = 3


class Refused(Exception):
    pass


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[TenantConnectionManager]:
    mgr = TenantConnectionManager(TenancyConfig(tenants_root=tmp_path / "tenants"))
    yield mgr
    mgr.close()


def _note_then_fail(name: str) -> Callable[[Session], str]:
    def write(session: Session) -> str:
        _note(name)(session)
        raise Refused(name)

    return write


def _batches() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("pm_db_write_batch_size_count") or 0.0
    total = REGISTRY.get_sample_value("pm_db_write_batch_size_sum") or 0.0
    return count, total


def _committed(path: Path) -> set[str]:
    """What another connection sees: committed rows only."""
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM notes")}


async def test_a_failing_write_is_rolled_back_alone_and_none_is_answered_before_commit(
    manager: TenantConnectionManager,
) -> None:
    holder = Holder("first")
    held = asyncio.create_task(manager.write("acme", holder))
    await holder.wait_started()
    path = tenant_db_path(manager.config.tenants_root, "acme")
    names = [f"w{n}" for n in range(WRITES)]
    seen_at_answer: dict[str, set[str]] = {}

    async def write(name: str) -> str:
        fn = _note_then_fail(name) if name == names[FAILING] else _note(name)
        try:
            return await manager.write("acme", fn)
        finally:
            seen_at_answer[name] = await asyncio.to_thread(_committed, path)

    before = _batches()
    writes = [asyncio.create_task(write(name)) for name in names]
    for _ in range(20):  # event-loop steps, not time: every write reaches the queue
        await asyncio.sleep(0)
    holder.release.set()
    assert await held == "first"
    results = await asyncio.gather(*writes, return_exceptions=True)

    ok = [name for name in names if name != names[FAILING]]
    assert [r for r in results if not isinstance(r, BaseException)] == ok
    failure = results[FAILING]
    assert isinstance(failure, Refused) and str(failure) == names[FAILING]
    assert await manager.read("acme", _notes) == ["first", *ok]
    for name in ok:  # answered only once a separate connection could see it
        assert name in seen_at_answer[name]
    count, total = _batches()
    assert (count - before[0], total - before[1]) == (1, WRITES)  # the six shared one commit
