"""WebSocket door: what the door costs on top of the service layer and of a bare socket.

- round trips: ``CreateWorkItem`` (JSON frames) over 1 socket, one request at a time, and over 50
  sockets at once; baselines in the same run: (a) the same command called straight on the service
  layer (``ServiceRunner.command``) at the same concurrency, (b) a bare echo socket on the same
  uvicorn options; the three take turns in rounds, and the CPU each serving process spent per
  request is shown beside the rates. Target: socket/service >= 70%.
- fan-out: commit -> receipt at 100 and 1,000 subscribers of one project (the event's
  ``sent_at_ms`` is its commit time), and writer's send -> receipt; baseline: a bare relay socket
  (a queue and a send task per socket, pm's hub without pm). One event at a time, the next once
  every subscriber has the last; pm and the relay take turns. Target at 1,000: p99 < 100 ms.
- memory per idle authenticated connection: the server process's RSS growth over N connections,
  against the bare echo server holding as many.
- slow consumer: one subscriber stops reading while 1,000 events of ~20 KB are published; the
  server's peak RSS (VmHWM) against the same publication with every subscriber reading, and the
  close code the slow one sees (1013).

Placement: each server (pm, bare) runs alone in its own uvicorn subprocess
(``python -m bench.door_server``); every client runs in this process. The service-layer baseline
runs in this process too, while the servers sit idle. On 2 cores that is about one core each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.common import (
    BENCH_SECRET,
    PROVISION_RATE,
    median,
    paused_gc,
    percentile,
    table,
    temp_dir,
)
from bench.door_server import DoorServer, door_server
from pm.auth import issue_token
from pm.config import load_settings
from pm.services import work_items
from pm.services.kernel.caller import RequestContext
from pm.services.kernel.runner import ServiceRunner
from pm.wiring import build_components

TENANT = "bench"
USER = "bench-user"
JSON_PROTOCOL = "pm.v1.json"
CREATED = '"work_item_created"'  # in the text of pm's answer to CreateWorkItem
ROUNDS = 3
SERVICE_TARGET = 0.70
FANOUT_P99_TARGET_MS = 100.0
OPEN_CONCURRENCY = 100
BIG_DESCRIPTION = "x" * 20_000
SEND_QUEUE = 256  # ws_send_queue of the slow-consumer runs: pm's default
DROPPED_METRIC = "pm_ws_slow_consumers_dropped_total"
DROP_POLLS = 2400  # every 50 ms: two minutes
# Caps raised so they never cut a benchmark; the fd limit of a process is 20,000.
PM_SETTINGS: dict[str, Any] = {
    "jwt_secret": BENCH_SECRET,
    "ws_max_connections": 15_000,
    "ws_max_connections_per_tenant": 15_000,
    "ws_max_connections_per_user": 15_000,
    "ws_rate_limit": "1000000/second",
    "tenant_provision_rate": PROVISION_RATE,
}


@dataclass(frozen=True)
class Counts:
    sequential: int
    sockets: int
    per_socket: int
    fanout_sizes: tuple[int, ...]
    fanout_events: int
    idle: int
    idle_seconds: float
    slow_events: int


QUICK = Counts(150, 50, 6, (100, 300), 8, 500, 20.0, 1000)
FULL = Counts(600, 50, 30, (100, 1000), 30, 5000, 90.0, 1000)


def run(quick: bool) -> None:
    counts = QUICK if quick else FULL
    print(
        "  placement: pm and the bare baselines each in their own uvicorn subprocess; all\n"
        "  clients in the bench process; the service baseline in the bench process, servers idle"
    )
    token = issue_token(BENCH_SECRET, tenant_id=TENANT, user_id=USER, ttl_seconds=3600)
    with temp_dir() as root:
        _round_trips(counts, root, token)
        _fan_out(counts, root, token)
        _idle_memory(counts, root, token)
        _slow_consumer(counts, root, token)


# -- clients --------------------------------------------------------------------------------------


async def _open(url: str, token: str, **kwargs: Any) -> ClientConnection:
    """A JSON client authenticated by subprotocol, as a browser would be; no client pings."""
    return await connect(
        url,
        subprotocols=[JSON_PROTOCOL, f"pm.bearer.{token}"],  # type: ignore[list-item]
        compression=None,
        proxy=None,
        ping_interval=None,
        open_timeout=60,
        **kwargs,
    )


async def _open_many(url: str, token: str, count: int, seconds: float) -> list[ClientConnection]:
    """Up to ``count`` connections, opened ``OPEN_CONCURRENCY`` at a time, within ``seconds``."""
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    deadline = time.monotonic() + seconds

    async def one() -> ClientConnection | None:
        async with gate:
            if time.monotonic() > deadline:
                return None
            with contextlib.suppress(OSError, ConnectionClosed, TimeoutError):
                return await _open(url, token)
            return None

    opened = await asyncio.gather(*(one() for _ in range(count)))
    return [conn for conn in opened if conn is not None]


async def _close_all(conns: list[ClientConnection]) -> None:
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def one(conn: ClientConnection) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 10)

    await asyncio.gather(*(one(conn) for conn in conns))


async def _request(conn: ClientConnection, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Send one request and return its response, skipping events that arrive meanwhile."""
    message_id = str(uuid.uuid4())
    await conn.send(json.dumps({"message_id": message_id, name: body}))
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), 30))
        if frame.get("message_id") == message_id:
            if "error" in frame:
                raise RuntimeError(f"{name} refused: {frame['error']}")
            return frame


