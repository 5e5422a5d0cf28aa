"""Measuring pm from outside: the real ``pm serve`` as a child process (its workers and any
process serving beside it counted by their CPU from /proc), and a load generator in a process
of its own, so the generator's CPU is never counted as the server's.

    with pm_serve(root, env) as server:
        figures, server_cpu_seconds = run_load(server, some_load, *args)

``some_load(gate, *args)`` is a module-level coroutine function run in the generator process
(spawned, so nothing of this process is shared); it does its setup, calls ``await
gate.opened()`` when the measured part starts, and returns picklable figures. The server's CPU
is read when the gate opens and when the figures arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench.common import free_port

SPAWN = multiprocessing.get_context("spawn")
START_TIMEOUT = 60.0
LOAD_TIMEOUT = 900.0


class CpuMeasured(Protocol):
    def cpu_seconds(self) -> float: ...


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    extra_pids: tuple[int, ...] = ()  # processes serving beside it (redis-server)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def cpu_seconds(self) -> float:
        """CPU of the server, its workers and the processes serving beside it, so far."""
        pids = [self.process.pid, *_children(self.process.pid), *self.extra_pids]
        return sum(process_cpu_seconds(pid) for pid in pids)


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{pid}/children") as listing:
        return [int(child) for child in listing.read().split()]
    return []


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far, from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a benchmark server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError("a benchmark server did not start")


def wait_for_listeners(port: int, count: int, process: subprocess.Popen[bytes]) -> None:
    """Until ``count`` sockets listen on ``port`` (workers listen with SO_REUSEPORT, each on a
    socket of its own; a load that starts before the last is up lands on the others only)."""
    deadline = time.monotonic() + START_TIMEOUT
    while _listening_sockets(port) < count:
        if process.poll() is not None:
            raise RuntimeError(f"a benchmark server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} workers listen on port {port}")
        time.sleep(0.05)


def _listening_sockets(port: int) -> int:
    """TCP sockets in LISTEN on ``port``, from /proc/net/tcp (IPv4: pm binds 127.0.0.1)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(row[1].endswith(f":{port:04X}") and row[3] == "0A" for row in rows)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def pm_serve(
    root: Path, env: Mapping[str, str], *, workers: int = 1, extra_pids: tuple[int, ...] = ()
) -> Iterator[Server]:
    """``pm serve`` on a fresh data folder under ``root`` and a free port, with ``env`` on top
    of this process's environment."""
    port = free_port()
    data = root / f"data-{uuid.uuid4().hex[:8]}"
    full_env = {**os.environ, **env, "PM_DATA_DIR": str(data), "PM_PORT": str(port)}
    full_env["PM_WORKERS"] = str(workers)
    pm = Path(sys.executable).parent / "pm"
    process = subprocess.Popen(
        [str(pm), "serve"], env=full_env, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_for_port(port, process)
        wait_for_listeners(port, workers, process)  # every worker up, not only the first
        yield Server(process, port, extra_pids)
    finally:
        stop(process)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Gate:
    """The generator says when its setup is done (tenants created, sockets open), and waits
    for the go, so the server's CPU is read around the measured part only."""

    ready: Any
    go: Any

    async def opened(self) -> None:
        self.ready.set()
        await asyncio.to_thread(self.go.wait, LOAD_TIMEOUT)


Load = Callable[..., Coroutine[Any, Any, Any]]  # (gate, *args) -> picklable figures


def _generator(load: Load, gate: Gate, args: tuple[Any, ...], results: Any) -> None:
    try:
        results.put(("ok", asyncio.run(load(gate, *args))))
    except Exception as exc:
        results.put(("failed", f"{type(exc).__name__}: {exc}"))


def run_load(server: CpuMeasured, load: Load, *args: Any) -> tuple[Any, float]:
    """Run ``load`` in the generator process; its figures and the server's CPU seconds spent
    in the measured part."""
    results = SPAWN.Queue()
    gate = Gate(SPAWN.Event(), SPAWN.Event())
    process = SPAWN.Process(target=_generator, args=(load, gate, args, results))
    process.start()
    try:
        while not gate.ready.wait(1):
            if not process.is_alive() or not results.empty():
                outcome, figures = results.get(timeout=10)
                raise RuntimeError(f"the load generator failed before measuring: {figures}")
        before = server.cpu_seconds()
        gate.go.set()
        outcome, figures = results.get(timeout=LOAD_TIMEOUT)
        if outcome != "ok":
            raise RuntimeError(f"the load generator failed: {figures}")
        return figures, server.cpu_seconds() - before
    finally:
        process.join(60)
        if process.is_alive():
            process.kill()
