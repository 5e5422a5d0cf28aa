"""Service layer: create-work-item commands per second and their latency, against raw sqlite3
committing the same rows in the same run.

A command is ``ServiceRunner.command(ctx, work_items.create_work_item, item_type="task", ...)``
with a fresh ``message_id`` each time, so it writes what a real one does: the work item, its
activity row, its change-feed event and its idempotency record, in one ``BEGIN IMMEDIATE``
transaction on the tenant's writer, then publishes the event on the bus.

The baseline is a tight loop of raw sqlite3 transactions writing those four rows (same columns,
same JSON bodies) with the same pragmas into a file with the same schema: the limit a command
could reach if the service layer cost nothing. Raw and sequential service commands alternate in
rounds, so machine noise hits both. Target: the service layer at >= 25% of raw; below it, the
top costs of a command are profiled and printed.

Tasks go to the projects of a tenant in turn, at most ``CHILDREN_PER_PARENT`` under one: an item
appended after its last sibling gets an order key about one character longer per five siblings
(no rebalance on create), so thousands of children under one parent would measure that growth
(``key_between`` at 2,000 siblings takes ~0.3 ms, and fails near 5,000) rather than the layer.
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import itertools
import json
import pstats
import sqlite3
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.common import PROVISION_RATE, RAW_PRAGMAS, median, ms, percentile, table, temp_dir
from pm.config import Settings
from pm.domain.events import Event
from pm.services import work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.tenancy.manager import TenantConnectionManager
from pm.wiring import build_bus, build_services, build_tenants

TARGET_SHARE_OF_RAW = 0.25
CHILDREN_PER_PARENT = 200
PROFILE_ROWS = 12
IDLE_WAITS = frozenset(
    {"<method 'poll' of 'select.epoll' objects>", "<method 'get' of '_queue.SimpleQueue' objects>"}
)


@dataclass(frozen=True)
class Plan:
    sequential: int
    rounds: int
    callers: int
    per_caller: int
    warmup: int  # commands per tenant before measuring: each engine compiles its statements
    profiled: int


@dataclass(frozen=True)
class Result:
    """Latencies of every command of one run, the wall time of the whole run and the CPU
    time this process spent in it (every thread: the writers' too), which holds under the
    noise of a shared machine where rates don't."""

    name: str
    latencies: list[float]
    elapsed: float
    events: int | None = None  # published on the bus during the run; None for raw
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def plus(self, part: Result) -> Result:
        """This run extended by another round of it."""
        events = None if self.events is None else self.events + (part.events or 0)
        return Result(
            self.name,
            self.latencies + part.latencies,
            self.elapsed + part.elapsed,
            events,
            self.cpu + part.cpu,
        )

    @property
    def cpu_per_command(self) -> float:
        return self.cpu / len(self.latencies)


@dataclass
class Desk:
    """A caller's tenant, ready for commands: who asks, and the projects tasks go to in turn."""

    ctx: RequestContext
    projects: list[str]
    _turn: Iterator[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._turn = itertools.cycle(self.projects)

    def next_project(self) -> str:
        return next(self._turn)


@dataclass
class Board:
    """A runner over its own tenants folder, and the events its bus delivered."""

    manager: TenantConnectionManager
    runner: ServiceRunner
    published: list[Event]

    @classmethod
    def build(cls, data_dir: Path, worker_threads: int | None = None) -> Board:
        """As the app builds it (pm.wiring, default settings), over ``data_dir``."""
        settings = Settings(data_dir=data_dir, tenant_provision_rate=PROVISION_RATE)
        manager = build_tenants(settings, worker_threads=worker_threads)
        bus = build_bus(settings, manager)
        published: list[Event] = []
        bus.subscribe(lambda _tenant, event: published.append(event))
        return cls(manager, build_services(settings, manager, bus), published)


def run(quick: bool) -> None:
    plan = Plan(500, 2, 50, 10, 5, 100) if quick else Plan(2000, 4, 50, 40, 20, 300)
    with temp_dir() as root:
        share = _print_results(asyncio.run(_measure(root, plan)))
        if share < TARGET_SHARE_OF_RAW:
            _print_profile(asyncio.run(_profile(root / "profiled", plan)), plan.profiled)


async def _measure(root: Path, plan: Plan) -> list[Result]:
    raw_path, raw_project = await _prepare_raw_file(root / "raw")
    board = Board.build(root / "data")
    try:
        raw, sequential = await _sequential(board, raw_path, raw_project, plan)
        one_tenant = await _concurrent(board, "busy", plan, tenants=1)
        many_tenants = await _concurrent(board, "spread", plan, tenants=plan.callers)
    finally:
        board.manager.close()
    return [raw, sequential, one_tenant, many_tenants]


# -- the service side ----------------------------------------------------------------------


def _caller(tenant_id: str, user_id: str = "alice") -> RequestContext:
    return RequestContext(
        tenant_id=tenant_id, user_id=user_id, name="Alice", email=f"{user_id}@example.com"
    )


async def _project(runner: ServiceRunner, ctx: RequestContext) -> str:
    outcome = await runner.command(
        ctx, work_items.create_work_item, item_type="project", title="Bench"
    )
    return str(outcome.payload["work_item"]["id"])


async def _create_task(runner: ServiceRunner, desk: Desk) -> float:
    """One create-work-item command with a new message id; its latency."""
    ctx = replace(desk.ctx, message_id=str(uuid.uuid4()))
    parent_id = desk.next_project()
    started = time.perf_counter()
    await runner.command(
        ctx, work_items.create_work_item, item_type="task", parent_id=parent_id, title="Do it"
    )
    return time.perf_counter() - started


async def _tasks(runner: ServiceRunner, desk: Desk, n: int) -> list[float]:
    return [await _create_task(runner, desk) for _ in range(n)]


async def _ready_tenant(board: Board, tenant_id: str, plan: Plan, commands: int) -> Desk:
    """A tenant with projects enough for ``commands`` tasks, warmed up, so first-use costs
    stay out of the figures."""
    ctx = _caller(tenant_id)
    count = -(-(commands + plan.warmup) // CHILDREN_PER_PARENT)
    desk = Desk(ctx, [await _project(board.runner, ctx) for _ in range(count)])
    await _tasks(board.runner, desk, plan.warmup)
    return desk


async def _concurrent(board: Board, prefix: str, plan: Plan, *, tenants: int) -> Result:
    """``plan.callers`` callers at once, each doing ``plan.per_caller`` commands in a row,
    spread round-robin over ``tenants`` tenants."""
    per_tenant = plan.callers * plan.per_caller // tenants
    desks = [await _ready_tenant(board, f"{prefix}-{n}", plan, per_tenant) for n in range(tenants)]
    callers = [desks[n % tenants] for n in range(plan.callers)]
    events_before = len(board.published)
    started, cpu = time.perf_counter(), time.process_time()
    per_caller = await asyncio.gather(
        *(_tasks(board.runner, desk, plan.per_caller) for desk in callers)
    )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    where = "1 tenant" if tenants == 1 else f"{tenants} tenants"
    name = f"service, {plan.callers} callers, {where}"
    latencies = [t for samples in per_caller for t in samples]
    return Result(name, latencies, elapsed, len(board.published) - events_before, cpu)


# -- the raw baseline ----------------------------------------------------------------------


async def _prepare_raw_file(data_dir: Path) -> tuple[Path, str]:
    """A tenant file made by the service layer (schema, seed, user, project, membership),
    closed again, so the raw loop writes into exactly what a command would."""
    board = Board.build(data_dir)
    try:
        ctx = _caller("raw")
        project_id = await _project(board.runner, ctx)
        return board.manager.open_sync("raw").path, project_id
    finally:
        board.manager.close()


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in RAW_PRAGMAS:
        conn.execute(pragma)
    return conn


def _raw_command(conn: sqlite3.Connection, project_id: str, n: int) -> float:
    """The four rows of one create-work-item command in one transaction; its latency."""
    started = time.perf_counter()
    now = time.time_ns() // 1_000_000
    item_id, event_id, message_id = (str(uuid.uuid4()) for _ in range(3))
    position = f"{n:012d}"
    item = {
        "id": item_id,
        "item_type": "task",
        "project_id": project_id,
        "parent_id": project_id,
        "title": "Do it",
        "description": "",
        "status": "backlog",
        "priority": "medium",
        "assignee_id": None,
        "story_points": None,
        "sprint_id": None,
        "position": position,
        "version": 1,
        "is_blocked": False,
        "created_at": now,
        "created_by": "alice",
        "updated_at": now,
        "updated_by": "alice",
    }
    payload = json.dumps({"work_item": item}, separators=(",", ":"))
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO work_items (id, item_type, project_id, parent_id, title, description, "
        "status, priority, assignee_id, story_points, sprint_id, position, version, deleted_at, "
        "created_at, created_by, updated_at, updated_by, key, number) "
        "VALUES (?, 'task', ?, ?, 'Do it', '', 'backlog', 'medium', NULL, NULL, NULL, ?, 1, "
        "NULL, ?, 'alice', ?, 'alice', ?, ?)",
        (item_id, project_id, project_id, position, now, now, f"RAW-{n + 1}", n + 1),
    )
    seq = conn.execute(
        "INSERT INTO change_feed (event_id, project_id, payload_name, payload, actor_id, at) "
        "VALUES (?, ?, 'work_item_created', ?, 'alice', ?)",
        (event_id, project_id, payload, now),
    ).lastrowid
    conn.execute(
        "INSERT INTO activity_log (entity_type, entity_id, project_id, action, field_name, "
        "old_value, new_value, user_id, version, seq, at) "
        "VALUES ('work_item', ?, ?, 'created', NULL, NULL, NULL, 'alice', 1, ?, ?)",
        (item_id, project_id, seq, now),
    )
    response = {"payload_name": "work_item_created", "payload": {"work_item": item}, "seq": seq}
    conn.execute(
        "INSERT INTO idempotency_keys (user_id, message_id, operation, request_hash, response, "
        "created_at) VALUES ('alice', ?, 'create_work_item', ?, ?, ?)",
        (message_id, hashlib.sha256(payload.encode()).hexdigest(), json.dumps(response), now),
    )
    conn.execute("COMMIT")
    return time.perf_counter() - started


# -- sequential: raw and service in alternating rounds -------------------------------------


async def _sequential(
    board: Board, raw_path: Path, raw_project: str, plan: Plan
) -> tuple[Result, Result]:
    desk = await _ready_tenant(board, "solo", plan, plan.sequential)
    conn = _raw_connect(raw_path)
    try:
        for n in range(plan.warmup):
            _raw_command(conn, raw_project, n)
        raw = Result("raw sqlite3, 1 caller (baseline)", [], 0.0)
        service = Result("service, 1 caller", [], 0.0, events=0)
        per_round = plan.sequential // plan.rounds
        for round_no in range(plan.rounds):
            first = plan.warmup + round_no * per_round
            raw = raw.plus(_raw_round(conn, raw_project, range(first, first + per_round)))
            service = service.plus(await _service_round(board, desk, per_round))
    finally:
        conn.close()
    return raw, service


def _raw_round(conn: sqlite3.Connection, project_id: str, numbers: range) -> Result:
    started, cpu = time.perf_counter(), time.process_time()
    latencies = [_raw_command(conn, project_id, n) for n in numbers]
    return Result("", latencies, time.perf_counter() - started, cpu=time.process_time() - cpu)


async def _service_round(board: Board, desk: Desk, n: int) -> Result:
    events_before = len(board.published)
    started, cpu = time.perf_counter(), time.process_time()
    latencies = await _tasks(board.runner, desk, n)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Result("", latencies, elapsed, len(board.published) - events_before, cpu)


# -- report --------------------------------------------------------------------------------


def _print_results(results: Sequence[Result]) -> float:
    """Print the table; return the sequential service rate as a share of raw."""
    raw = results[0]
    print("create-work-item commands (throughput vs raw; latency and CPU per command)")
    table(
        [
            [
                r.name,
                len(r.latencies),
                "-" if r.events is None else r.events,
                f"{r.rate:,.0f}/s",
                f"{r.rate / raw.rate:.1%}",
                ms(median(r.latencies)),
                ms(percentile(r.latencies, 99)),
                ms(r.cpu_per_command),
            ]
            for r in results
        ],
        header=["run", "commands", "events", "throughput", "vs raw", "p50", "p99", "CPU/cmd"],
    )
    cpu_share = raw.cpu_per_command / results[1].cpu_per_command
    print(f"  1 caller by CPU per command (raw's / service's): {cpu_share:.1%} of raw")
    share = results[1].rate / raw.rate
    verdict = "met" if share >= TARGET_SHARE_OF_RAW else "MISSED"
    print(f"  target (1 caller >= {TARGET_SHARE_OF_RAW:.0%} of raw): {verdict} at {share:.1%}")
    return share


async def _profile(root: Path, plan: Plan) -> list[cProfile.Profile]:
    """cProfile of sequential commands: the event loop's side and the (single) worker thread's
    side, where the transaction runs."""
    board = Board.build(root, worker_threads=1)
    loop, worker = cProfile.Profile(), cProfile.Profile()
    try:
        desk = await _ready_tenant(board, "profiled", plan, plan.profiled)
        executor = board.manager.executor
        await asyncio.get_running_loop().run_in_executor(executor, worker.enable)
        loop.enable()
        await _tasks(board.runner, desk, plan.profiled)
        loop.disable()
        await asyncio.get_running_loop().run_in_executor(executor, worker.disable)
    finally:
        board.manager.close()
    return [loop, worker]


def _print_profile(profiles: list[cProfile.Profile], commands: int) -> None:
    """Top functions by own time, then pm's own functions by cumulative time, per command;
    the threads' idle waits (the loop's poll, the worker's queue) are left out."""
    stats = pstats.Stats(*profiles).stats  # type: ignore[attr-defined]
    entries = [(func, row[2], row[3]) for func, row in stats.items() if func[2] not in IDLE_WAITS]
    per_command = 1000 / commands
    print(f"cProfile of {commands} sequential commands (ms per command, profiled):")
    own = sorted(entries, key=lambda e: e[1], reverse=True)[:PROFILE_ROWS]
    table(
        [[f"{tt * per_command:.3f}", f"{ct * per_command:.3f}", _where(f)] for f, tt, ct in own],
        header=["own", "cumulative", "function (top by own time)"],
    )
    print(
        "  (socket send: the worker waking the event loop with the result, then waiting for the\n"
        "   GIL the woken loop holds; the worker's time, mostly not on the command's path)"
    )
    ours = [e for e in entries if "/pm/" in e[0][0]]
    steps = sorted(ours, key=lambda e: e[2], reverse=True)[:PROFILE_ROWS]
    table(
        [[f"{ct * per_command:.3f}", _where(f)] for f, _tt, ct in steps],
        header=["cumulative", "pm function (top by cumulative time)"],
    )


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    short = filename.split("/site-packages/")[-1].split("/work/main/")[-1]
    return f"{short}:{line}({name})"