async def _create_project(conn: ClientConnection) -> str:
    response = await _request(conn, "create_work_item", {"item_type": "project", "title": "B"})
    return str(response["work_item_created"]["work_item"]["id"])


def _create_frame(project_id: str, title: str, description: str = "") -> str:
    body: dict[str, Any] = {"item_type": "task", "parent_id": project_id, "title": title}
    if description:
        body["description"] = description
    return json.dumps({"message_id": str(uuid.uuid4()), "create_work_item": body})


def _pm_server(
    root: Path, name: str, **extra: Any
) -> contextlib.AbstractContextManager[DoorServer]:
    return door_server("pm", data_dir=root / name, **PM_SETTINGS, **extra)


# -- round trips ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


RoundTrip = Callable[[int], Awaitable[None]]  # one request/response on worker n


async def _timed(workers: int, per_worker: int, round_trip: RoundTrip) -> Throughput:
    """``workers`` loops, each doing ``per_worker`` round trips one after another."""
    latencies: list[float] = []

    async def worker(n: int) -> None:
        for _ in range(per_worker):
            started = time.perf_counter()
            await round_trip(n)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    return Throughput(workers * per_worker, time.perf_counter() - started, latencies)


def _socket_round_trip(conns: list[ClientConnection], project_id: str, answer: str) -> RoundTrip:
    async def round_trip(n: int) -> None:
        await conns[n].send(_create_frame(project_id, f"task {n}"))
        reply = await conns[n].recv()
        if answer not in reply:
            raise RuntimeError(f"unexpected answer: {reply[:300]!r}")

    return round_trip


def _service_round_trip(runner: ServiceRunner, project_id: str) -> RoundTrip:
    async def round_trip(n: int) -> None:
        await runner.command(
            _ctx(),
            work_items.create_work_item,
            item_type="task",
            parent_id=project_id,
            title=f"task {n}",
        )

    return round_trip


def _ctx() -> RequestContext:
    return RequestContext(tenant_id=TENANT, user_id=USER, message_id=str(uuid.uuid4()))


CpuClock = Callable[[], float]  # CPU seconds used so far by the process doing the work


@dataclass(frozen=True)
class Variant:
    round_trip: RoundTrip
    cpu: CpuClock


async def _socket_variant(
    stack: contextlib.AsyncExitStack[Any], server: DoorServer, token: str, sockets: int
) -> Variant:
    """``sockets`` open connections; pm's round trip creates a task under a fresh project."""
    conns = [await _open(server.ws(), token) for _ in range(sockets)]
    stack.push_async_callback(_close_all, conns)
    answer = CREATED if server.kind == "pm" else "message_id"
    project_id = await _create_project(conns[0]) if server.kind == "pm" else "echo"
    return Variant(_socket_round_trip(conns, project_id, answer), server.cpu_seconds)


async def _service_variant(stack: contextlib.AsyncExitStack[Any], root: Path) -> Variant:
    """The service layer built as pm.app builds it, in this process, on its own data dir."""
    components = build_components(load_settings(data_dir=root / "service", jwt_secret=BENCH_SECRET))
    stack.callback(components.tenants.close)
    runner = components.services
    project = await runner.command(
        _ctx(), work_items.create_work_item, item_type="project", title="B"
    )
    return Variant(
        _service_round_trip(runner, project.payload["work_item"]["id"]), time.process_time
    )


