"""Live collaboration measured as people use it: distinct users, events at a fixed rate, the
server's CPU per request beside every figure.

- requests: ``ListProjects`` and ``CreateWorkItem`` over one socket, each request waiting for
  its answer; baseline: the same frames to a bare echo socket on the same uvicorn options.
  Targets: server CPU per ``CreateWorkItem`` <= 1,000 us, per ``ListProjects`` <= 400 us.
- tenants: acknowledged ``CreateWorkItem`` per second, 50 sockets on 50 tenants (a user each,
  one request in flight each); baseline: the echo socket at 50 sockets.
- presence: N distinct users open one project (subscribe, 50 at a time); the presence frames
  and bytes every viewer received in all, against N (one frame each would do), and whether
  every viewer's view ends equal to the true set.
- fan-out: N distinct viewers of one project, one writer creating an item every 100 ms
  whatever the viewers do (open loop: the next event does not wait for the last one's
  receipts); every event must reach every viewer; commit -> receipt p50/p99 (the event's
  ``sent_at_ms`` is its commit time), against a bare relay socket (a queue and a send task per
  socket) at the same rate. Target at 200 and 1,000: all delivered, p99 < 100 ms.

Placement: ``pm serve`` as it runs in production (its default logging) and the bare server each
in a process of their own, their CPU read from /proc around the measured part only; the load
generator in a third process (pm's figures are not the generator's). The machine's 2 cores are
shared with other work: rates move with that, CPU per request much less, so read those first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import BENCH_SECRET, PROVISION_RATE, percentile, table, temp_dir
from bench.door_server import door_server
from bench.outside import CpuMeasured, Gate, pm_serve, run_load
from pm.auth import issue_token

JSON_PROTOCOL = "pm.v1.json"
PM_ENV = {
    "PM_JWT_SECRET": BENCH_SECRET,
    "PM_WS_RATE_LIMIT": "1000000/second",
    "PM_WS_MAX_CONNECTIONS_PER_TENANT": "10000",
    "PM_WS_MAX_CONNECTIONS_PER_USER": "10000",
    "PM_TENANT_PROVISION_RATE": PROVISION_RATE,
}
OPEN_AT_ONCE = 50
CPU_TARGETS_US = {"list_projects": 400.0, "create_work_item": 1000.0}
FANOUT_P99_TARGET_MS = 100.0
EVENT_INTERVAL = 0.1  # 10 events per second
SETTLE_SECONDS = 1.0  # no presence frame for this long: the joins are over
SETTLE_BOUND = 60.0  # ...or give up waiting and count what arrived


@dataclass(frozen=True)
class Counts:
    one_socket: int
    sockets: int
    per_socket: int
    viewers: tuple[int, ...]
    events: int


FULL = Counts(one_socket=1500, sockets=50, per_socket=40, viewers=(200, 1000), events=100)
QUICK = Counts(one_socket=200, sockets=20, per_socket=10, viewers=(50, 200), events=20)


def run(quick: bool) -> None:
    counts = QUICK if quick else FULL
    print(
        "  placement: pm serve and the bare server each in their own process (CPU from /proc,\n"
        "  measured part only), the load generator in a third; 2 cores shared with other work"
    )
    with temp_dir() as root:
        _requests(counts, root)
        _tenants(counts, root)
        _presence(counts, root)
        _fan_out(counts, root)


# -- the client side (in the load generator's process) ------------------------------------------


def _token(tenant: str, user: str) -> str:
    return issue_token(BENCH_SECRET, tenant_id=tenant, user_id=user, roles=["admin"])


async def _open(url: str, tenant: str, user: str) -> ClientConnection:
    return await connect(
        url,
        subprotocols=[JSON_PROTOCOL, f"pm.bearer.{_token(tenant, user)}"],  # type: ignore[list-item]
        compression=None,
        max_size=None,
        max_queue=None,
        ping_interval=None,
        open_timeout=60,
    )


async def _open_users(url: str, tenant: str, users: list[str]) -> list[ClientConnection]:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(user: str) -> ClientConnection:
        async with gate:
            return await _open(url, tenant, user)

    return list(await asyncio.gather(*(one(user) for user in users)))


async def _close(conns: list[ClientConnection]) -> None:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(conn: ClientConnection) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 10)

    await asyncio.gather(*(one(conn) for conn in conns))


def _frame(name: str, body: dict[str, Any]) -> tuple[str, str]:
    message_id = str(uuid.uuid4())
    return message_id, json.dumps({"message_id": message_id, name: body})


async def _answer(conn: ClientConnection, message_id: str) -> dict[str, Any]:
    """The response to ``message_id``, skipping whatever else arrives first."""
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), 60))
        if frame.get("message_id") == message_id:
            return frame


async def _request(conn: ClientConnection, name: str, body: dict[str, Any]) -> dict[str, Any]:
    message_id, frame = _frame(name, body)
    await conn.send(frame)
    answer = await _answer(conn, message_id)
    if "error" in answer:
        raise RuntimeError(f"{name} refused: {answer['error']}")
    return answer


async def _project(conn: ClientConnection) -> str:
    answer = await _request(conn, "create_work_item", {"item_type": "project", "title": "Bench"})
    return str(answer["work_item_created"]["work_item"]["id"])


Body = Callable[[str, int], tuple[str, dict[str, Any]]]  # (project id, n) -> (payload, body)


def _list_projects(_project_id: str, _n: int) -> tuple[str, dict[str, Any]]:
    return "list_projects", {}


def _create_task(project_id: str, n: int) -> tuple[str, dict[str, Any]]:
    return "create_work_item", {"item_type": "task", "parent_id": project_id, "title": f"t{n}"}


BODIES: dict[str, Body] = {"list_projects": _list_projects, "create_work_item": _create_task}


async def _closed_loop(
    conn: ClientConnection, project_id: str, body: Body, count: int
) -> list[float]:
    """``count`` requests one after another, each waiting for its answer; the latencies."""
    latencies = []
    for n in range(count):
        message_id, frame = _frame(*body(project_id, n))
        started = time.perf_counter()
        await conn.send(frame)
        answer = await _answer(conn, message_id)
        latencies.append(time.perf_counter() - started)
        if "error" in answer:
            raise RuntimeError(f"refused: {answer['error']}")
    return latencies


async def _sockets_load(
    gate: Gate, url: str, operation: str, tenants: list[str], per_socket: int, echo: bool
) -> dict[str, Any]:
    """One socket per tenant (a user each), each running ``per_socket`` requests of
    ``operation`` one after another (an echo server answers every frame with itself)."""
    conns = [await _open(url, tenant, f"user-{tenant}") for tenant in tenants]
    projects = ["echo"] * len(conns) if echo else [await _project(conn) for conn in conns]
    await gate.opened()
    started = time.perf_counter()
    results = await asyncio.gather(
        *(
            _closed_loop(conn, project, BODIES[operation], per_socket)
            for conn, project in zip(conns, projects, strict=True)
        )
    )
    seconds = time.perf_counter() - started
    await _close(conns)
    return {"seconds": seconds, "latencies": [x for r in results for x in r]}


class PresenceView:
    """One viewer's idea of who views the project, from the frames it received."""

    def __init__(self) -> None:
        self.users: set[str] = set()
        self.frames = 0
        self.bytes = 0

    def apply(self, text: str) -> bool:
        if '"presence_changed"' not in text:
            return False
        body = json.loads(text)["presence_changed"]
        self.frames += 1
        self.bytes += len(text.encode())
        if body.get("users"):
            self.users = set(body["users"])
        self.users |= set(body.get("joined", ()))
        self.users -= set(body.get("left", ()))
        return True


