"""Scale-out: what ``pm serve --workers 2`` with Redis buys over one worker, and what crossing
processes costs.

- throughput: acknowledged ``CreateWorkItem`` per second over ``/ws``, 50 sockets on 50 tenants
  (a few requests in flight on each), from outside; 1 worker, 2 workers (Redis on this machine),
  and a bare echo server on the same uvicorn options as the floor. Target: 2 workers >= 1.6x one.
- delivery: commit on worker A -> receipt by a subscriber on worker B (the event's
  ``sent_at_ms`` is its commit time), against the same delivery within one worker; one event at
  a time, the two placements taking turns.
- contention: 50 writers on ONE tenant, 2 workers against 1: every write of that tenant takes
  the file's single write lock, across processes on 2 workers (``BEGIN IMMEDIATE``, busy_timeout).

Placement: each server is the real ``pm serve`` (its workers, and redis-server, are child
processes whose CPU is read from /proc); the load generator is a process of its own, so its CPU
is not counted as the server's. Server CPU per request is printed beside every rate: on a shared
2-core machine (other work runs on it too) rates move with the load, CPU per request much less.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.common import BENCH_SECRET, PROVISION_RATE, free_port, percentile, table, temp_dir
from bench.door_server import door_server
from bench.outside import Gate, Server, pm_serve, run_load, stop, wait_for_port
from pm.auth import issue_token

JSON_PROTOCOL = "pm.v1.json"
SOCKETS = 50
IN_FLIGHT = 4  # requests each socket keeps unanswered
TARGET = 1.6
PM_ENV = {
    "PM_JWT_SECRET": BENCH_SECRET,
    "PM_WS_RATE_LIMIT": "1000000/second",
    "PM_WS_MAX_CONNECTIONS_PER_TENANT": "10000",
    "PM_WS_MAX_CONNECTIONS_PER_USER": "10000",
    "PM_TENANT_PROVISION_RATE": PROVISION_RATE,
    "PM_LOG_LEVEL": "warning",
}


@dataclass(frozen=True)
class Counts:
    per_socket: int
    events: int
    contention_per_socket: int


FULL = Counts(per_socket=60, events=300, contention_per_socket=20)
QUICK = Counts(per_socket=10, events=40, contention_per_socket=4)


def run(quick: bool) -> None:
    counts = QUICK if quick else FULL
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        print("  skipped: redis-server is not installed (make test installs Debian's package)")
        return
    print(
        "  placement: pm serve (workers and redis-server as child processes, CPU read from\n"
        "  /proc) and a load generator in a process of its own; 2 shared cores"
    )
    with temp_dir() as root, _redis(redis_server, root) as redis:
        _throughput(counts, root, redis)
        _delivery(counts, root, redis)
        _contention(counts, root, redis)


# -- servers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redis:
    url: str
    pid: int


@contextlib.contextmanager
def _redis(binary: str, root: Path) -> Iterator[Redis]:
    port = free_port()
    folder = root / "redis"
    folder.mkdir()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    process = subprocess.Popen(
        [*command, "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield Redis(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        stop(process)


@contextlib.contextmanager
def _pm(root: Path, workers: int, redis: Redis) -> Iterator[Server]:
    env = dict(PM_ENV)
    if workers > 1:
        env["PM_REDIS_URL"] = redis.url
    extra = (redis.pid,) if workers > 1 else ()
    with pm_serve(root, env, workers=workers, extra_pids=extra) as server:
        yield server


# -- the load generator (a process of its own) ------------------------------------------------


def _token(tenant: str, user: str) -> str:
    return issue_token(BENCH_SECRET, tenant_id=tenant, user_id=user, roles=["admin"])


async def _open(url: str, token: str) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[JSON_PROTOCOL, f"pm.bearer.{token}"],  # type: ignore[list-item]
        compression=None,
        max_size=None,
        max_queue=None,
        open_timeout=30,
    )


async def _project(conn: ClientConnection) -> str:
    body = {"item_type": "project", "title": "Bench"}
    await conn.send(json.dumps({"message_id": "project", "create_work_item": body}))
    while True:
        frame = json.loads(await conn.recv())
        if frame.get("message_id") == "project":
            return str(frame["work_item_created"]["work_item"]["id"])


def _create(project_id: str, n: int) -> str:
    body = {"item_type": "task", "parent_id": project_id, "title": f"t{n}"}
    return json.dumps({"message_id": str(uuid.uuid4()), "create_work_item": body})


async def _drive(conn: ClientConnection, project_id: str, count: int, echo: bool) -> list[float]:
    """``count`` round trips, IN_FLIGHT at a time; each one's latency."""
    window = asyncio.Semaphore(IN_FLIGHT)
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def send() -> None:
        for n in range(count):
            await window.acquire()
            frame = _create(project_id, n)
            sent[json.loads(frame)["message_id"]] = time.perf_counter()
            await conn.send(frame)

    sender = asyncio.create_task(send())
    while len(latencies) < count:
        frame = json.loads(await conn.recv())
        started = sent.pop(frame.get("message_id", ""), None)
        if started is not None and (echo or "work_item_created" in frame):
            latencies.append(time.perf_counter() - started)
            window.release()
    await sender
    return latencies


async def _round_trips(
    gate: Gate, url: str, tenants: list[str], per_socket: int, echo: bool
) -> dict[str, Any]:
    conns = [await _open(url, _token(t, f"u{n}")) for n, t in enumerate(tenants)]
    projects = ["echo"] * len(conns) if echo else [await _project(c) for c in conns]
    await gate.opened()  # tenants created, sockets open: the measured part starts
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_drive(c, p, per_socket, echo) for c, p in zip(conns, projects, strict=True))
    )
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.close() for c in conns))
    return {"seconds": elapsed, "latencies": [x for r in results for x in r]}


