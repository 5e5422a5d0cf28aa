"""The hazards of several processes on one data directory (``pm serve --workers N``), each in
real processes on real tenant files: one new tenant opened by many at once, writes to one tenant
from several, an idempotent retry landing on another process, and the seq feed they share."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from pm.bus.memory import MemoryBus
from pm.config import load_settings
from pm.errors import PmError
from pm.services import work_items
from pm.services.kernel.runner import ServiceRunner
from pm.services.llm_context import seed_llm_context
from pm.tenancy.manager import TenancyConfig, TenantConnectionManager
from tests.conftest import TEST_SECRET
from tests.services.factories import ctx_for

SPAWN = multiprocessing.get_context("spawn")
RACERS = 6
PROBES = 300
WRITER_PROCESSES = 3
WRITES_PER_CALLER = 20
CALLERS_PER_PROCESS = 2
RESULT_TIMEOUT = 120


def _manager(root: str) -> TenantConnectionManager:
    return TenantConnectionManager(
        TenancyConfig(tenants_root=Path(root), worker_threads=2), on_create=seed_llm_context
    )


def _run_in_processes(target: Callable[..., None], count: int, *args: Any) -> list[Any]:
    """Start ``count`` spawned processes on ``target(barrier, results, index, *args)`` released
    together by a barrier; their results, one each."""
    barrier = SPAWN.Barrier(count)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=target, args=(barrier, results, index, *args))
        for index in range(count)
    ]
    for process in processes:
        process.start()
    try:
        return [results.get(timeout=RESULT_TIMEOUT) for _ in processes]
    finally:
        for process in processes:
            process.join(RESULT_TIMEOUT)
            if process.is_alive():
                process.kill()


# -- a new tenant, opened by many processes at once ------------------------------------------


def _open_new_tenant(barrier: Any, results: Any, _index: int, root: str) -> None:
    manager = _manager(root)
    try:
        barrier.wait()
        # What each worker does first at start, all at once (and again and again here, so
        # that the moments overlap): prove the data folder writable.
        settings = load_settings(data_dir=Path(root).parent, jwt_secret=TEST_SECRET)
        for _ in range(PROBES):
            settings.prepare_data_dir()
        tenant = manager.open_sync("newco", create=True)
        tenant.write_sync(lambda session: None)
        results.put(("ok", manager.migrations_run))
    except Exception as exc:
        results.put(("error", repr(exc)))
    finally:
        manager.close()


def test_processes_starting_together_and_racing_to_create_one_tenant_migrate_it_once(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tenants"
    outcomes = _run_in_processes(_open_new_tenant, RACERS, str(root))
    assert [kind for kind, _ in outcomes] == ["ok"] * RACERS, outcomes
    assert sum(migrations for _kind, migrations in outcomes) == 1
    with sqlite3.connect(root / "newco" / "main.db") as db:
        (version,) = db.execute("SELECT count(*) FROM alembic_version").fetchone()
        (seeded,) = db.execute("SELECT count(*) FROM llm_context").fetchone()
        seeded_once = db.execute(
            "SELECT count(*) FROM llm_context GROUP BY title HAVING count(*) > 1"
        ).fetchall()
    assert version == 1 and seeded > 0 and seeded_once == []


# -- writes to one tenant from several processes ----------------------------------------------


def _create_tasks(barrier: Any, results: Any, index: int, root: str, project_id: str) -> None:
    async def caller(runner: ServiceRunner, n: int) -> list[tuple[str, int]]:
        acks = []
        ctx = ctx_for(f"writer{index}", roles=("admin",))
        for i in range(WRITES_PER_CALLER):
            outcome = await runner.command(
                ctx,
                work_items.create_work_item,
                item_type="task",
                parent_id=project_id,
                title=f"p{index} c{n} #{i}",
            )
            acks.append((outcome.payload["work_item"]["id"], int(outcome.seq or 0)))
        return acks

    async def run() -> list[tuple[str, int]]:
        runner = ServiceRunner(manager, MemoryBus())
        acks = await asyncio.gather(*(caller(runner, n) for n in range(CALLERS_PER_PROCESS)))
        return [ack for caller_acks in acks for ack in caller_acks]

    manager = _manager(root)
    try:
        manager.open_sync("acme", create=True)
        barrier.wait()
        acks = asyncio.run(run())
        waits = REGISTRY.get_sample_value("pm_db_lock_wait_seconds_count") or 0
        results.put(("ok", (acks, int(waits))))
    except PmError as exc:
        results.put(("refused", exc.code))
    except Exception as exc:
        results.put(("error", repr(exc)))
    finally:
        manager.close()


async def test_writes_to_one_tenant_from_several_processes_all_land_with_gap_free_seq(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tenants"
    manager = _manager(str(root))
    runner = ServiceRunner(manager, MemoryBus())
    admin = ctx_for("owner", roles=("admin",))
    project = await runner.command(
        admin, work_items.create_work_item, item_type="project", title="Shared"
    )
    project_id = project.payload["work_item"]["id"]
    first_seq = int(project.seq or 0)
    manager.close()

    outcomes = await asyncio.to_thread(
        _run_in_processes, _create_tasks, WRITER_PROCESSES, str(root), project_id
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes  # no busy/locked reached anyone
    acks = [ack for _kind, (process_acks, _waits) in outcomes for ack in process_acks]
    # Each process measured the wait for the file's write lock on every transaction it began
    # (writes queued together share one: group commit), so at least once.
    assert all(waits >= 1 for _kind, (_process_acks, waits) in outcomes)
    expected = WRITER_PROCESSES * CALLERS_PER_PROCESS * WRITES_PER_CALLER
    assert len(acks) == expected
    with sqlite3.connect(root / "acme" / "main.db") as db:
        stored = {row[0] for row in db.execute("SELECT id FROM work_items WHERE item_type='task'")}
        feed = [row[0] for row in db.execute("SELECT seq FROM change_feed ORDER BY seq")]
        seq_by_entity = dict(
            db.execute(
                "SELECT json_extract(payload, '$.work_item.id'), seq FROM change_feed "
                "WHERE payload_name = 'work_item_created'"
            ).fetchall()
        )
    assert {item_id for item_id, _seq in acks} == stored  # no acknowledged write lost
    # Every acknowledged seq is the seq its event was stored with, each used once, and the feed
    # readers see is gap-free from the first change on, whichever process wrote it.
    assert all(seq_by_entity[item_id] == seq for item_id, seq in acks)
    assert len({seq for _item, seq in acks}) == expected
    assert feed == list(range(first_seq, first_seq + len(feed)))


# -- an idempotent retry landing on another process ------------------------------------------


def _create_with_message(
    barrier: Any, results: Any, _index: int, root: str, project_id: str, message_id: str
) -> None:
    async def run() -> tuple[str, bool, int]:
        runner = ServiceRunner(manager, MemoryBus())
        ctx = ctx_for("retrier", roles=("admin",), message_id=message_id)
        outcome = await runner.command(
            ctx, work_items.create_work_item, item_type="task", parent_id=project_id, title="Once"
        )
        return outcome.payload["work_item"]["id"], outcome.replayed, int(outcome.seq or 0)

    manager = _manager(root)
    try:
        manager.open_sync("acme", create=True)
        barrier.wait()
        results.put(("ok", asyncio.run(run())))
    except Exception as exc:
        results.put(("error", repr(exc)))
    finally:
        manager.close()


async def test_a_retried_message_id_on_other_processes_applies_once(tmp_path: Path) -> None:
    root = tmp_path / "tenants"
    manager = _manager(str(root))
    runner = ServiceRunner(manager, MemoryBus())
    project = await runner.command(
        ctx_for("retrier", roles=("admin",)),
        work_items.create_work_item,
        item_type="project",
        title="Retries",
    )
    project_id = project.payload["work_item"]["id"]
    manager.close()
    message_id = str(uuid.uuid4())

    outcomes = await asyncio.to_thread(
        _run_in_processes, _create_with_message, 3, str(root), project_id, message_id
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    answers = [answer for _kind, answer in outcomes]
    assert len({(item_id, seq) for item_id, _replayed, seq in answers}) == 1  # the same answer
    assert sorted(replayed for _id, replayed, _seq in answers) == [False, True, True]
    with sqlite3.connect(root / "acme" / "main.db") as db:
        (tasks,) = db.execute("SELECT count(*) FROM work_items WHERE title = 'Once'").fetchone()
        (events,) = db.execute(
            "SELECT count(*) FROM change_feed WHERE payload_name = 'work_item_created'"
        ).fetchone()
    assert tasks == 1 and events == 2  # the project's event and the task's, once