@dataclass
class Audience:
    """Viewers of one project, each reading everything it is sent."""

    conns: list[ClientConnection]
    views: list[PresenceView]
    receipts: dict[int, list[float]]  # event n -> delays (ms) from its commit
    last_frame: float = 0.0
    closed: int = 0

    async def read(self, conn: ClientConnection, view: PresenceView) -> None:
        try:
            async for frame in conn:
                now_ms = time.time() * 1000
                text = frame if isinstance(frame, str) else frame.decode()
                if view.apply(text):
                    self.last_frame = time.monotonic()
                elif '"work_item_created"' in text:
                    body = json.loads(text)
                    n = int(body["work_item_created"]["work_item"]["title"][1:])
                    self.receipts.setdefault(n, []).append(now_ms - int(body["sent_at_ms"]))
        except ConnectionClosed:
            self.closed += 1

    async def settle(self) -> bool:
        """Wait until no presence frame came for a while; False if that took too long."""
        deadline = time.monotonic() + SETTLE_BOUND
        while time.monotonic() - self.last_frame < SETTLE_SECONDS:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


async def _subscribe_all(audience: Audience, project_id: str) -> list[asyncio.Task[None]]:
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(conn: ClientConnection, view: PresenceView) -> asyncio.Task[None]:
        async with gate:
            await _request(conn, "subscribe", {"project_ids": [project_id]})
            return asyncio.create_task(audience.read(conn, view))

    pairs = zip(audience.conns, audience.views, strict=True)
    audience.last_frame = time.monotonic()
    return list(await asyncio.gather(*(one(conn, view) for conn, view in pairs)))


async def _audience(url: str, tenant: str, viewers: int) -> tuple[ClientConnection, Audience, str]:
    writer = await _open(url, tenant, "writer")
    project_id = await _project(writer)
    conns = await _open_users(url, tenant, [f"viewer-{n}" for n in range(viewers)])
    return writer, Audience(conns, [PresenceView() for _ in conns], {}), project_id


