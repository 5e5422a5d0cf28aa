"""Agents: the MCP door, full-text search, the tokens an agent pays, webhook delivery lag.

- MCP round trip: a read (``search_work_items``) and a write (``update_work_item``) through
  the official SDK's client, against the same service call over the WebSocket (JSON frames)
  in the same run, one call at a time, interleaved; p50/p99 and the server's CPU per call.
  Target: MCP within 2x of the WebSocket at p50.
- Search: p50/p99 of the service's search over 10,000 items with 20,000 comments, against the
  very same FTS5 statements on a raw sqlite3 connection to the same file. Target: within 2x
  at p50.
- Tokens: the size of the tool list (its JSON) and of ``get_project_context`` Markdown for the
  seeded demo project, with short keys and with the UUIDs they replace.
- Webhook lag: commit to the receiver's 200 at 100 events/s (open loop, two users), against the
  same events' arrival at a plain WebSocket subscriber; server CPU per event.

Placement: pm runs alone in a uvicorn subprocess (``bench.door_server``); the clients, the
receiver and the raw-sqlite3 baseline run in this process. The machine is shared: the CPU per
call is the figure that holds under noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import insert
from websockets.asyncio.client import ClientConnection, connect

from bench.common import BENCH_SECRET, RAW_PRAGMAS, percentile, table, temp_dir
from bench.door_server import DoorServer, door_server
from bench.large_project import LargeProject, seed_large_project
from pm.auth import issue_token
from pm.config import load_settings
from pm.demo import seed_demo
from pm.domain.models import Comment
from pm.doorkit.markdown import render_context
from pm.mcp import McpDoor
from pm.repositories.search import SearchFilters, fts_query, ranked_sql, snippet_sql
from pm.services.kernel.caller import RequestContext
from pm.services.read_models.project_context import project_context
from pm.services.search import search_work_items
from pm.tenancy.ids import tenant_db_path
from pm.wiring import Components, build_components

TENANT = "bench"
USER = "bench-agent"
TARGET = 2.0
PRIORITIES = ("low", "high")
PM_SETTINGS: dict[str, Any] = {
    "jwt_secret": BENCH_SECRET,
    "rest_rate_limit": "1000000/second",
    "ws_rate_limit": "1000000/second",
    "webhook_allowed_networks": "127.0.0.1/32",
}
WORDS = (
    "antenna",
    "beacon",
    "cargo",
    "docking",
    "engine",
    "fuel",
    "gyro",
    "hull",
    "ion",
    "jet",
    "keel",
    "laser",
    "module",
    "nozzle",
    "orbit",
    "payload",
    "quartz",
    "radar",
    "sensor",
    "thruster",
    "uplink",
    "valve",
    "winch",
    "xenon",
    "yaw",
    "zenith",
)


@dataclass(frozen=True)
class Counts:
    round_trips: int
    search_samples: int
    webhook_seconds: float


QUICK = Counts(60, 30, 3.0)
FULL = Counts(400, 150, 10.0)


def run(quick: bool) -> None:
    counts = QUICK if quick else FULL
    print(
        "  placement: pm in its own uvicorn subprocess; clients, receiver and raw sqlite3 in\n"
        "  the bench process (the machine is shared: read the CPU per call)"
    )
    with temp_dir() as root:
        data = root / "data"
        settings = load_settings(data_dir=data, **PM_SETTINGS)
        components = build_components(settings)
        try:
            project = asyncio.run(_seed(components))
            _tokens(components)
            _search(counts, components, data, project)
        finally:
            components.tenants.close()
        with door_server("pm", data_dir=data, **PM_SETTINGS) as pm:
            _round_trips(counts, pm, project)
            _webhook_lag(counts, pm, project)


def _ctx() -> RequestContext:
    return RequestContext(tenant_id=TENANT, user_id=USER)


def _token(user: str = USER) -> str:
    return issue_token(BENCH_SECRET, tenant_id=TENANT, user_id=user, roles=["admin"])


async def _seed(components: Components) -> LargeProject:
    """10,000 items and 20,000 comments (indexed by the triggers as any comment is)."""
    project = await seed_large_project(components.services, _ctx(), items=10_000, title="Atlas")
    rng = random.Random(7)
    now = 1_760_000_000_000
    rows = [
        {
            "id": str(uuid.uuid4()),
            "work_item_id": project.item_ids[n % len(project.item_ids)],
            "project_id": project.project_id,
            "content": " ".join(rng.choice(WORDS) for _ in range(12)),
            "version": 1,
            "created_at": now + n,
            "created_by": USER,
            "updated_at": now + n,
            "updated_by": USER,
        }
        for n in range(20_000)
    ]
    tenant = await components.services.tenants.get(TENANT)
    await tenant.write(lambda session: session.execute(insert(Comment), rows))
    return project


# -- tokens ---------------------------------------------------------------------------------------


def _tokens(components: Components) -> None:
    tools = McpDoor(components).tool_list
    tool_json = json.dumps(
        [tool.model_dump(by_alias=True, exclude_none=True) for tool in tools], separators=(",", ":")
    )
    demo = RequestContext(tenant_id="demo", user_id="you", roles=frozenset({"admin"}))

    async def context() -> Any:
        project = await seed_demo(components.services, demo)
        return await components.services.query(demo, project_context, project_id=project["id"])

    report = asyncio.run(context())
    with_keys = render_context(report)
    with_ids = render_context(_keys_as_ids(report))
    print("\n  What an agent pays (bytes; tokens estimated at 4 bytes each):")
    rows = [
        ["tool list (12 tools, JSON)", f"{len(tool_json):,}", f"~{len(tool_json) // 4:,}", "-"],
        [
            "demo project context (Markdown)",
            f"{len(with_keys):,}",
            f"~{len(with_keys) // 4:,}",
            f"{len(with_ids):,} ({len(with_keys) / len(with_ids):.0%})",
        ],
    ]
    table(rows, ["what", "bytes with keys", "tokens", "bytes with UUIDs (keys/UUIDs)"])


def _keys_as_ids(report: Any) -> Any:
    """The same context, each key replaced by the id it stands for (what the Markdown named
    items by before short keys)."""
    copy = json.loads(json.dumps(report))
    copy["project"]["key"] = copy["project"]["id"]
    for item in copy["work_items"]:
        item["key"] = item["id"]
    for blocked in copy["blocked_items"]:
        blocked["key"] = blocked["id"]
        for ref in blocked["blocked_by"]:
            ref["key"] = ref["id"]
    return copy


# -- search ---------------------------------------------------------------------------------------

SEARCHES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("rare word", "xenon zenith", {}),
    ("common word", "task", {}),
    ("prefix", "thru", {}),
    ("with filters", "work", {"status": "todo", "priority": "high"}),
)


def _search(counts: Counts, components: Components, data: Path, project: LargeProject) -> None:
    path = tenant_db_path(data / "tenants", TENANT)
    raw = sqlite3.connect(path)
    for pragma in RAW_PRAGMAS:
        raw.execute(pragma)
    rows = []
    try:
        for label, query, filters in SEARCHES:
            service, baseline = asyncio.run(
                _measure_search(counts, components, raw, project, query, filters)
            )
            ratio = percentile(service, 50) / percentile(baseline, 50)
            rows.append([label, _p(service), _p(baseline), f"{ratio:.2f}x", _verdict(ratio)])
    finally:
        raw.close()
    print(
        f"\n  Search over 10,000 items and 20,000 comments, a page of 20, {counts.search_samples}"
        "\n  samples each, interleaved; baseline: the same FTS5 statements on raw sqlite3"
    )
    table(rows, ["query", "service p50/p99 ms", "raw p50/p99 ms", "p50 ratio", "target 2x"])


async def _measure_search(
    counts: Counts,
    components: Components,
    raw: sqlite3.Connection,
    project: LargeProject,
    query: str,
    filters: dict[str, Any],
) -> tuple[list[float], list[float]]:
    match = fts_query(query)
    assert match is not None
    sql, params = ranked_sql(SearchFilters([project.project_id], **filters), after=False)

    def raw_search() -> None:
        hits = raw.execute(sql, [match, *params, 21]).fetchall()
        if hits:
            doc_ids = [hit[2] for hit in hits]
            raw.execute(snippet_sql(len(doc_ids)), [match, *doc_ids]).fetchall()

    async def service_search() -> None:
        await components.services.query(
            _ctx(),
            search_work_items,
            query=query,
            project_id=project.project_id,
            limit=20,
            **filters,
        )

    service: list[float] = []
    baseline: list[float] = []
    for n in range(counts.search_samples + 3):
        started = time.perf_counter()
        await service_search()
        middle = time.perf_counter()
        raw_search()
        done = time.perf_counter()
        if n >= 3:  # warm-up
            service.append(middle - started)
            baseline.append(done - middle)
    return service, baseline


# -- MCP against the WebSocket --------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _agent(pm: DoorServer) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {_token()}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(f"{pm.http}/mcp", http_client=http)) as client,
    ):
        yield client


async def _ws(pm: DoorServer, user: str = USER) -> ClientConnection:
    return await connect(
        pm.ws(),
        subprotocols=["pm.v1.json", f"pm.bearer.{_token(user)}"],  # type: ignore[list-item]
        compression=None,
        proxy=None,
        ping_interval=None,
    )


async def _ws_request(conn: ClientConnection, name: str, body: dict[str, Any]) -> dict[str, Any]:
    message_id = str(uuid.uuid4())
    await conn.send(json.dumps({"message_id": message_id, name: body}))
    while True:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(conn.recv(), 60))
        if frame.get("message_id") == message_id:
            if "error" in frame:
                raise RuntimeError(f"{name} refused: {frame['error']}")
            return frame


@dataclass
class Calls:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0

    def row(self, name: str) -> list[str]:
        cpu_ms = self.cpu_seconds * 1000 / len(self.seconds)
        return [name, _p(self.seconds), f"{cpu_ms:.2f} ms"]


async def _timed(
    pm: DoorServer, into: Calls, call: Callable[[int], Awaitable[None]], n: int
) -> None:
    cpu, started = pm.cpu_seconds(), time.perf_counter()
    await call(n)
    into.seconds.append(time.perf_counter() - started)
    into.cpu_seconds += pm.cpu_seconds() - cpu


async def _measure_round_trips(
    counts: Counts, pm: DoorServer, project: LargeProject
) -> dict[str, Calls]:
    """Each call in turn, ``round_trips`` times after a warm-up; the writes change an item's
    priority each time (each door its own item)."""
    results = {name: Calls() for name in ("mcp read", "ws read", "mcp write", "ws write")}
    conn = await _ws(pm)
    try:
        async with _agent(pm) as agent:
            calls = _door_calls(agent, conn, project)
            for n in range(counts.round_trips + 5):
                for name, call in calls.items():
                    if n < 5:
                        await call(n)
                    else:
                        await _timed(pm, results[name], call, n)
    finally:
        await conn.close()
    return results


def _door_calls(
    agent: Client, conn: ClientConnection, project: LargeProject
) -> dict[str, Callable[[int], Awaitable[None]]]:
    mcp_item, ws_item = project.item_ids[-1], project.item_ids[-2]
    versions = {"ws": 1}

    async def mcp_read(_n: int) -> None:
        found = await agent.call_tool(
            "search_work_items", {"query": "antenna", "project": project.project_id}
        )
        assert not found.is_error

    async def ws_read(_n: int) -> None:
        body = {"query": "antenna", "project_id": project.project_id, "limit": 20}
        await _ws_request(conn, "search_work_items", body)

    async def mcp_write(n: int) -> None:
        changed = await agent.call_tool(
            "update_work_item", {"item": mcp_item, "priority": PRIORITIES[n % 2]}
        )
        assert not changed.is_error, changed

    async def ws_write(n: int) -> None:
        body = {
            "work_item_id": ws_item,
            "expected_version": versions["ws"],
            "priority": PRIORITIES[n % 2],
        }
        frame = await _ws_request(conn, "update_work_item", body)
        versions["ws"] = int(frame["work_item_updated"]["work_item"]["version"])

    return {"mcp read": mcp_read, "ws read": ws_read, "mcp write": mcp_write, "ws write": ws_write}


def _round_trips(counts: Counts, pm: DoorServer, project: LargeProject) -> None:
    results = asyncio.run(_measure_round_trips(counts, pm, project))
    print(
        f"\n  Tool call round trip, one at a time, {counts.round_trips} of each, interleaved"
        "\n  (MCP: the SDK's client, stateless HTTP; WebSocket: the same service call, JSON)"
    )
    table(
        [calls.row(name) for name, calls in results.items()],
        ["call", "p50/p99 ms", "server CPU/call"],
    )
    for kind in ("read", "write"):
        mcp, ws = results[f"mcp {kind}"], results[f"ws {kind}"]
        ratio = percentile(mcp.seconds, 50) / percentile(ws.seconds, 50)
        cpu = mcp.cpu_seconds / ws.cpu_seconds
        verdict = _verdict(ratio)
        print(f"  {kind}: MCP/WebSocket p50 {ratio:.2f}x ({verdict} 2x); server CPU {cpu:.2f}x")


# -- webhook lag ----------------------------------------------------------------------------------


@dataclass
class Arrivals:
    lags: dict[str, float] = field(default_factory=dict)  # event id -> seconds after commit
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, envelope: dict[str, Any]) -> None:
        self.lags.setdefault(
            envelope["message_id"], time.time() - int(envelope["sent_at_ms"]) / 1000
        )
        self.arrived.set()

    async def wait_for(self, count: int) -> None:
        while len(self.lags) < count:
            self.arrived.clear()
            await self.arrived.wait()


async def _receiver(arrivals: Arrivals) -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
                length = int(head.split("content-length:")[1].split("\r\n")[0])
                arrivals.note(json.loads(await reader.readexactly(length)))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _measure_lag(
    counts: Counts, pm: DoorServer, project: LargeProject
) -> tuple[Arrivals, Arrivals, float, int]:
    hooked, watched = Arrivals(), Arrivals()
    server, port = await _receiver(hooked)
    admin = await _ws(pm)
    watcher = await _ws(pm, "bench-watcher")
    writers = [await _ws(pm, f"bench-writer-{n}") for n in range(2)]
    try:
        await _ws_request(
            admin,
            "create_webhook",
            {"url": f"http://127.0.0.1:{port}/hook", "project_ids": [project.project_id]},
        )
        for user in ("bench-watcher", "bench-writer-0", "bench-writer-1"):
            await _ws_request(
                admin,
                "add_member",
                {"project_id": project.project_id, "user_id": user, "role": "editor"},
            )
        await _ws_request(watcher, "subscribe", {"project_ids": [project.project_id]})
        listening = asyncio.create_task(_watch(watcher, watched))
        drains = [asyncio.create_task(_drain(conn)) for conn in writers]
        cpu = pm.cpu_seconds()
        sent = await _open_loop(writers, project, counts.webhook_seconds)
        async with asyncio.timeout(120):
            await hooked.wait_for(sent)
            await watched.wait_for(sent)
        cpu = pm.cpu_seconds() - cpu
        for task in (listening, *drains):
            task.cancel()
    finally:
        for conn in (admin, watcher, *writers):
            await conn.close()
        server.close()
    return hooked, watched, cpu, sent


async def _open_loop(writers: list[ClientConnection], project: LargeProject, seconds: float) -> int:
    """100 creates a second, taking turns between the writers, sent on schedule whatever the
    answers (the answers are read by ``_drain``)."""
    interval, started, sent = 0.01, time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        conn = writers[sent % len(writers)]
        body = {"item_type": "task", "parent_id": project.project_id, "title": f"Event {sent}"}
        frame = {"message_id": str(uuid.uuid4()), "create_work_item": body}
        await conn.send(json.dumps(frame))
        sent += 1
        await asyncio.sleep(max(0.0, started + sent * interval - time.perf_counter()))
    return sent


async def _drain(conn: ClientConnection) -> None:
    while True:
        await conn.recv()


async def _watch(conn: ClientConnection, arrivals: Arrivals) -> None:
    while True:
        frame = json.loads(await conn.recv())
        if "work_item_created" in frame:
            arrivals.note(frame)


def _webhook_lag(counts: Counts, pm: DoorServer, project: LargeProject) -> None:
    hooked, watched, cpu, sent = asyncio.run(_measure_lag(counts, pm, project))
    hook, live = list(hooked.lags.values()), list(watched.lags.values())
    print(
        f"\n  Webhook delivery, commit to the receiver's 200, {sent} creates at 100/s open loop"
        "\n  (two writers); baseline: the same events' arrival at a WebSocket subscriber"
    )
    table(
        [["webhook", _p(hook)], ["WebSocket event", _p(live)]],
        ["delivery", "lag p50/p99 ms"],
    )
    ratio = percentile(hook, 50) / max(percentile(live, 50), 1e-6)
    print(
        f"  webhook/WebSocket lag p50 {ratio:.2f}x; server CPU {cpu * 1000 / sent:.2f} ms per"
        " event (the write, its fan-out and its delivery)"
    )


def _p(samples: list[float]) -> str:
    return f"{percentile(samples, 50) * 1000:.2f} / {percentile(samples, 99) * 1000:.2f}"


def _verdict(ratio: float) -> str:
    return "meets" if ratio <= TARGET else "misses"