@dataclass
class Rounds:
    """One variant at one concurrency: a throughput per round, every latency, CPU used."""

    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def add(self, result: Throughput, cpu_seconds: float) -> None:
        self.rates.append(result.per_second)
        self.latencies += result.latencies
        self.cpu_seconds += cpu_seconds

    @property
    def rate(self) -> float:
        return median(self.rates)

    @property
    def cpu_ms(self) -> float:
        """CPU per request of the process that served it."""
        return self.cpu_seconds * 1000 / len(self.latencies)


async def _interleaved(variants: dict[str, Variant], counts: Counts) -> dict[str, list[Rounds]]:
    """Each variant in turn, ``ROUNDS`` times, so a burst of noise on the machine hits all of
    them alike; per concurrency, the median round counts."""
    results: dict[str, list[Rounds]] = {name: [] for name in variants}
    for workers, total in ((1, counts.sequential), (counts.sockets, counts.per_socket)):
        for name, variant in variants.items():
            await _timed(workers, 5, variant.round_trip)
            results[name].append(Rounds())
        for _ in range(ROUNDS):
            for name, variant in variants.items():
                cpu = variant.cpu()
                result = await _timed(workers, total // ROUNDS, variant.round_trip)
                results[name][-1].add(result, variant.cpu() - cpu)
    return results


async def _measure_round_trips(
    pm: DoorServer, bare: DoorServer, root: Path, token: str, counts: Counts
) -> dict[str, list[Rounds]]:
    async with contextlib.AsyncExitStack() as stack:
        variants = {
            "socket": await _socket_variant(stack, pm, token, counts.sockets),
            "service": await _service_variant(stack, root),
            "echo": await _socket_variant(stack, bare, token, counts.sockets),
        }
        return await _interleaved(variants, counts)


def _round_trips(counts: Counts, root: Path, token: str) -> None:
    print(
        "\n  CreateWorkItem round trips (JSON frames; each request waits for its response;"
        f"\n  median of {ROUNDS} interleaved rounds; CPU per request of the serving process)"
    )
    with _pm_server(root, "round-trips") as pm, door_server("bare") as bare:
        results = asyncio.run(_measure_round_trips(pm, bare, root, token, counts))
    rows = []
    for n, label in enumerate(("1 socket", f"{counts.sockets} sockets")):
        s, b, e = results["socket"][n], results["service"][n], results["echo"][n]
        rows.append(
            [
                label,
                f"{s.rate:,.0f}/s",
                f"{b.rate:,.0f}/s",
                f"{e.rate:,.0f}/s",
                _share(s.rate, b.rate, SERVICE_TARGET),
                f"{s.rate / e.rate:.1%}",
                f"{_p(s.latencies, 50)} / {_p(s.latencies, 99)}",
                f"{_p(b.latencies, 50)} / {_p(b.latencies, 99)}",
                f"{s.cpu_ms:.2f} / {b.cpu_ms:.2f} / {e.cpu_ms:.2f}",
            ]
        )
    table(
        rows,
        [
            "concurrency",
            "socket",
            "service",
            "echo",
            "socket/service",
            "socket/echo",
            "socket p50/p99 ms",
            "service p50/p99 ms",
            "CPU ms socket/service/echo",
        ],
    )
    socket_cpu, service_cpu = results["socket"], results["service"]
    print(
        "  socket/service by CPU per request (service's / socket's, the rate each would reach if"
        f"\n  CPU were its only limit): {service_cpu[0].cpu_ms / socket_cpu[0].cpu_ms:.0%} at 1"
        f" socket, {service_cpu[1].cpu_ms / socket_cpu[1].cpu_ms:.0%} at {counts.sockets}"
    )


def _p(samples: list[float], q: float) -> str:
    return f"{percentile(samples, q) * 1000:.1f}"


def _share(value: float, baseline: float, target: float) -> str:
    share = value / baseline
    return f"{share:.0%} ({'meets' if share >= target else 'misses'} >= {target:.0%})"


# -- fan-out --------------------------------------------------------------------------------------

Parse = Callable[[Any], "tuple[str, int] | None"]  # frame -> (event title, sent_at_ms) or None


@dataclass
class Receipts:
    """When each benchmark event reached each subscriber (wall-clock ms, one machine)."""

    subscribers: int
    sent_ms: dict[str, float] = field(default_factory=dict)
    from_commit: list[float] = field(default_factory=list)
    from_send: list[float] = field(default_factory=list)
    arrived: Counter[str] = field(default_factory=Counter)
    everyone_has: dict[str, asyncio.Event] = field(default_factory=dict)
    other_frames: int = 0
    missed: int = 0
    closed: int = 0
    last_frame: float = field(default_factory=time.monotonic)

    def record(self, title: str, sent_at_ms: int, now_ms: float) -> None:
        self.from_commit.append(now_ms - sent_at_ms)
        self.from_send.append(now_ms - self.sent_ms[title])
        self.arrived[title] += 1
        if self.arrived[title] == self.subscribers:
            self.everyone_has[title].set()


async def _read_events(conn: ClientConnection, receipts: Receipts, parse: Parse) -> None:
    try:
        async for frame in conn:
            now_ms = time.time() * 1000
            receipts.last_frame = time.monotonic()
            event = parse(json.loads(frame))
            if event is None:
                receipts.other_frames += 1
            else:
                receipts.record(event[0], event[1], now_ms)
    except ConnectionClosed:
        receipts.closed += 1


def _pm_event(frame: dict[str, Any]) -> tuple[str, int] | None:
    body = frame.get("work_item_created")
    if body is None:
        return None
    return str(body["work_item"]["title"]), int(frame["sent_at_ms"])


def _bare_event(frame: dict[str, Any]) -> tuple[str, int] | None:
    return str(frame["title"]), int(frame["sent_at_ms"])


async def _quiet(receipts: Receipts, seconds: float = 0.5, bound: float = 120.0) -> None:
    """Wait until no frame has arrived for ``seconds`` (the presence storm of mass subscribing
    is over), for at most ``bound`` seconds."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if time.monotonic() - receipts.last_frame >= seconds:
            return
        await asyncio.sleep(0.05)


Publish = Callable[[str], Awaitable[None]]  # send the event titled so (pm: and its commit)


@dataclass
class Audience:
    """Subscribers of one server, and how to publish to them."""

    receipts: Receipts
    publish: Publish
    setup_seconds: float = 0.0
    setup_frames: int = 0

    @property
    def subscribers(self) -> int:
        return self.receipts.subscribers


async def _listen(
    stack: contextlib.AsyncExitStack[Any], conns: list[ClientConnection]
) -> list[asyncio.Task[None]]:
    """A list for the reader tasks of ``conns``, which are stopped by closing the connections
    when the stack unwinds."""
    readers: list[asyncio.Task[None]] = []

    async def stop() -> None:
        await _close_all(conns)
        await asyncio.gather(*readers, return_exceptions=True)

    stack.push_async_callback(stop)
    return readers


async def _pm_audience(
    stack: contextlib.AsyncExitStack[Any], url: str, token: str, subscribers: int
) -> Audience:
    """Subscribers that each subscribe, then read; every subscribe sends a presence change."""
    writer = await _open(url, token)
    conns = [writer, *await _open_many(url, token, subscribers, 120)]
    receipts = Receipts(len(conns) - 1)
    readers = await _listen(stack, conns)
    project_id = await _create_project(writer)
    started = time.monotonic()
    for conn in conns[1:]:
        await _request(conn, "subscribe", {"project_ids": [project_id]})
        readers.append(asyncio.create_task(_read_events(conn, receipts, _pm_event)))
    await _quiet(receipts)

    async def publish(title: str) -> None:
        body = {"item_type": "task", "parent_id": project_id, "title": title}
        await _request(writer, "create_work_item", body)

    return Audience(receipts, publish, time.monotonic() - started, receipts.other_frames)


async def _bare_audience(
    stack: contextlib.AsyncExitStack[Any], url: str, token: str, subscribers: int
) -> Audience:
    writer = await _open(url, token)
    conns = [writer, *await _open_many(url, token, subscribers, 120)]
    receipts = Receipts(len(conns) - 1)
    readers = await _listen(stack, conns)
    readers += [asyncio.create_task(_read_events(c, receipts, _bare_event)) for c in conns[1:]]

    async def publish(title: str) -> None:
        await writer.send(json.dumps({"title": title, "sent_at_ms": int(time.time() * 1000)}))

    return Audience(receipts, publish)


async def _publish_one(audience: Audience, title: str) -> None:
    """Publish and wait until every subscriber has the event (or 15 s: the rest are missed)."""
    receipts = audience.receipts
    receipts.everyone_has[title] = asyncio.Event()
    receipts.sent_ms[title] = time.time() * 1000
    await audience.publish(title)
    try:
        await asyncio.wait_for(receipts.everyone_has[title].wait(), 15)
    except TimeoutError:
        receipts.missed += receipts.subscribers - receipts.arrived[title]


async def _measure_fan_out(
    pm_url: str, bare_url: str, token: str, subscribers: int, events: int
) -> tuple[Audience, Audience]:
    """pm's and the bare relay's subscribers are all connected at once and take turns, one
    event at a time, so noise on the machine hits both alike."""
    async with contextlib.AsyncExitStack() as stack:
        pm = await _pm_audience(stack, pm_url, token, subscribers)
        bare = await _bare_audience(stack, bare_url, token, subscribers)
        # Receipt times are taken in this process: a collection of everything the earlier
        # suites left here would stall its 1,000 readers at once and show up as the server's p99.
        stack.enter_context(paused_gc())
        for n in range(events):
            for audience in (pm, bare):
                await _publish_one(audience, f"event {n}")
                await asyncio.sleep(0.01)
        return pm, bare


def _fan_out(counts: Counts, root: Path, token: str) -> None:
    print(
        "\n  Fan-out to subscribers of one project, one event at a time (ms; receipt is when the"
        "\n  subscriber's task got the frame, so it includes this process's own queueing)"
    )
    rows = []
    for size in counts.fanout_sizes:
        with _pm_server(root, f"fan-out-{size}") as pm_server, door_server("bare") as bare_server:
            pm, bare = asyncio.run(
                _measure_fan_out(
                    pm_server.ws(), bare_server.ws("/fanout"), token, size, counts.fanout_events
                )
            )
        rows.append(_fan_out_row(pm, bare))
    table(
        rows,
        [
            "subscribers",
            "commit->recv p50/p99",
            "send->recv p50/p99",
            "bare send->recv p50/p99",
            "p99 ratio",
            "target p99",
            "missed/closed",
            "subscribing all: took, frames",
        ],
    )


def _fan_out_row(pm: Audience, bare: Audience) -> list[str]:
    commit, send = pm.receipts.from_commit, pm.receipts.from_send
    base = bare.receipts.from_send
    p99 = percentile(commit, 99)
    target = ""
    if pm.subscribers >= 1000:
        target = (
            f"{'meets' if p99 < FANOUT_P99_TARGET_MS else 'misses'} < {FANOUT_P99_TARGET_MS:.0f}"
        )
    return [
        str(pm.subscribers),
        f"{percentile(commit, 50):.0f} / {p99:.0f}",
        f"{percentile(send, 50):.0f} / {percentile(send, 99):.0f}",
        f"{percentile(base, 50):.0f} / {percentile(base, 99):.0f}",
        f"{p99 / max(percentile(base, 99), 1.0):.1f}x",
        target,
        f"{pm.receipts.missed}/{pm.receipts.closed}",
        f"{pm.setup_seconds:.1f} s, {pm.setup_frames:,}",
    ]


# -- idle connections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Idle:
    opened: int
    rss_growth: int
    seconds: float

    @property
    def per_connection(self) -> float:
        return self.rss_growth / max(self.opened, 1)


async def _hold_idle(server: DoorServer, url: str, token: str, counts: Counts) -> Idle:
    """Open as many idle connections as ``counts`` allows in time; the server's RSS growth."""
    await _close_all([await _open(url, token)])  # the tenant file and the user are opened once
    await asyncio.sleep(0.5)
    before = server.status_bytes("VmRSS")
    started = time.monotonic()
    conns = await _open_many(url, token, counts.idle, counts.idle_seconds)
    try:
        seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        return Idle(len(conns), server.status_bytes("VmRSS") - before, seconds)
    finally:
        await _close_all(conns)


def _idle_memory(counts: Counts, root: Path, token: str) -> None:
    print(f"\n  Idle authenticated connections: server RSS growth while {counts.idle:,} are open")
    with _pm_server(root, "idle") as server:
        pm = asyncio.run(_hold_idle(server, server.ws(), token, counts))
    with door_server("bare") as server:
        bare = asyncio.run(_hold_idle(server, server.ws(), token, counts))
    rows = [
        [
            name,
            f"{idle.opened:,}",
            f"{idle.seconds:.1f} s",
            _kib(idle.rss_growth),
            _kib(idle.per_connection),
        ]
        for name, idle in (("pm", pm), ("bare echo", bare))
    ]
    table(rows, ["server", "opened", "to open", "RSS growth", "per connection"])
    print(f"  pm/bare per connection: {pm.per_connection / max(bare.per_connection, 1):.1f}x")


def _kib(size: float) -> str:
    return f"{size / 1024:,.1f} KiB"


# -- slow consumer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlowRun:
    rss_before: int
    peak: int
    fast_received: int
    slow_close: int | None
    seconds: float


async def _dropped(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(DROPPED_METRIC + " "):
            return float(line.split()[1])
    return 0.0


async def _slow_learns_close(server: DoorServer, slow: ClientConnection | None) -> int | None:
    """Wait for the server to drop ``slow``, then read on: the close frame comes after what
    was buffered, and says why."""
    if slow is None:
        return None
    async with httpx.AsyncClient(base_url=server.http) as client:
        for _ in range(DROP_POLLS):
            if await _dropped(client):
                break
            await asyncio.sleep(0.05)
    try:
        while True:
            await asyncio.wait_for(slow.recv(), 30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def _count_created(conn: ClientConnection, wanted: int) -> int:
    received = 0
    while received < wanted:
        received += '"work_item_created"' in await asyncio.wait_for(conn.recv(), 60)
    return received


async def _publish_big(server: DoorServer, token: str, events: int, with_slow: bool) -> SlowRun:
    url = server.ws()
    writer, fast = await _open(url, token), await _open(url, token)
    slow = await _open(url, token, max_queue=1) if with_slow else None
    try:
        project_id = await _create_project(writer)
        for conn in (fast, slow):
            if conn is not None:
                await _request(conn, "subscribe", {"project_ids": [project_id]})
        await asyncio.sleep(0.5)
        before = server.reset_peak()
        started = time.monotonic()

        async def send_all() -> None:
            for n in range(events):
                await writer.send(_create_frame(project_id, f"big {n}", BIG_DESCRIPTION))

        _, _, fast_received, code = await asyncio.wait_for(
            asyncio.gather(
                send_all(),
                _count_created(writer, events),
                _count_created(fast, events),
                _slow_learns_close(server, slow),
            ),
            180,
        )
        seconds = time.monotonic() - started
        return SlowRun(before, server.status_bytes("VmHWM"), fast_received, code, seconds)
    finally:
        await _close_all([c for c in (writer, fast, slow) if c is not None])


def _slow_consumer(counts: Counts, root: Path, token: str) -> None:
    print(
        f"\n  Slow consumer: {counts.slow_events:,} events of ~20 KB; server peak RSS (VmHWM, reset"
        "\n  just before publishing) against its RSS then"
    )
    runs = {}
    for name, with_slow in (("every subscriber reads", False), ("one stops reading", True)):
        with _pm_server(root, f"slow-{with_slow}", ws_send_queue=SEND_QUEUE) as server:
            runs[name] = asyncio.run(_publish_big(server, token, counts.slow_events, with_slow))
    rows = [
        [
            name,
            _mib(r.rss_before),
            _mib(r.peak),
            _mib(r.peak - r.rss_before),
            f"{r.fast_received:,}",
            "" if r.slow_close is None else str(r.slow_close),
            f"{r.seconds:.1f} s",
        ]
        for name, r in runs.items()
    ]
    table(rows, ["scenario", "RSS before", "peak", "growth", "fast got", "slow closed", "took"])
    base, slow = runs["every subscriber reads"], runs["one stops reading"]
    base_growth, slow_growth = base.peak - base.rss_before, slow.peak - slow.rss_before
    bound = SEND_QUEUE * len(BIG_DESCRIPTION)
    print(
        f"  peak growth with a slow consumer / without: {slow_growth / max(base_growth, 1):.2f}x;"
        f" the difference, {_mib(slow_growth - base_growth)},\n  against what its send queue"
        f" may hold: {SEND_QUEUE} frames of ~20 KB = {_mib(bound)}"
    )


def _mib(size: float) -> str:
    return f"{size / 2**20:,.1f} MiB"
