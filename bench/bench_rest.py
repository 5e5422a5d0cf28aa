"""REST door: what an agent waits for, and what the door costs on top of its baselines.

- project context: latency p50/p99 of ``GET /api/v1/projects/{id}/context`` (JSON, and
  ``?format=markdown``) for projects of 1,000 and 10,000 items, and the size of each answer;
  baseline: the route's service query alone, called straight on the service layer in this
  process (so the ratio is what HTTP, the response model and JSON or Markdown encoding add),
  alternating with the HTTP requests one for one.
- one work item: requests per second of ``GET /api/v1/work-items/{id}`` (a story, with its
  children, comments, time, dependencies and activity) against a bare FastAPI route returning a
  constant dict on the same uvicorn options, with the same HTTP client at the same concurrency,
  in interleaved rounds. Target: >= 30% of the bare route.

Placement: pm and the bare app each run alone in a uvicorn subprocess
(``python -m bench.door_server``); the HTTP client (httpx) and the service-layer baseline run in
this process. The client's own CPU use is printed: near 100% means the client, not the server,
set the pace, and the bare route's figure is then a floor. The server's CPU per request is
printed too: on a busy machine it moves much less than the rates do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import BENCH_SECRET, median, percentile, table, temp_dir
from bench.door_server import DoorServer, door_server
from bench.large_project import LargeProject, seed_large_project
from pm.auth import issue_token
from pm.config import load_settings
from pm.services.kernel.caller import RequestContext
from pm.services.read_models.project_context import project_context
from pm.wiring import Components, build_components

TENANT = "bench"
USER = "bench-agent"
CONCURRENCY = 20
ROUNDS = 3
WORK_ITEM_TARGET = 0.30
PM_SETTINGS: dict[str, Any] = {"jwt_secret": BENCH_SECRET, "rest_rate_limit": "1000000/second"}


@dataclass(frozen=True)
class Counts:
    project_sizes: tuple[int, ...]
    context_samples: int
    requests: int  # per variant, over all rounds


QUICK = Counts((1000, 10_000), 5, 600)
FULL = Counts((1000, 10_000), 30, 4500)


def run(quick: bool) -> None:
    counts = QUICK if quick else FULL
    print(
        "  placement: pm and the bare app each in their own uvicorn subprocess; the httpx client\n"
        "  and the service-layer baseline in the bench process"
    )
    token = issue_token(BENCH_SECRET, tenant_id=TENANT, user_id=USER, ttl_seconds=3600)
    with temp_dir() as root:
        settings = load_settings(data_dir=root / "data", **PM_SETTINGS)
        components = build_components(settings)
        try:
            projects = asyncio.run(_seed(components, counts.project_sizes))
            with door_server("pm", data_dir=root / "data", **PM_SETTINGS) as pm:
                _context(counts, components, pm.http, token, projects)
                with door_server("bare") as bare:
                    _work_item(counts, pm, bare, token, _first_story(projects[0]))
        finally:
            components.tenants.close()


def _first_story(project: LargeProject) -> str:
    """The factory lists 1% epics, then 10% stories (each with tasks below), then the tasks."""
    return project.item_ids[len(project.item_ids) // 100]


def _caller() -> RequestContext:
    return RequestContext(tenant_id=TENANT, user_id=USER)


async def _seed(components: Components, sizes: tuple[int, ...]) -> list[LargeProject]:
    """Projects seeded through the test factory, in this process, before the server opens the
    tenant file (the factory writes through the service layer and one bulk insert)."""
    runner = components.services
    return [
        await seed_large_project(runner, _caller(), items=size, title=f"Project of {size:,}")
        for size in sizes
    ]


# -- project context ------------------------------------------------------------------------------


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    measure: int = 0  # the last answer's size in bytes, or the service's item count

    def cell(self) -> str:
        p50, p99 = percentile(self.seconds, 50), percentile(self.seconds, 99)
        return f"{p50 * 1000:.1f} / {p99 * 1000:.1f}"


Call = Callable[[], Awaitable[int]]


async def _sample(samples: Samples, call: Call) -> None:
    started = time.perf_counter()
    samples.measure = await call()
    samples.seconds.append(time.perf_counter() - started)


def _over_http(client: httpx.AsyncClient, path: str) -> Call:
    """One GET; the size of its body."""

    async def call() -> int:
        response = await client.get(path)
        response.raise_for_status()
        return len(response.content)

    return call


def _over_service(components: Components, project_id: str) -> Call:
    """The route's own query with the service's bounds, without HTTP, response validation or
    encoding; the number of items it kept."""

    async def call() -> int:
        report = await components.services.query(_caller(), project_context, project_id=project_id)
        return len(report["work_items"])

    return call


async def _measure_project(
    client: httpx.AsyncClient, components: Components, project_id: str, samples: int
) -> tuple[Samples, Samples, Samples]:
    """JSON, Markdown and the service baseline, one call of each in turn, after a warm-up."""
    path = f"/api/v1/projects/{project_id}/context"
    measured = (Samples(), Samples(), Samples())
    calls = (
        _over_http(client, path),
        _over_http(client, f"{path}?format=markdown"),
        _over_service(components, project_id),
    )
    for _ in range(2):
        for call in calls:
            await call()
    for _ in range(samples):
        for into, call in zip(measured, calls, strict=True):
            await _sample(into, call)
    return measured


async def _measure_context(
    counts: Counts, components: Components, base: str, token: str, projects: list[LargeProject]
) -> list[list[str]]:
    rows = []
    async with httpx.AsyncClient(base_url=base, headers=_auth(token), timeout=60) as client:
        for size, project in zip(counts.project_sizes, projects, strict=True):
            as_json, as_markdown, service = await _measure_project(
                client, components, project.project_id, counts.context_samples
            )
            rows.append(_context_row(size, "json", as_json, service))
            rows.append(_context_row(size, "markdown", as_markdown, service))
    return rows


def _context_row(size: int, form: str, http: Samples, service: Samples) -> list[str]:
    ratio = percentile(http.seconds, 50) / percentile(service.seconds, 50)
    return [
        f"{size:,}",
        f"{service.measure:,}",
        form,
        http.cell(),
        service.cell(),
        f"{ratio:.2f}x",
        f"{http.measure / 1024:,.1f} KiB",
    ]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _context(
    counts: Counts, components: Components, base: str, token: str, projects: list[LargeProject]
) -> None:
    print(
        f"\n  GET /api/v1/projects/{{id}}/context, one request at a time, {counts.context_samples}"
        " samples each (p99: the slowest);\n  baseline: the service query alone (no HTTP, no"
        " response model, no encoding),\n  alternating with the requests"
    )
    rows = asyncio.run(_measure_context(counts, components, base, token, projects))
    table(
        rows,
        [
            "items",
            "kept",
            "format",
            "REST p50/p99 ms",
            "service p50/p99 ms",
            "REST/service p50",
            "answer",
        ],
    )


# -- one work item --------------------------------------------------------------------------------


@dataclass
class Rate:
    """One server over the rounds: requests per second, the client's CPU share of the wall
    time, and the server's CPU per request."""

    rates: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)

    def row(self, name: str) -> list[str]:
        return [
            name,
            f"{median(self.rates):,.0f}/s",
            f"{median(self.server_cpu_ms):.2f} ms",
            f"{median(self.client_cpu):.0%}",
        ]