async def _presence_load(gate: Gate, url: str, viewers: int) -> dict[str, Any]:
    writer, audience, project_id = await _audience(url, "presence", viewers)
    await gate.opened()
    started = time.monotonic()
    readers = await _subscribe_all(audience, project_id)
    settled = await audience.settle()
    seconds = time.monotonic() - started - (SETTLE_SECONDS if settled else 0)
    truth = {f"viewer-{n}" for n in range(viewers)}
    exact = sum(view.users == truth for view in audience.views)
    figures = {
        "frames": sum(view.frames for view in audience.views),
        "bytes": sum(view.bytes for view in audience.views),
        "exact": exact,
        "settled": settled,
        "seconds": seconds,
        "closed": audience.closed,
    }
    await _close([writer, *audience.conns])
    await asyncio.gather(*readers, return_exceptions=True)
    return figures


async def _until(done: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll ``done`` (counts kept by many reader tasks) for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # noqa: ASYNC110 (many writers: poll)
        await asyncio.sleep(0.05)


async def _drain(conn: ClientConnection) -> None:
    with contextlib.suppress(ConnectionClosed):
        async for _ in conn:
            pass


async def _fan_out_load(gate: Gate, url: str, viewers: int, events: int) -> dict[str, Any]:
    """Subscribe everyone, let presence settle (bounded), then publish open loop."""
    writer, audience, project_id = await _audience(url, "fanout", viewers)
    readers = await _subscribe_all(audience, project_id)
    settled = await audience.settle()
    answers = asyncio.create_task(_drain(writer))
    await gate.opened()
    started = time.monotonic()
    for n in range(events):
        await writer.send(_frame(*_create_task(project_id, n))[1])
        await asyncio.sleep(max(0.0, started + (n + 1) * EVENT_INTERVAL - time.monotonic()))
    expected = viewers * events
    await _until(lambda: sum(map(len, audience.receipts.values())) >= expected)
    delays = [d for ds in audience.receipts.values() for d in ds]
    figures = {"delays": delays, "expected": expected, "settled": settled, "closed": 0}
    figures["closed"] = audience.closed
    await _close([writer, *audience.conns])
    await asyncio.gather(answers, *readers, return_exceptions=True)
    return figures


async def _relay_load(gate: Gate, url: str, viewers: int, events: int) -> dict[str, Any]:
    """The bare relay: the same viewers and rate, each frame stamped when it is sent."""
    writer = await _open(url, "bare", "writer")
    conns = await _open_users(url, "bare", [f"viewer-{n}" for n in range(viewers)])
    delays: list[float] = []

    async def read(conn: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in conn:
                delays.append(time.time() * 1000 - json.loads(frame)["sent_at_ms"])

    readers = [asyncio.create_task(read(conn)) for conn in conns]
    await gate.opened()
    started = time.monotonic()
    for n in range(events):
        await writer.send(json.dumps({"n": n, "sent_at_ms": int(time.time() * 1000)}))
        await asyncio.sleep(max(0.0, started + (n + 1) * EVENT_INTERVAL - time.monotonic()))
    await _until(lambda: len(delays) >= viewers * events)
    figures = {"delays": list(delays), "expected": viewers * events}
    await _close([writer, *conns])
    await asyncio.gather(*readers, return_exceptions=True)
    return figures


# -- the measurements (in this process) -----------------------------------------------------------


def _pm(root: Path) -> contextlib.AbstractContextManager[Any]:
    return pm_serve(root, PM_ENV)


def _per_request(cpu: float, requests: int) -> str:
    return f"{cpu / requests * 1e6:,.0f} us"


def _ms(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q) * 1e3:.1f}"


def _measure(server: CpuMeasured, url: str, *args: Any) -> tuple[dict[str, Any], float]:
    return run_load(server, _sockets_load, url, *args)


def _requests(counts: Counts, root: Path) -> None:
    rows = []
    for operation in ("list_projects", "create_work_item"):
        args = (operation, ["one"], counts.one_socket)
        with door_server("bare") as bare:
            echo, echo_cpu = _measure(bare, bare.ws(), *args, True)
        with _pm(root) as server:
            pm, pm_cpu = _measure(server, server.ws, *args, False)
        n = counts.one_socket
        cpu_us = pm_cpu / n * 1e6
        target = CPU_TARGETS_US[operation]
        rows.append(
            [
                operation,
                f"{n / pm['seconds']:,.0f}/s",
                f"{n / echo['seconds']:,.0f}/s",
                f"{_ms(pm['latencies'], 50)} / {_ms(pm['latencies'], 99)}",
                f"{cpu_us:,.0f} us ({'meets' if cpu_us <= target else 'misses'} <= {target:,.0f})",
                _per_request(echo_cpu, n),
                f"{cpu_us / max(echo_cpu / n * 1e6, 1):.0f}x",
            ]
        )
    print(f"\n  one socket, {counts.one_socket} requests one after another (JSON frames)")
    header = ["request", "pm", "echo", "pm p50/p99 ms", "pm CPU/request", "echo CPU", "pm/echo"]
    table(rows, header)


def _tenants(counts: Counts, root: Path) -> None:
    tenants = [f"t{n:02d}" for n in range(counts.sockets)]
    args = ("create_work_item", tenants, counts.per_socket)
    requests = counts.sockets * counts.per_socket
    with door_server("bare") as bare:
        echo, echo_cpu = _measure(bare, bare.ws(), *args, True)
    with _pm(root) as server:
        pm, pm_cpu = _measure(server, server.ws, *args, False)
    pm_rate, echo_rate = requests / pm["seconds"], requests / echo["seconds"]
    print(
        f"\n  CreateWorkItem on {counts.sockets} sockets of {counts.sockets} tenants, one in"
        f" flight each, {requests} in all"
    )
    rows = [
        [
            "pm",
            f"{pm_rate:,.0f}/s",
            f"{pm_rate / echo_rate:.1%}",
            f"{_ms(pm['latencies'], 50)} / {_ms(pm['latencies'], 99)}",
            _per_request(pm_cpu, requests),
        ],
        [
            "bare echo",
            f"{echo_rate:,.0f}/s",
            "100%",
            f"{_ms(echo['latencies'], 50)} / {_ms(echo['latencies'], 99)}",
            _per_request(echo_cpu, requests),
        ],
    ]
    table(rows, ["server", "acked/s", "vs echo", "p50/p99 ms", "server CPU/request"])


def _presence(counts: Counts, root: Path) -> None:
    rows = []
    for viewers in counts.viewers:
        with _pm(root) as server:
            figures, cpu = run_load(server, _presence_load, server.ws, viewers)
        frames = figures["frames"]
        rows.append(
            [
                f"{viewers:,}",
                f"{frames:,}",
                f"{frames / viewers:.1f}x",
                f"{figures['bytes'] / 2**20:,.2f} MiB",
                f"{figures['bytes'] / viewers / 1024:,.1f} KiB",
                f"{figures['exact']:,}/{viewers:,}"
                + ("" if figures["settled"] else " (unsettled)"),
                f"{figures['seconds']:.1f} s",
                f"{cpu:.2f} s ({cpu / viewers * 1e3:.2f} ms/join)",
                str(figures["closed"]),
            ]
        )
    print(
        f"\n  presence: N distinct users open one project, {OPEN_AT_ONCE} at a time; frames and"
        f"\n  bytes all viewers received (N frames is the floor); unsettled = still arriving"
        f" after {SETTLE_BOUND:.0f} s"
    )
    header = ["viewers", "frames", "frames/N", "bytes", "per viewer", "exact views"]
    table(rows, [*header, "took", "server CPU", "closed"])


def _fan_out(counts: Counts, root: Path) -> None:
    rows = []
    for viewers in counts.viewers:
        with door_server("bare") as bare:
            relay, relay_cpu = run_load(
                bare, _relay_load, bare.ws("/fanout"), viewers, counts.events
            )
        with _pm(root) as server:
            pm, pm_cpu = run_load(server, _fan_out_load, server.ws, viewers, counts.events)
        p99 = percentile(pm["delays"], 99)
        delivered = len(pm["delays"])
        verdict = (
            "meets" if delivered == pm["expected"] and p99 < FANOUT_P99_TARGET_MS else "misses"
        )
        rows.append(
            [
                f"{viewers:,}",
                f"{delivered:,}/{pm['expected']:,}",
                f"{percentile(pm['delays'], 50):.0f} / {p99:.0f}",
                f"{len(relay['delays']):,}/{relay['expected']:,}",
                f"{percentile(relay['delays'], 50):.0f} / {percentile(relay['delays'], 99):.0f}",
                f"{pm_cpu / counts.events * 1e3:.1f} / {relay_cpu / counts.events * 1e3:.1f} ms",
                f"{pm_cpu / max(delivered, 1) * 1e6:.0f} us",
                f"{verdict} (p99 < {FANOUT_P99_TARGET_MS:.0f} ms, all delivered)",
                f"{pm['closed']}" + ("" if pm["settled"] else ", presence unsettled"),
            ]
        )
    print(
        f"\n  fan-out: distinct viewers of one project, {counts.events} creates at"
        f" {1 / EVENT_INTERVAL:.0f}/s open loop; delays commit -> receipt in ms"
    )
    header = ["viewers", "pm delivered", "pm p50/p99", "relay delivered", "relay p50/p99"]
    header += ["CPU/event pm / relay", "pm CPU/delivery", "target", "closed"]
    table(rows, header)