async def _delivery_runs(gate: Gate, url: str, events: int, workers: int) -> dict[str, list[float]]:
    """Commit -> receipt, for a subscriber on the writer's worker and one on another."""
    tenant = "delivery"

    async def placed(user: str, want: str | None, avoid: str | None) -> ClientConnection:
        for _ in range(200):
            conn = await _open(url, _token(tenant, user))
            worker = conn.response.headers.get("pm-worker") if conn.response else None
            if (want is None or worker == want) and (avoid is None or worker != avoid):
                return conn
            await conn.close()
        raise RuntimeError("could not place a socket on the wanted worker")

    writer = await placed("writer", None, None)
    home = writer.response.headers.get("pm-worker") if writer.response else None
    project_id = await _project(writer)
    subscribers = {"same process": await placed("near", home, None)}
    if workers > 1:
        subscribers["other process"] = await placed("far", None, home)
    for conn in subscribers.values():
        await conn.send(json.dumps({"message_id": "s", "subscribe": {"project_ids": [project_id]}}))
        while json.loads(await conn.recv()).get("message_id") != "s":
            pass
    delays: dict[str, list[float]] = {name: [] for name in subscribers}
    await gate.opened()
    for n in range(events):
        await writer.send(_create(project_id, n))
        for name, conn in subscribers.items():
            while True:
                frame = json.loads(await conn.recv())
                if "work_item_created" in frame:
                    delays[name].append(time.time() - int(frame["sent_at_ms"]) / 1000)
                    break
        while "work_item_created" not in json.loads(await writer.recv()):
            pass
    for conn in [writer, *subscribers.values()]:
        await conn.close()
    return delays


# -- the three measurements -----------------------------------------------------------------------


def _rate_row(name: str, requests: int, seconds: float, cpu: float, base: float) -> list[str]:
    rate = requests / seconds
    return [name, f"{rate:.0f}/s", f"{rate / base:.2f}x", f"{cpu / requests * 1e3:.2f} ms"]


def _throughput(counts: Counts, root: Path, redis: Redis) -> None:
    tenants = [f"t{n:02d}" for n in range(SOCKETS)]
    requests = SOCKETS * counts.per_socket
    rows: list[list[str]] = []
    with door_server("bare") as bare:
        echo, echo_cpu = run_load(bare, _round_trips, bare.ws(), tenants, counts.per_socket, True)
    base = requests / echo["seconds"]
    rows.append(_rate_row("bare echo", requests, echo["seconds"], echo_cpu, base))
    rows[-1].append(f"p99 {percentile(echo['latencies'], 99) * 1e3:.1f} ms")
    rates = {}
    for workers in (1, 2):
        with _pm(root, workers, redis) as server:
            figures, cpu = run_load(
                server, _round_trips, server.ws, tenants, counts.per_socket, False
            )
        rates[workers] = requests / figures["seconds"]
        name = f"pm, {workers} worker{'s' if workers > 1 else ''}"
        rows.append(_rate_row(name, requests, figures["seconds"], cpu, base))
        rows[-1].append(f"p99 {percentile(figures['latencies'], 99) * 1e3:.1f} ms")
    print(
        f"\n  acknowledged creates over /ws: {SOCKETS} sockets on {SOCKETS} tenants, "
        f"{IN_FLIGHT} in flight each, {requests} per run"
    )
    table(rows, ["server", "rate", "vs echo", "server CPU/request", "latency"])
    ratio = rates[2] / rates[1]
    verdict = "meets" if ratio >= TARGET else "below"
    print(f"  2 workers / 1 worker: {ratio:.2f}x ({verdict} the {TARGET}x target)")


def _delivery(counts: Counts, root: Path, redis: Redis) -> None:
    with _pm(root, 2, redis) as server:
        delays, _cpu_seconds = run_load(server, _delivery_runs, server.ws, counts.events, 2)
    near = delays["same process"]
    rows = []
    for name, samples in delays.items():
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        rows.append(
            [
                name,
                f"{p50 * 1e3:.2f} ms",
                f"{p99 * 1e3:.2f} ms",
                f"{p50 / percentile(near, 50):.2f}x",
                f"{p99 / percentile(near, 99):.2f}x",
            ]
        )
    print(f"\n  commit -> receipt, {counts.events} events one at a time, 2 workers with Redis")
    table(rows, ["subscriber", "p50", "p99", "p50 vs same", "p99 vs same"])


def _contention(counts: Counts, root: Path, redis: Redis) -> None:
    tenants = ["hot"] * SOCKETS
    requests = SOCKETS * counts.contention_per_socket
    rows = []
    base = 0.0
    for workers in (1, 2):
        with _pm(root, workers, redis) as server:
            figures, cpu = run_load(
                server, _round_trips, server.ws, tenants, counts.contention_per_socket, False
            )
        rate = requests / figures["seconds"]
        base = base or rate
        rows.append(
            [
                f"{workers} worker{'s' if workers > 1 else ''}",
                f"{rate:.0f}/s",
                f"{rate / base:.2f}x",
                f"{cpu / requests * 1e3:.2f} ms",
                f"p50 {percentile(figures['latencies'], 50) * 1e3:.1f} ms",
                f"p99 {percentile(figures['latencies'], 99) * 1e3:.1f} ms",
            ]
        )
    print(f"\n  {SOCKETS} writers on one tenant, {IN_FLIGHT} in flight each, {requests} per run")
    table(rows, ["server", "rate", "vs 1 worker", "server CPU/request", "latency", ""])