async def _hammer(server: DoorServer, client: httpx.AsyncClient, path: str, requests: int) -> Rate:
    """``requests`` GETs by ``CONCURRENCY`` workers."""
    left = iter(range(requests))

    async def worker() -> None:
        for _ in left:
            response = await client.get(path)
            response.raise_for_status()

    wall, cpu, served = time.perf_counter(), time.process_time(), server.cpu_seconds()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    served = server.cpu_seconds() - served
    return Rate([requests / wall], [cpu / wall], [served * 1000 / requests])


async def _measure_work_item(
    counts: Counts, pm: DoorServer, bare: DoorServer, token: str, story: str
) -> dict[str, Rate]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    targets = {"pm": (pm, f"/api/v1/work-items/{story}"), "bare": (bare, "/constant")}
    results = {name: Rate() for name in targets}
    clients = {
        name: httpx.AsyncClient(
            base_url=server.http, headers=_auth(token), limits=limits, timeout=60
        )
        for name, (server, _path) in targets.items()
    }
    try:
        for name, (server, path) in targets.items():
            await _hammer(server, clients[name], path, CONCURRENCY * 5)
        for _ in range(ROUNDS):
            for name, (server, path) in targets.items():
                measured = await _hammer(server, clients[name], path, counts.requests // ROUNDS)
                results[name].rates += measured.rates
                results[name].client_cpu += measured.client_cpu
                results[name].server_cpu_ms += measured.server_cpu_ms
        return results
    finally:
        for client in clients.values():
            await client.aclose()


def _work_item(counts: Counts, pm: DoorServer, bare: DoorServer, token: str, story: str) -> None:
    print(
        f"\n  GET /api/v1/work-items/{{id}} (a story) against a bare constant route: {CONCURRENCY}"
        f"\n  concurrent requests, keep-alive, median of {ROUNDS} interleaved rounds of"
        f" {counts.requests // ROUNDS:,}"
    )
    results = asyncio.run(_measure_work_item(counts, pm, bare, token, story))
    table(
        [rate.row(name) for name, rate in results.items()],
        ["server", "requests", "server CPU/request", "client CPU"],
    )
    pm_rate, bare_rate = results["pm"], results["bare"]
    share = median(pm_rate.rates) / median(bare_rate.rates)
    verdict = "meets" if share >= WORK_ITEM_TARGET else "misses"
    by_cpu = median(bare_rate.server_cpu_ms) / median(pm_rate.server_cpu_ms)
    print(
        f"  pm/bare requests per second: {share:.0%} ({verdict} >= {WORK_ITEM_TARGET:.0%});"
        f" by server CPU per request: {by_cpu:.0%}\n  (the rate a server could reach if its CPU"
        " were the only limit, not the shared client or the machine's load)"
    )
